// RPC server; see server.h for the contract and doc/rpc.md for the threading
// model, the connection state machine and the lock order.
//
// Everything named Conn, and the maps in Server::Impl marked "I/O thread", is
// touched only by the I/O thread. Workers and other threads reach the I/O
// thread only through ReplyQueue (replies) and WorkerPool (the other way).
#include "lib/rpc/server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "lib/rpc/event_util.h"
#include "lib/rpc/message_types.h"
#include "lib/rpc/tls_stream.h"
#include "lib/rpc/worker_pool.h"
#include "lib/util/log.h"

namespace kdi::rpc {

namespace {

// Stop reading a connection's requests while this many are being handled...
constexpr int kMaxInflightPerConnection = 4096;
// ...or while this many reply bytes wait to be written to it.
constexpr size_t kMaxOutputBacklog = 64u << 20;
// After a protocol error, how long the error frame may take to drain.
constexpr int kCloseGraceMs = 1000;

// A reply frame in two pieces: *head is the header and the status, and the
// payload follows as it is (moved, never copied into a frame string; a
// profile of full scans showed that copy at 15% of tabletd's CPU). A payload
// that is worth compressing is deflated into *head instead.
// `gate` (null: never compress) remembers whether this connection's large
// replies compress, so a stream of incompressible pages skips even the sample.
void BuildReplyFrame(uint16_t type, uint32_t request_id, const Status& status,
                     std::string* payload, CompressionGate* gate, std::string* head) {
  FrameHeader h;
  h.flags = kFlagReply;
  h.type = type;
  h.request_id = request_id;
  head->clear();
  if (gate != nullptr && payload->size() >= kMinCompressBytes && gate->ShouldTry()) {
    if (WorthCompressing(*payload)) {
      std::string body;
      EncodeReplyBody(status, *payload, &body);
      AppendFrame(h, body, head, true);
      payload->clear();
      gate->Record((static_cast<uint8_t>((*head)[3]) & kFlagCompressed) != 0);
      return;
    }
    gate->Record(false);
  }
  head->reserve(kFrameHeaderSize + 16 + status.message().size());
  head->resize(kFrameHeaderSize);
  EncodeReplyBody(status, std::string_view(), head);
  h.body_length = static_cast<uint32_t>(head->size() - kFrameHeaderSize + payload->size());
  EncodeFrameHeader(h, head->data());
}

std::string BuildReplyFrame(uint16_t type, uint32_t request_id, const Status& status) {
  std::string head, payload;
  BuildReplyFrame(type, request_id, status, &payload, nullptr, &head);
  return head;
}

// Replies on their way from any thread to the I/O thread. Shared with every
// Responder, so it outlives the Server when a handler keeps a Responder.
class ReplyQueue {
 public:
  struct Item {
    uint64_t conn_id;
    std::string head;     // frame header and status
    std::string payload;  // the rest of the body
  };

  // The I/O thread's wakeup; its eventfd lives as long as this queue.
  LoopWakeup* wakeup() { return &wakeup_; }

  // Any thread. Dropped after Close().
  void Push(uint64_t conn_id, std::string head, std::string payload) {
    std::unique_lock<std::mutex> l(mu_);
    if (closed_) {
      l.unlock();
      return;
    }
    bool wake = items_.empty();  // otherwise a wakeup is already pending
    items_.push_back(Item{conn_id, std::move(head), std::move(payload)});
    l.unlock();
    if (!wake) return;
    if (t_io_queue == this) {
      // The I/O thread itself (a kLoop handler): activating an event of its
      // own base costs no system call, unlike the eventfd.
      event_active(local_wakeup_, EV_READ, 0);
      return;
    }
    // Outside mu_, or the woken I/O thread would block on it at once.
    wakeup_.Notify();
  }

  // On the I/O thread, before the loop runs: marks the thread as this queue's
  // and names the event it activates for its own pushes (valid while the loop
  // runs; only the I/O thread uses it).
  void BindIoThread(event* local_wakeup) {
    t_io_queue = this;
    local_wakeup_ = local_wakeup;
  }

  // I/O thread.
  void Take(std::vector<Item>* out) {
    std::lock_guard<std::mutex> l(mu_);
    out->swap(items_);
  }

