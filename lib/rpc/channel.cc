// RPC client channel; see channel.h for the contract and doc/rpc.md for the
// connection states.
//
// Callers build the request frame on their own thread (so compression never
// runs on the loop) and post it to the loop; everything else in Channel::Impl
// happens on the loop thread, except the fields said to be thread-safe.
#include "lib/rpc/channel.h"

#include <event2/event.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "lib/rpc/blocking_call_pool.h"
#include "lib/rpc/blocking_connection.h"
#include "lib/rpc/client_loop.h"
#include "lib/rpc/event_util.h"
#include "lib/rpc/message_types.h"
#include "lib/rpc/tls_stream.h"
#include "lib/util/coding.h"
#include "lib/util/log.h"
#include "lib/util/one_shot_event.h"

namespace kdi::rpc {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

timeval MsToTimeval(int64_t ms) {
  if (ms < 0) ms = 0;
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

}  // namespace

class Channel::Impl : public std::enable_shared_from_this<Impl>, private TlsStream::Callbacks {
 public:
  explicit Impl(ChannelOptions opts);
  ~Impl();

  // Any thread.
  void Submit(uint16_t type, std::string_view body, int64_t timeout_ms, CallCallback done);
  void Close();
  // Fails everything with Aborted and frees every libevent object; later calls
  // fail with Aborted. Runs on the loop thread; ~Channel waits for it.
  void Shutdown();
  ClientLoop::Impl* loop() const { return loop_->impl(); }
  const std::string& address() const { return opts_.address; }
  PeerIdentity server_identity() const {
    if (blocking_ != nullptr) {
      PeerIdentity id = blocking_->server_identity();
      if (!id.principal.empty()) return id;
    }
    std::lock_guard<std::mutex> l(identity_mu_);
    return server_identity_;
  }
  // The pool of blocking calls' connections (null when they use the loop).
  BlockingCallPool* blocking() const { return blocking_.get(); }
  // Blocking calls of this channel in progress (either path).
  std::atomic<int> blocking_calls{0};

 private:
  struct Call {
    Impl* channel = nullptr;
    uint32_t id = 0;
    uint16_t type = 0;
    int64_t timeout_ms = 0;
    bool written = false;
    std::string frame;  // until written
    CallCallback done;
    event* timer = nullptr;
  };
  using CallPtr = std::shared_ptr<Call>;

  enum class State {
    kIdle,        // no connection
    kBackoff,     // waiting for timer_ before the next attempt
    kConnecting,  // TCP connect and TLS handshake; timer_ is the connect timeout
    kReady,       // handshake done, server identity checked
  };

  // TlsStream::Callbacks (loop thread).
  void OnTlsConnected() override;
  void OnTlsInput() override;
  void OnTlsDrained() override {}
  void OnTlsError(const TlsStreamError& e) override;
  static void TimerCb(evutil_socket_t, short, void* arg);
  static void CallTimeoutCb(evutil_socket_t, short, void* arg);

  void Start(CallPtr call);
  void MaybeConnect();
  void Connect();
  void OnRead();
  // Reads the body of header_ (complete in the input) as a reply.
  Status ReadReply(Status* remote, std::string* payload);
  // Asks the loop to flush the output once the posted closures have run (so
  // the requests of one pass share TLS records and write(2) calls).
  void ScheduleFlush();
  void FlushOutput();
  void Complete(uint32_t id, Status status, std::string reply);
  void TimeOut(Call* call);
  // Closes the connection and fails every call with status. A failed
  // connection attempt (attempt_failed) pushes the next attempt back.
  void Disconnect(const Status& status, bool attempt_failed);

  const ChannelOptions opts_;
  const std::shared_ptr<ClientLoop> loop_;
  const std::unique_ptr<BlockingCallPool> blocking_;  // thread-safe
  std::atomic<uint32_t> next_id_{1};

  mutable std::mutex identity_mu_;
  PeerIdentity server_identity_;  // guarded by identity_mu_