  // Later pushes are dropped.
  void Close() {
    std::vector<Item> dropped;
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    dropped.swap(items_);
  }

 private:
  std::mutex mu_;
  std::vector<Item> items_;  // guarded by mu_
  bool closed_ = false;      // guarded by mu_
  LoopWakeup wakeup_;
  event* local_wakeup_ = nullptr;  // I/O thread only
  static thread_local ReplyQueue* t_io_queue;
};

thread_local ReplyQueue* ReplyQueue::t_io_queue = nullptr;

// What a Responder needs of its connection; lives as long as the longest of
// the connection and its responders.
struct ConnShared {
  uint64_t id = 0;
  PeerIdentity peer;
  std::atomic<bool> closed{false};
  // Bytes of replies pushed to the ReplyQueue and not yet handed to the
  // stream: counted in the backlog, so a burst of requests read at once
  // whose handlers answer at once cannot queue unbounded reply memory.
  std::atomic<size_t> queued_reply_bytes{0};
  std::shared_ptr<ReplyQueue> replies;
  bool compress = false;
  CompressionGate compression;  // used from any thread that replies
  uint32_t max_body = kDefaultMaxBodyBytes;
};

class ServerResponder final : public Responder {
 public:
  ServerResponder(std::shared_ptr<ConnShared> conn, uint16_t type, uint32_t request_id)
      : conn_(std::move(conn)), type_(type), request_id_(request_id) {}

  ~ServerResponder() override {
    if (!replied_.load(std::memory_order_relaxed)) {
      Reply(Status::Internal("the handler dropped the request without replying"), std::string());
    }
  }

  void Reply(const Status& status, std::string payload) override {
    if (replied_.exchange(true)) return;
    if (conn_->closed.load(std::memory_order_relaxed)) return;
    std::string head;
    if (payload.size() + 64 + status.message().size() > conn_->max_body) {
      head = BuildReplyFrame(type_, request_id_,
                             Status::ResourceExhausted("reply of " +
                                                       std::to_string(payload.size()) +
                                                       " bytes exceeds the frame limit"));
      payload.clear();
    } else {
      BuildReplyFrame(type_, request_id_, status, &payload,
                      conn_->compress ? &conn_->compression : nullptr, &head);
    }
    conn_->queued_reply_bytes.fetch_add(head.size() + payload.size(), std::memory_order_relaxed);
    conn_->replies->Push(conn_->id, std::move(head), std::move(payload));
  }

  const PeerIdentity& peer() const override { return conn_->peer; }
  uint32_t request_id() const override { return request_id_; }
  bool cancelled() const override { return conn_->closed.load(std::memory_order_relaxed); }

 private:
  std::shared_ptr<ConnShared> conn_;
  uint16_t type_;
  uint32_t request_id_;
  std::atomic<bool> replied_{false};
};

enum class ConnState {
  kHandshaking,    // TLS handshake in progress; handshake timer armed
  kReadingHeader,  // waiting for the 16 header bytes of the next frame
  kReadingBody,    // header decoded and checked; waiting for body_length bytes
  kClosing,        // error frame queued, reading stopped; closed once written
};

}  // namespace

class Server::Impl {
 public:
  struct Entry {
    Handler handler;
    Dispatch dispatch;
    RoleSet roles;
    InlineHandler try_inline;  // kWorker only; may be empty
  };

  // One connection; owned by conns_, I/O thread only. Its stream reports to
  // it (the callbacks forward to the server).
  struct Conn final : TlsStream::Callbacks {
    void OnTlsConnected() override { server->OnHandshakeDone(this); }
    void OnTlsInput() override { server->OnInput(this); }
    void OnTlsDrained() override { server->OnDrained(this); }
    void OnTlsError(const TlsStreamError& e) override { server->OnStreamError(this, e); }

    Impl* server = nullptr;
    std::unique_ptr<TlsStream> stream;
    event* timer = nullptr;  // handshake timeout, then the closing grace
    ConnState state = ConnState::kHandshaking;
    FrameHeader header;  // valid in kReadingBody
    int inflight = 0;    // requests handed to handlers, not yet replied
    bool read_paused = false;
    bool flush_listed = false;  // in DeliverReplies' list of streams to flush
    std::shared_ptr<ConnShared> shared;
  };