  // Loop thread only:
  State state_ = State::kIdle;
  std::unique_ptr<TlsStream> stream_;
  bool flush_scheduled_ = false;
  event* timer_ = nullptr;  // connect timeout or backoff
  std::unordered_map<uint32_t, CallPtr> calls_;
  std::deque<uint32_t> waiting_;  // ids to write once connected, in order
  bool reading_body_ = false;
  FrameHeader header_;
  bool got_frame_on_conn_ = false;
  int backoff_ms_;
  int64_t next_attempt_ms_ = 0;
  Status last_error_;
  bool shut_down_ = false;
  const timeval* common_timeout_ = nullptr;  // for default_timeout_ms
};

Channel::Impl::Impl(ChannelOptions opts)
    : opts_(std::move(opts)),
      loop_(opts_.loop ? opts_.loop : ClientLoop::Shared()),
      blocking_(opts_.blocking_calls_on_caller ? std::make_unique<BlockingCallPool>(opts_)
                                               : nullptr),
      backoff_ms_(opts_.reconnect_backoff_initial_ms) {}

Channel::Impl::~Impl() {
  // Shutdown() freed every event on the loop thread.
}

void Channel::Impl::Submit(uint16_t type, std::string_view body, int64_t timeout_ms,
                           CallCallback done) {
  auto call = std::make_shared<Call>();
  call->channel = this;
  call->type = type;
  call->timeout_ms = timeout_ms < 0 ? opts_.default_timeout_ms : timeout_ms;
  call->done = std::move(done);
  uint32_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  if (id == 0) id = next_id_.fetch_add(1, std::memory_order_relaxed);  // 0 is for errors
  call->id = id;
  if (body.size() > opts_.max_body_bytes) {
    call->frame.clear();
    Status s = Status::ResourceExhausted("request body of " + std::to_string(body.size()) +
                                         " bytes exceeds the limit of " +
                                         std::to_string(opts_.max_body_bytes));
    loop()->Post([call, s] { call->done(s, std::string()); });
    return;
  }
  FrameHeader h;
  h.type = type;
  h.request_id = id;
  AppendFrame(h, body, &call->frame, opts_.compress_requests);
  loop()->Post([self = shared_from_this(), call] { self->Start(call); });
}

void Channel::Impl::Start(CallPtr call) {
  if (shut_down_) {
    call->done(Status::Aborted("channel to " + opts_.address + " was destroyed"), std::string());
    return;
  }
  event_base* base = loop()->base();
  call->timer = evtimer_new(base, &Impl::CallTimeoutCb, call.get());
  if (call->timeout_ms == opts_.default_timeout_ms) {
    // libevent keeps events with one common timeout in a list, not the heap.
    if (common_timeout_ == nullptr) {
      timeval tv = MsToTimeval(opts_.default_timeout_ms);
      common_timeout_ = event_base_init_common_timeout(base, &tv);
    }
    evtimer_add(call->timer, common_timeout_);
  } else {
    timeval tv = MsToTimeval(call->timeout_ms);
    evtimer_add(call->timer, &tv);
  }
  calls_[call->id] = call;
  if (state_ == State::kReady) {
    call->written = true;
    stream_->Write(std::move(call->frame));
    ScheduleFlush();
    return;
  }
  waiting_.push_back(call->id);
  MaybeConnect();
}

void Channel::Impl::MaybeConnect() {
  if (state_ != State::kIdle) return;
  if (timer_ == nullptr) timer_ = evtimer_new(loop()->base(), &Impl::TimerCb, this);
  int64_t wait = next_attempt_ms_ - NowMs();
  if (wait > 0) {
    state_ = State::kBackoff;
    timeval tv = MsToTimeval(wait);
    evtimer_add(timer_, &tv);
    return;
  }
  Connect();
}

void Channel::Impl::TimerCb(evutil_socket_t, short, void* arg) {
  Impl* self = static_cast<Impl*>(arg);
  auto keep = self->shared_from_this();
  if (self->state_ == State::kBackoff) {
    self->state_ = State::kIdle;
    if (!self->calls_.empty()) self->Connect();
  } else if (self->state_ == State::kConnecting) {
    self->Disconnect(Status::NetworkError("connecting to " + self->opts_.address +
                                          " timed out after " +
                                          std::to_string(self->opts_.connect_timeout_ms) + " ms"),
                     true);
  }
}

void Channel::Impl::Connect() {
  if (!opts_.tls || opts_.tls->is_server()) {
    Disconnect(Status::InvalidArgument("channel to " + opts_.address +
                                       ": a client TLS context is required"),
               true);
    return;
  }
  sockaddr_storage ss;
  socklen_t len;
  Status s = ParseHostPort(opts_.address, &ss, &len);
  if (!s.ok()) {
    Disconnect(s, true);
    return;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    Disconnect(ErrnoToStatus("socket for " + opts_.address, errno), true);
    return;
  }
  SetNoDelay(fd);
  SSL* ssl = SSL_new(opts_.tls->ctx());
  if (ssl == nullptr) {
    close(fd);
    Disconnect(Status::Internal("SSL_new: " + OpenSslErrorString()), true);
    return;
  }
  stream_.reset(new TlsStream(loop()->base(), fd, ssl, this));
  KDI_LOG(DEBUG, "rpc") << "channel to " << opts_.address << ": connecting";
  state_ = State::kConnecting;
  reading_body_ = false;
  got_frame_on_conn_ = false;
  timeval tv = MsToTimeval(opts_.connect_timeout_ms);
  evtimer_add(timer_, &tv);
  if (!stream_->StartConnect(reinterpret_cast<sockaddr*>(&ss), len)) {
    Disconnect(Status::NetworkError("connecting to " + opts_.address + ": " +
                                    stream_->error().text),
               true);
  }
}

void Channel::Impl::OnTlsError(const TlsStreamError& e) {
  auto keep = shared_from_this();  // a callback may drop the last Channel
  const std::string& why = e.text;
  const std::string& addr = opts_.address;
  if (state_ == State::kConnecting) {
    if (IsCertificateRefusal(why)) {
      Disconnect(Status::PermissionDenied("TLS handshake with " + addr + " failed: " + why), true);
    } else if (e.tls) {
      Disconnect(Status::NetworkError("TLS handshake with " + addr + " failed: " + why), true);
    } else {
      Disconnect(Status::NetworkError("connecting to " + addr + ": " + why), true);
    }
    return;
  }
  // With TLS 1.3 the server checks our certificate after our side of the
  // handshake is done: its refusal arrives as an alert on the first read.
  if (!got_frame_on_conn_ && IsCertificateRefusal(why)) {
    Disconnect(Status::PermissionDenied("TLS handshake with " + addr +
                                        " failed: the server refused our certificate: " + why),
               true);
    return;
  }
  Disconnect(Status::NetworkError("connection to " + addr + " lost: " + why), false);
}

void Channel::Impl::OnTlsConnected() {
  if (state_ != State::kConnecting) return;
  auto keep = shared_from_this();
  event_del(timer_);
  PeerIdentity id;
  Status s = VerifyServerIdentity(stream_->ssl(), opts_, &id);
  if (!s.ok()) {
    Disconnect(s, true);
    return;
  }
  {
    std::lock_guard<std::mutex> l(identity_mu_);
    server_identity_ = id;
  }
  KDI_LOG(DEBUG, "rpc") << "channel to " << opts_.address << ": connected to '" << id.principal
                        << "'";
  state_ = State::kReady;
  backoff_ms_ = opts_.reconnect_backoff_initial_ms;
  next_attempt_ms_ = 0;
  last_error_ = Status::OK();
  for (uint32_t call_id : waiting_) {
    auto it = calls_.find(call_id);
    if (it == calls_.end() || it->second->written) continue;  // timed out meanwhile
    it->second->written = true;
    stream_->Write(std::move(it->second->frame));
  }
  waiting_.clear();
  FlushOutput();
}

void Channel::Impl::ScheduleFlush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  loop()->RunAfterTasks([self = shared_from_this()] { self->FlushOutput(); });
}