  explicit Impl(ServerOptions opts) : opts_(std::move(opts)) {}
  ~Impl() { Stop(); }

  void Register(uint16_t type, Handler handler, Dispatch dispatch, RoleSet roles,
                InlineHandler try_inline) {
    handlers_.insert_or_assign(
        type, Entry{std::move(handler), dispatch, roles, std::move(try_inline)});
  }

  Status Start();
  void Stop();

  std::string address() const { return address_; }
  int port() const { return port_; }
  void RunInWorker(std::function<void()> fn) { workers_.Submit(std::move(fn)); }

 private:
  static void AcceptCb(evconnlistener* l, evutil_socket_t fd, sockaddr* sa, int len, void* arg);
  static void AcceptErrorCb(evconnlistener* l, void* arg);
  static void TimerCb(evutil_socket_t, short, void* arg);
  static void WakeupCb(void* arg);
  static void LocalWakeupCb(evutil_socket_t, short, void* arg);
  static void StopCb(evutil_socket_t, short, void* arg);

  void RunLoop();
  void Accept(evutil_socket_t fd, sockaddr* sa);
  void OnHandshakeDone(Conn* c);
  void OnInput(Conn* c);
  void OnDrained(Conn* c);
  void OnStreamError(Conn* c, const TlsStreamError& e);
  // Parses and dispatches the complete frames of c's input.
  void OnRead(Conn* c);
  // Writes c's output; returns false if c was closed (write error, or a
  // closing connection whose error frame is out).
  bool FlushConn(Conn* c);
  // Returns false if c was closed.
  bool ReadBody(Conn* c);
  void Dispatch(Conn* c, const FrameHeader& h, std::string body);
  void SendReply(Conn* c, const FrameHeader& h, const Status& status);
  void FailConnection(Conn* c, const Status& status);
  void Close(Conn* c);
  // Closes c without a TCP reset: the socket is kept (dup) with its sending
  // side shut, and what the peer still sends is read and discarded until it
  // closes or kLingerMs pass. Otherwise unread request bytes make the kernel
  // answer with RST, which can destroy the TLS alert or error frame we sent
  // just before, and the peer would never learn why it was refused.
  void LingerClose(Conn* c);
  static void LingerCb(evutil_socket_t fd, short what, void* arg);
  void MaybeResume(Conn* c);
  // Reply bytes of c not yet written: queued for the I/O thread or in its output.
  static size_t OutputBacklog(const Conn* c) {
    return c->stream->output_size() +
           c->shared->queued_reply_bytes.load(std::memory_order_relaxed);
  }
  void DeliverReplies();
  std::string Describe(const Conn* c) const;

  const ServerOptions opts_;
  std::unordered_map<uint16_t, Entry> handlers_;  // immutable after Start()

  event_base* base_ = nullptr;
  evconnlistener* listener_ = nullptr;
  event* stop_ = nullptr;  // activated by Stop(): breaks the loop from inside
  event* local_wakeup_ = nullptr;  // replies pushed by the I/O thread itself
  std::shared_ptr<ReplyQueue> replies_;
  WorkerPool workers_;
  std::thread io_thread_;
  std::string address_;
  int port_ = 0;

  std::unordered_map<uint64_t, Conn*> conns_;  // I/O thread
  struct Linger {
    Impl* server;
    int fd;
    event* ev;
    std::chrono::steady_clock::time_point deadline;  // a trickling peer loses too
  };
  std::unordered_map<int, Linger*> lingering_;  // I/O thread, by fd
  uint64_t next_conn_id_ = 1;                  // I/O thread

  std::mutex state_mu_;  // serializes Start/Stop
  bool started_ = false;
  bool stopped_ = false;
};

Status Server::Impl::Start() {
  std::lock_guard<std::mutex> l(state_mu_);
  if (started_) return Status::InvalidArgument("server already started");
  if (!opts_.tls || !opts_.tls->is_server()) {
    return Status::InvalidArgument(opts_.name + ": a server TLS context is required");
  }
  InitRpcProcess();
  sockaddr_storage ss;
  socklen_t sslen;
  RETURN_NOT_OK_PREPEND(ParseHostPort(opts_.listen_address, &ss, &sslen),
                        opts_.name + ": listen address");
  base_ = event_base_new();
  if (base_ == nullptr) return Status::Internal("event_base_new failed");
  listener_ = evconnlistener_new_bind(
      base_, &Impl::AcceptCb, this,
      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 1024,
      reinterpret_cast<sockaddr*>(&ss), static_cast<int>(sslen));
  if (listener_ == nullptr) {
    int e = errno;
    event_base_free(base_);
    base_ = nullptr;
    return ErrnoToStatus(opts_.name + ": listening on " + opts_.listen_address, e);
  }
  evconnlistener_set_error_cb(listener_, &Impl::AcceptErrorCb);
  sockaddr_storage bound;
  socklen_t blen = sizeof(bound);
  getsockname(evconnlistener_get_fd(listener_), reinterpret_cast<sockaddr*>(&bound), &blen);
  address_ = SockaddrToString(reinterpret_cast<sockaddr*>(&bound));
  port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

  replies_ = std::make_shared<ReplyQueue>();
  Status ws = replies_->wakeup()->Init(base_, &Impl::WakeupCb, this);
  if (!ws.ok()) {
    replies_->wakeup()->DetachEvent();
    replies_.reset();
    evconnlistener_free(listener_);
    listener_ = nullptr;
    event_base_free(base_);
    base_ = nullptr;
    return ws;
  }
  stop_ = event_new(base_, -1, 0, &Impl::StopCb, this);
  local_wakeup_ = event_new(base_, -1, 0, &Impl::LocalWakeupCb, this);
  workers_.Start(opts_.worker_threads);
  started_ = true;
  io_thread_ = std::thread([this] { RunLoop(); });
  KDI_LOG(INFO, opts_.name.c_str()) << "listening on " << address_ << " as '"
                                    << opts_.tls->self().principal << "'";
  return Status::OK();
}

void Server::Impl::Stop() {
  std::lock_guard<std::mutex> l(state_mu_);
  if (!started_ || stopped_) return;
  stopped_ = true;
  // From here on replies are dropped.
  replies_->Close();
  // StopCb closes everything on the I/O thread and breaks the loop. (Not
  // event_base_loopbreak() from here: a break that comes before the loop starts
  // is forgotten; an active event is not.)
  event_active(stop_, EV_READ, 0);
  io_thread_.join();
  // Handlers still running finish (they see cancelled()); queued ones are dropped.
  workers_.Stop();
  replies_->wakeup()->DetachEvent();
  event_free(stop_);
  stop_ = nullptr;
  event_free(local_wakeup_);
  local_wakeup_ = nullptr;
  event_base_free(base_);
  base_ = nullptr;
  KDI_LOG(INFO, opts_.name.c_str()) << "stopped listening on " << address_;
}

void Server::Impl::RunLoop() {
  replies_->BindIoThread(local_wakeup_);
  event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY);
}

void Server::Impl::StopCb(evutil_socket_t, short, void* arg) {
  Impl* self = static_cast<Impl*>(arg);
  evconnlistener_free(self->listener_);
  self->listener_ = nullptr;
  while (!self->conns_.empty()) self->Close(self->conns_.begin()->second);
  for (auto& [fd, lg] : self->lingering_) {
    event_free(lg->ev);
    close(fd);
    delete lg;
  }
  self->lingering_.clear();
  event_base_loopbreak(self->base_);
}

std::string Server::Impl::Describe(const Conn* c) const {
  const PeerIdentity& p = c->shared->peer;
  if (p.principal.empty()) return p.address;
  return p.address + " ('" + p.principal + "', " + RoleName(p.role) + ")";
}

void Server::Impl::AcceptCb(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int, void* arg) {
  static_cast<Impl*>(arg)->Accept(fd, sa);
}

void Server::Impl::AcceptErrorCb(evconnlistener*, void* arg) {
  Impl* self = static_cast<Impl*>(arg);
  int e = EVUTIL_SOCKET_ERROR();
  KDI_LOG(WARN, self->opts_.name.c_str())
      << "accept failed: " << evutil_socket_error_to_string(e);
}