void Channel::Impl::FlushOutput() {
  flush_scheduled_ = false;
  if (state_ != State::kReady || stream_ == nullptr) return;
  if (!stream_->Flush()) {
    Disconnect(Status::NetworkError("connection to " + opts_.address +
                                    " lost: " + stream_->error().text),
               false);
  }
}

void Channel::Impl::OnTlsInput() {
  auto keep = shared_from_this();
  // The callers woken by these replies post their next calls at once: they
  // need no eventfd write, the loop runs them after this iteration.
  loop()->NoteAwake();
  OnRead();
}

void Channel::Impl::OnRead() {
  // A completion may destroy the channel's last handle (and so the stream);
  // compare, never dereference, the stream it had.
  TlsStream* const stream = stream_.get();
  while (stream != nullptr && stream_.get() == stream) {
    std::string_view in = stream->input();
    if (!reading_body_) {
      if (in.size() < kFrameHeaderSize) return;
      Status s = DecodeFrameHeader(in.data(), opts_.max_body_bytes, &header_);
      stream->Consume(kFrameHeaderSize);
      if (s.ok() && !header_.is_reply() && header_.type != kMsgServerError) {
        s = Status::ProtocolError("the server sent a request frame");
      }
      if (!s.ok()) {
        Disconnect(s.CloneAndPrepend("bad frame from " + opts_.address), false);
        return;
      }
      reading_body_ = true;
      in = stream->input();
    }
    if (in.size() < header_.body_length) return;
    reading_body_ = false;
    got_frame_on_conn_ = true;
    if (header_.type == kMsgServerError && header_.request_id == 0) {
      Status remote;
      std::string ignored;
      Status s = ReadReply(&remote, &ignored);
      if (!s.ok()) remote = s;
      Disconnect(remote.CloneAndPrepend("server " + opts_.address + " closed the connection"),
                 false);
      return;
    }
    if (calls_.find(header_.request_id) == calls_.end()) {
      // A late reply to a call that timed out: dropped.
      stream->Consume(header_.body_length);
      continue;
    }
    Status remote;
    std::string payload;
    Status s = ReadReply(&remote, &payload);
    if (!s.ok()) {
      Disconnect(s.CloneAndPrepend("bad reply from " + opts_.address), false);
      return;
    }
    Complete(header_.request_id, std::move(remote), std::move(payload));
  }
}