void Server::Impl::Accept(evutil_socket_t fd, sockaddr* sa) {
  std::string peer_addr = SockaddrToString(sa);
  if (static_cast<int>(conns_.size()) >= opts_.max_connections) {
    KDI_LOG(WARN, opts_.name.c_str()) << "refusing connection from " << peer_addr << ": "
                                      << conns_.size() << " connections open (the maximum)";
    evutil_closesocket(fd);
    return;
  }
  SetNoDelay(fd);
  SSL* ssl = SSL_new(opts_.tls->ctx());
  if (ssl == nullptr) {
    KDI_LOG(ERROR, opts_.name.c_str()) << "SSL_new failed: " << OpenSslErrorString();
    evutil_closesocket(fd);
    return;
  }
  auto* c = new Conn;
  c->server = this;
  c->stream.reset(new TlsStream(base_, fd, ssl, c));
  c->shared = std::make_shared<ConnShared>();
  c->shared->id = next_conn_id_++;
  c->shared->peer.address = peer_addr;
  c->shared->replies = replies_;
  c->shared->compress = opts_.compress_replies;
  c->shared->max_body = opts_.max_body_bytes;
  conns_[c->shared->id] = c;
  c->timer = evtimer_new(base_, &Impl::TimerCb, c);
  timeval tv{opts_.handshake_timeout_ms / 1000, (opts_.handshake_timeout_ms % 1000) * 1000};
  evtimer_add(c->timer, &tv);
  c->stream->StartAccept();
}

void Server::Impl::TimerCb(evutil_socket_t, short, void* arg) {
  Conn* c = static_cast<Conn*>(arg);
  Impl* self = c->server;
  if (c->state == ConnState::kHandshaking) {
    KDI_LOG(WARN, self->opts_.name.c_str())
        << "TLS handshake from " << c->shared->peer.address << " refused: no handshake within "
        << self->opts_.handshake_timeout_ms << " ms";
  }
  self->Close(c);
}

void Server::Impl::OnStreamError(Conn* c, const TlsStreamError& e) {
  if (c->state == ConnState::kHandshaking) {
    PeerIdentity claimed;  // what the refused certificate says, if any
    if (X509* cert = SSL_get0_peer_certificate(c->stream->ssl())) {
      X509_NAME* n = X509_get_subject_name(cert);
      char cn[256];
      if (X509_NAME_get_text_by_NID(n, NID_commonName, cn, sizeof(cn)) > 0) {
        claimed.principal = cn;
      }
    }
    KDI_LOG(WARN, opts_.name.c_str())
        << "TLS handshake from " << c->shared->peer.address << " refused: " << e.text
        << (claimed.principal.empty() ? "" : " (certificate of '" + claimed.principal + "')");
    LingerClose(c);
    return;
  }
  if (!e.eof) {
    KDI_LOG(INFO, opts_.name.c_str())
        << "connection from " << Describe(c) << " failed: " << e.text;
  } else {
    KDI_LOG(DEBUG, opts_.name.c_str()) << "connection from " << Describe(c) << " closed";
  }
  Close(c);
}

void Server::Impl::OnHandshakeDone(Conn* c) {
  if (c->state != ConnState::kHandshaking) return;
  event_del(c->timer);
  PeerIdentity id;
  Status s = TlsContext::PeerFromSsl(c->stream->ssl(), &id);
  if (!s.ok()) {
    KDI_LOG(WARN, opts_.name.c_str())
        << "TLS handshake from " << c->shared->peer.address << " refused: " << s.message();
    Close(c);
    return;
  }
  c->shared->peer.principal = id.principal;
  c->shared->peer.role = id.role;
  c->state = ConnState::kReadingHeader;
  KDI_LOG(DEBUG, opts_.name.c_str()) << "connection from " << Describe(c);
  // The stream reads what came with the handshake's last flight next.
}

void Server::Impl::OnInput(Conn* c) {
  OnRead(c);
  // Replies made at once (ping, refusals, an error frame) leave together.
  FlushConn(c);
}

void Server::Impl::OnRead(Conn* c) {
  for (;;) {
    if (c->read_paused) return;
    std::string_view in = c->stream->input();
    if (c->state == ConnState::kReadingHeader) {
      if (in.size() < kFrameHeaderSize) return;
      // Every limit is checked here, before the body is allocated.
      Status s = DecodeFrameHeader(in.data(), opts_.max_body_bytes, &c->header);
      c->stream->Consume(kFrameHeaderSize);
      if (s.ok() && c->header.is_reply()) {
        s = Status::ProtocolError("a client sent a reply frame");
      }
      if (!s.ok()) {
        FailConnection(c, s);
        return;
      }
      c->state = ConnState::kReadingBody;
      in = c->stream->input();
    }
    if (c->state != ConnState::kReadingBody) return;
    if (in.size() < c->header.body_length) return;
    if (!ReadBody(c)) return;
  }
}

bool Server::Impl::ReadBody(Conn* c) {
  const FrameHeader h = c->header;
  std::string body;
  if (h.flags & kFlagCompressed) {
    std::string_view raw = c->stream->input().substr(0, h.body_length);
    Status s = DecodeFrameBody(h, raw, opts_.max_body_bytes, &body);
    c->stream->Consume(h.body_length);
    if (!s.ok()) {
      FailConnection(c, s);
      return false;
    }
  } else {
    c->stream->TakeInput(h.body_length, &body);
  }
  c->state = ConnState::kReadingHeader;
  Dispatch(c, h, std::move(body));
  if (c->inflight >= kMaxInflightPerConnection || OutputBacklog(c) > kMaxOutputBacklog) {
    // Backpressure: TCP flow control slows the client until replies drain.
    c->read_paused = true;
    c->stream->SetReading(false);
  }
  return true;
}

void Server::Impl::Dispatch(Conn* c, const FrameHeader& h, std::string body) {
  if (h.type == kMsgPing) {
    SendReply(c, h, Status::OK());
    return;
  }
  auto it = handlers_.find(h.type);
  if (it == handlers_.end()) {
    SendReply(c, h,
              Status::NotSupported("message type " + std::to_string(h.type) +
                                   " is not served by " + opts_.name));
    return;
  }
  const Entry& e = it->second;
  const PeerIdentity& peer = c->shared->peer;
  if (!e.roles.contains(peer.role)) {
    SendReply(c, h,
              Status::PermissionDenied("'" + peer.principal + "' (role " + RoleName(peer.role) +
                                       ") may not call message type " + std::to_string(h.type) +
                                       " on " + opts_.name));
    return;
  }
  c->inflight++;
  auto responder = std::make_shared<ServerResponder>(c->shared, h.type, h.request_id);
  if (e.dispatch == Dispatch::kLoop) {
    e.handler(std::move(body), std::move(responder));
    return;
  }
  if (e.try_inline && e.try_inline(body, responder)) return;
  // handlers_ is immutable after Start() and workers are joined before it dies.
  const Handler* handler = &e.handler;
  workers_.Submit([handler, body = std::move(body), responder = std::move(responder)]() mutable {
    (*handler)(std::move(body), std::move(responder));
  });
}

void Server::Impl::SendReply(Conn* c, const FrameHeader& h, const Status& status) {
  c->stream->Write(BuildReplyFrame(h.type, h.request_id, status));
}

void Server::Impl::FailConnection(Conn* c, const Status& status) {
  KDI_LOG(WARN, opts_.name.c_str())
      << "closing connection from " << Describe(c) << ": " << status.ToString();
  FrameHeader h;
  h.type = kMsgServerError;
  h.request_id = 0;
  SendReply(c, h, status);
  c->state = ConnState::kClosing;
  c->shared->closed = true;
  c->stream->SetReading(false);
  // Closed by FlushConn once the error frame is out, or by the timer.
  timeval tv{kCloseGraceMs / 1000, (kCloseGraceMs % 1000) * 1000};
  evtimer_add(c->timer, &tv);
}

bool Server::Impl::FlushConn(Conn* c) {
  if (!c->stream->Flush()) {
    const TlsStreamError& e = c->stream->error();
    if (e.eof) {
      KDI_LOG(DEBUG, opts_.name.c_str()) << "connection from " << Describe(c) << " closed";
    } else {
      KDI_LOG(INFO, opts_.name.c_str())
          << "connection from " << Describe(c) << " failed: " << e.text;
    }
    Close(c);
    return false;
  }
  if (c->state == ConnState::kClosing && c->stream->output_size() == 0) {
    LingerClose(c);
    return false;
  }
  return true;
}

void Server::Impl::OnDrained(Conn* c) {
  if (c->state == ConnState::kClosing) {
    LingerClose(c);
    return;
  }
  MaybeResume(c);
}