Status Channel::Impl::ReadReply(Status* remote, std::string* payload) {
  const uint32_t len = header_.body_length;
  std::string_view raw = stream_->input().substr(0, len);
  if (!(header_.flags & kFlagCompressed)) {
    // Decode the status in place, then copy the payload once, straight into
    // the caller's string.
    Status s = DecodeReplyBody(raw, remote, &raw);
    if (s.ok()) {
      payload->assign(raw.data(), raw.size());
      stream_->Consume(len);
    }
    return s;
  }
  std::string body;
  Status s = DecodeFrameBody(header_, raw, opts_.max_body_bytes, &body);
  stream_->Consume(len);
  RETURN_NOT_OK(s);
  std::string_view rest;
  RETURN_NOT_OK(DecodeReplyBody(body, remote, &rest));
  payload->assign(rest.data(), rest.size());
  return Status::OK();
}

void Channel::Impl::Complete(uint32_t id, Status status, std::string reply) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  CallPtr call = std::move(it->second);
  calls_.erase(it);
  event_free(call->timer);
  call->timer = nullptr;
  call->done(std::move(status), std::move(reply));
}

void Channel::Impl::CallTimeoutCb(evutil_socket_t, short, void* arg) {
  Call* call = static_cast<Call*>(arg);
  Impl* self = call->channel;
  auto keep = self->shared_from_this();
  self->TimeOut(call);
}

void Channel::Impl::TimeOut(Call* call) {
  std::string msg = "call of message type " + std::to_string(call->type) + " to " +
                    opts_.address + " timed out after " + std::to_string(call->timeout_ms) +
                    " ms";
  if (!call->written) {
    msg += " waiting for a connection";
    if (!last_error_.ok()) msg += " (last error: " + last_error_.ToString() + ")";
  }
  Complete(call->id, Status::TimedOut(msg), std::string());
}