void Server::Impl::MaybeResume(Conn* c) {
  if (!c->read_paused || c->state == ConnState::kClosing) return;
  if (c->inflight >= kMaxInflightPerConnection / 2) return;
  if (OutputBacklog(c) > kMaxOutputBacklog / 2) return;
  c->read_paused = false;
  c->stream->SetReading(true);
  OnRead(c);  // frames may already be buffered; no new data will call us
  FlushConn(c);
}

void Server::Impl::WakeupCb(void* arg) {
  static_cast<Impl*>(arg)->DeliverReplies();
}

void Server::Impl::LocalWakeupCb(evutil_socket_t, short, void* arg) {
  static_cast<Impl*>(arg)->DeliverReplies();
}

void Server::Impl::DeliverReplies() {
  // A local batch: a kLoop handler run by a resumed connection replies into
  // the queue and activates the local wakeup, which delivers again later in
  // this loop pass.
  std::vector<ReplyQueue::Item> batch;
  replies_->Take(&batch);
  std::vector<Conn*> touched;
  for (auto& item : batch) {
    auto it = conns_.find(item.conn_id);
    if (it == conns_.end()) continue;  // connection gone: drop the reply
    Conn* c = it->second;
    c->inflight--;
    c->shared->queued_reply_bytes.fetch_sub(item.head.size() + item.payload.size(),
                                            std::memory_order_relaxed);
    if (c->state == ConnState::kClosing) continue;
    c->stream->Write(std::move(item.head));
    if (!item.payload.empty()) c->stream->Write(std::move(item.payload));
    if (!c->flush_listed) {
      c->flush_listed = true;
      touched.push_back(c);
    }
  }
  // One flush per connection for the whole batch: its replies share TLS
  // records and write(2) calls. Only FlushConn/MaybeResume close connections,
  // and each runs for its own connection after every pointer was collected.
  for (Conn* c : touched) {
    c->flush_listed = false;
    if (!FlushConn(c)) continue;
    if (c->read_paused) MaybeResume(c);
  }
}

void Server::Impl::Close(Conn* c) {
  c->shared->closed = true;
  conns_.erase(c->shared->id);
  if (c->timer) event_free(c->timer);
  c->stream.reset();  // closes the socket, frees the SSL
  delete c;
}

void Server::Impl::LingerClose(Conn* c) {
  constexpr int kLingerMs = 2000;
  int fd = c->stream->DupFd();
  Close(c);
  if (fd < 0) return;
  shutdown(fd, SHUT_WR);  // FIN after whatever is already queued
  auto* lg = new Linger{this, fd, nullptr,
                        std::chrono::steady_clock::now() + std::chrono::milliseconds(kLingerMs)};
  lg->ev = event_new(base_, fd, EV_READ | EV_PERSIST, &Impl::LingerCb, lg);
  timeval tv{kLingerMs / 1000, (kLingerMs % 1000) * 1000};
  event_add(lg->ev, &tv);
  lingering_[fd] = lg;
}

void Server::Impl::LingerCb(evutil_socket_t fd, short what, void* arg) {
  Linger* lg = static_cast<Linger*>(arg);
  if (what & EV_READ) {
    char buf[16384];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR) &&
        std::chrono::steady_clock::now() < lg->deadline) {
      return;  // keep draining
    }
  }
  // The peer closed (or failed, or took too long): now close without a reset.
  lg->server->lingering_.erase(fd);
  event_free(lg->ev);
  close(fd);
  delete lg;
}

Server::Server(ServerOptions opts) : impl_(new Impl(std::move(opts))) {}
Server::~Server() { impl_->Stop(); }

void Server::Register(uint16_t type, Handler handler, Dispatch dispatch, RoleSet roles) {
  impl_->Register(type, std::move(handler), dispatch, roles, InlineHandler());
}
void Server::Register(uint16_t type, Handler handler, RoleSet roles, InlineHandler try_inline) {
  impl_->Register(type, std::move(handler), Dispatch::kWorker, roles, std::move(try_inline));
}
Status Server::Start() { return impl_->Start(); }
void Server::Stop() { impl_->Stop(); }
std::string Server::address() const { return impl_->address(); }
int Server::port() const { return impl_->port(); }
void Server::RunInWorker(std::function<void()> fn) { impl_->RunInWorker(std::move(fn)); }

}  // namespace kdi::rpc