void Channel::Impl::Disconnect(const Status& status, bool attempt_failed) {
  KDI_LOG(DEBUG, "rpc") << "channel to " << opts_.address << ": disconnect ("
                        << (attempt_failed ? "attempt failed" : "connection ended")
                        << "): " << status.ToString() << "; " << calls_.size() << " calls failed";
  stream_.reset();  // closes the socket (inside a stream callback too)
  if (timer_ != nullptr) event_del(timer_);
  state_ = State::kIdle;
  reading_body_ = false;
  if (attempt_failed) {
    next_attempt_ms_ = NowMs() + backoff_ms_;
    backoff_ms_ = std::min(backoff_ms_ * 2, std::max(opts_.reconnect_backoff_max_ms, 1));
  }
  last_error_ = status;
  auto calls = std::move(calls_);
  calls_.clear();
  waiting_.clear();
  // Callbacks may start new calls (posted, so they run after this).
  for (auto& [id, call] : calls) {
    event_free(call->timer);
    call->timer = nullptr;
    call->done(status, std::string());
  }
}

void Channel::Impl::Close() {
  if (blocking_ != nullptr) blocking_->Close();
  loop()->Post([self = shared_from_this()] {
    self->Disconnect(Status::Aborted("channel to " + self->opts_.address + " closed"), false);
  });
}

void Channel::Impl::Shutdown() {
  shut_down_ = true;
  Disconnect(Status::Aborted("channel to " + opts_.address + " was destroyed"), false);
  if (timer_ != nullptr) {
    event_free(timer_);
    timer_ = nullptr;
  }
}

Channel::Channel(ChannelOptions opts) : impl_(std::make_shared<Impl>(std::move(opts))) {}

Channel::~Channel() {
  if (impl_->blocking() != nullptr) impl_->blocking()->Shutdown();
  ClientLoop::Impl* loop = impl_->loop();
  if (loop->InLoopThread()) {
    impl_->Shutdown();
    return;
  }
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  loop->Post([impl = impl_, &mu, &cv, &done] {
    impl->Shutdown();
    std::lock_guard<std::mutex> l(mu);
    done = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> l(mu);
  cv.wait(l, [&] { return done; });
}

Status Channel::Call(uint16_t type, std::string_view body, std::string* reply,
                     int64_t timeout_ms) {
  if (impl_->loop()->InLoopThread()) {
    return Status::InvalidArgument("blocking Channel::Call on the client loop thread");
  }
  std::shared_ptr<Impl> impl = impl_;  // outlives the call
  struct Counted {
    explicit Counted(std::atomic<int>* n) : n(n), alone(n->fetch_add(1) == 0) {}
    ~Counted() { n->fetch_sub(1); }
    std::atomic<int>* n;
    const bool alone;
  } counted(&impl->blocking_calls);
  if (BlockingCallPool* pool = impl->blocking(); pool != nullptr && counted.alone) {
    return pool->Call(type, body, reply, timeout_ms);
  }
  struct Sync {
    OneShotEvent done;  // the loop thread Set()s, the caller Wait()s
    Status status;
    std::string reply;
  };
  // Shared: Set() touches the futex word after the caller may have returned.
  auto sync = std::make_shared<Sync>();
  impl->Submit(type, body, timeout_ms, [sync](Status s, std::string r) {
    sync->status = std::move(s);
    sync->reply = std::move(r);
    sync->done.Set();
  });
  sync->done.Wait();
  if (reply != nullptr) *reply = std::move(sync->reply);
  return std::move(sync->status);
}

void Channel::CallAsync(uint16_t type, std::string body, int64_t timeout_ms, CallCallback done) {
  impl_->Submit(type, body, timeout_ms, std::move(done));
}

void Channel::Close() { impl_->Close(); }
const std::string& Channel::address() const { return impl_->address(); }
PeerIdentity Channel::server_identity() const { return impl_->server_identity(); }

}  // namespace kdi::rpc
