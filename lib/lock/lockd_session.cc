// The lockd lock-client backend (see lockd_session.h).
#include "lib/lock/lockd_session.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "lib/lock/lock_path.h"
#include "lib/lock/lock_protocol.h"
#include "lib/rpc/channel.h"
#include "lib/rpc/tls.h"
#include "lib/util/log.h"

namespace kdi::lock {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void SleepMs(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Everything the keepalive thread and RPC callbacks share. Callbacks hold it
// by shared_ptr because they may run after the session is gone.
struct Core {
  std::mutex mu;
  std::condition_variable cv;
  SessionState state = SessionState::kSafe;  // guarded by mu
  bool stop = false;                         // guarded by mu
  int64_t local_expiry = 0;                  // guarded by mu; steady ms
  std::deque<Event> events;                  // guarded by mu; to deliver
};

struct Pending {
  bool done = false;  // guarded by Core::mu
  Status status;
  std::string reply;
};

class LockdSessionImpl;

class LockdHandle : public LockHandle {
 public:
  LockdHandle(LockdSessionImpl* s, uint64_t id, std::string path)
      : session_(s), id_(id), path_(std::move(path)) {}
  ~LockdHandle() override;

  const std::string& path() const override { return path_; }
  uint64_t id() const override { return id_; }
  Status GetContents(std::string* contents, NodeStat* stat) override;
  Status SetContents(std::string_view contents, int64_t cas_generation, NodeStat* stat) override;
  Status ReadDirectory(std::vector<std::string>* names) override;
  Status Stat(NodeStat* stat) override;
  Status Delete() override;
  Status Lock(LockMode mode, int64_t timeout_ms) override;
  Status TryLock(LockMode mode, bool* acquired) override;
  Status Unlock() override;
  Status GetSequencer(std::string* sequencer) override;
  Status Close() override;

 private:
  LockRequest Req() const;

  LockdSessionImpl* const session_;
  const uint64_t id_;
  const std::string path_;
  std::mutex mu_;
  bool closed_ = false;  // guarded by mu_
};

class LockdSessionImpl : public LockSession {
 public:
  explicit LockdSessionImpl(const LockSessionOptions& opts)
      : opts_(opts), core_(std::make_shared<Core>()) {}
  ~LockdSessionImpl() override;

  Status Connect(const std::string& address);

  Status Open(const std::string& path, uint32_t mode, uint32_t event_mask,
              std::unique_ptr<LockHandle>* handle, NodeStat* stat,
              std::string_view initial_contents) override;
  Status CheckSequencer(const std::string& sequencer) override;
  Status ListSessions(std::vector<SessionInfo>* sessions) override;
  SessionState state() const override;
  uint64_t session_id() const override { return id_; }
  int64_t lease_ms() const override { return lease_ms_; }
  Status Close() override;

  // One call with the session id filled in. retry: resend after NetworkError
  // until the deadline (idempotent calls only).
  Status Call(uint16_t type, LockRequest req, LockReply* rep, bool retry,
              int64_t timeout_ms = -1);

 private:
  Status Usable() const;
  void SetStateLocked(SessionState s);
  void KeepAliveLoop();
  void EventLoop();
  void Shutdown();

  const LockSessionOptions opts_;
  std::unique_ptr<rpc::Channel> channel_;
  uint64_t id_ = 0;
  int64_t lease_ms_ = 0;
  int64_t grace_ms_ = 0;
  std::shared_ptr<Core> core_;
  std::thread keepalive_;
  std::thread event_thread_;
};

// ---- session -------------------------------------------------------------------

Status LockdSessionImpl::Connect(const std::string& address) {
  rpc::TlsOptions tls_opts;
  tls_opts.ca_file = opts_.tls_ca_file;
  tls_opts.cert_file = opts_.tls_cert_file;
  tls_opts.key_file = opts_.tls_key_file;
  std::shared_ptr<rpc::TlsContext> tls;
  RETURN_NOT_OK_PREPEND(rpc::TlsContext::CreateClient(tls_opts, &tls), "lock client TLS");
  rpc::ChannelOptions co;
  co.address = address;
  co.tls = tls;
  co.default_timeout_ms = opts_.op_timeout_ms;
  co.reconnect_backoff_max_ms = 200;
  channel_ = std::make_unique<rpc::Channel>(co);

  LockRequest req;
  req.contents = tls->self().principal;
  LockReply rep;
  std::string body, reply;
  EncodeRequest(kMsgCreateSession, req, &body);
  const int64_t sent = NowMs();
  RETURN_NOT_OK_PREPEND(channel_->Call(kMsgCreateSession, body, &reply, opts_.op_timeout_ms),
                        "creating a lockd session at " + address);
  RETURN_NOT_OK(DecodeReply(kMsgCreateSession, reply, &rep));
  if (rep.lease_ms <= 0) return Status::ProtocolError("lockd granted no lease");
  id_ = rep.session_id;
  lease_ms_ = rep.lease_ms;
  grace_ms_ = opts_.grace_ms >= 0 ? opts_.grace_ms : lease_ms_;
  {
    std::lock_guard<std::mutex> l(core_->mu);
    core_->local_expiry = sent + lease_ms_;
  }
  keepalive_ = std::thread([this] { KeepAliveLoop(); });
  event_thread_ = std::thread([this] { EventLoop(); });
  return Status::OK();
}

LockdSessionImpl::~LockdSessionImpl() { Shutdown(); }

void LockdSessionImpl::Shutdown() {
  {
    std::lock_guard<std::mutex> l(core_->mu);
    core_->stop = true;
  }
  core_->cv.notify_all();
  if (keepalive_.joinable()) keepalive_.join();
  if (event_thread_.joinable()) event_thread_.join();
  channel_.reset();  // fails outstanding calls; their callbacks only touch Core
}

SessionState LockdSessionImpl::state() const {
  std::lock_guard<std::mutex> l(core_->mu);
  return core_->state;
}

Status LockdSessionImpl::Usable() const {
  std::lock_guard<std::mutex> l(core_->mu);
  if (core_->state == SessionState::kExpired) {
    return Status::SessionExpired("lock session " + std::to_string(id_) + " has expired");
  }
  if (core_->state == SessionState::kClosed) {
    return Status::Aborted("lock session " + std::to_string(id_) + " is closed");
  }
  return Status::OK();
}

void LockdSessionImpl::SetStateLocked(SessionState s) {
  if (core_->state == s || core_->state == SessionState::kExpired ||
      core_->state == SessionState::kClosed) {
    return;
  }
  core_->state = s;
  Event ev;
  switch (s) {
    case SessionState::kJeopardy: ev.type = kSessionJeopardy; break;
    case SessionState::kSafe: ev.type = kSessionSafe; break;
    case SessionState::kExpired: ev.type = kSessionExpired; break;
    case SessionState::kClosed: return;
  }
  KDI_LOG(INFO, "lock-client") << "session " << id_ << ": " << EventTypeName(ev.type);
  core_->events.push_back(ev);
  core_->cv.notify_all();
}

Status LockdSessionImpl::Call(uint16_t type, LockRequest req, LockReply* rep, bool retry,
                              int64_t timeout_ms) {
  if (timeout_ms < 0) timeout_ms = opts_.op_timeout_ms;
  const int64_t deadline = NowMs() + timeout_ms;
  req.session_id = id_;
  std::string body;
  EncodeRequest(type, req, &body);
  for (;;) {
    RETURN_NOT_OK(Usable());
    int64_t left = deadline - NowMs();
    if (left <= 0) {
      return Status::TimedOut(std::string("lockd ") + LockMessageName(type) + " timed out");
    }
    std::string reply;
    Status s = channel_->Call(type, body, &reply, left);
    if (s.ok()) return DecodeReply(type, reply, rep);
    if (s.IsSessionExpired()) {
      std::lock_guard<std::mutex> l(core_->mu);
      SetStateLocked(SessionState::kExpired);
    }
    if (!retry || !s.IsNetworkError()) return s;
    SleepMs(std::min<int64_t>(50, std::max<int64_t>(1, deadline - NowMs())));
  }
}

void LockdSessionImpl::KeepAliveLoop() {
  uint64_t acked = 0;
  // Long-poll for at most lease/6: the reply must land before jeopardy at
  // 3/4 of the previous keepalive's lease, so lease/3 left only lease/12 of slack.
  const int64_t wait_ms = lease_ms_ / 6;
  std::unique_lock<std::mutex> l(core_->mu);
  while (!core_->stop && core_->state != SessionState::kExpired &&
         core_->state != SessionState::kClosed) {
    auto pending = std::make_shared<Pending>();
    LockRequest req;
    req.session_id = id_;
    req.acked_event_seq = acked;
    req.wait_ms = wait_ms;
    std::string body;
    EncodeRequest(kMsgKeepAlive, req, &body);
    const int64_t sent = NowMs();
    l.unlock();
    std::shared_ptr<Core> core = core_;
    channel_->CallAsync(kMsgKeepAlive, std::move(body), wait_ms + lease_ms_ / 2,
                        [core, pending](Status s, std::string reply) {
                          std::lock_guard<std::mutex> g(core->mu);
                          pending->done = true;
                          pending->status = std::move(s);
                          pending->reply = std::move(reply);
                          core->cv.notify_all();
                        });
    l.lock();
    // Wait for the answer while watching the lease.
    while (!pending->done && !core_->stop) {
      const int64_t now = NowMs();
      const int64_t jeopardy_at = core_->local_expiry - lease_ms_ / 4;
      const int64_t expire_at = core_->local_expiry + grace_ms_;
      if (now >= expire_at) {
        SetStateLocked(SessionState::kExpired);
        break;
      }
      if (now >= jeopardy_at) SetStateLocked(SessionState::kJeopardy);
      int64_t next = now >= jeopardy_at ? expire_at : jeopardy_at;
      next = std::min(next, now + 100);
      core_->cv.wait_for(l, std::chrono::milliseconds(std::max<int64_t>(1, next - now)));
    }
    if (core_->stop || core_->state == SessionState::kExpired) break;
    Status s = pending->status;
    if (s.ok()) {
      LockReply rep;
      s = DecodeReply(kMsgKeepAlive, pending->reply, &rep);
      if (s.ok()) {
        core_->local_expiry = std::max(core_->local_expiry, sent + rep.lease_ms);
        if (core_->state == SessionState::kJeopardy) SetStateLocked(SessionState::kSafe);
        for (const SessionEvent& e : rep.events) {
          if (e.seq <= acked) continue;
          acked = e.seq;
          core_->events.push_back(e.event);
        }
        if (!rep.events.empty()) core_->cv.notify_all();
        continue;
      }
    }
    if (s.IsSessionExpired()) {
      SetStateLocked(SessionState::kExpired);
      break;
    }
    // lockd unreachable or restarting: try again shortly, still watching the lease.
    core_->cv.wait_for(l, std::chrono::milliseconds(50));
    const int64_t now = NowMs();
    if (now >= core_->local_expiry + grace_ms_) {
      SetStateLocked(SessionState::kExpired);
    } else if (now >= core_->local_expiry - lease_ms_ / 4) {
      SetStateLocked(SessionState::kJeopardy);
    }
  }
}

void LockdSessionImpl::EventLoop() {
  std::unique_lock<std::mutex> l(core_->mu);
  for (;;) {
    core_->cv.wait(l, [&] { return core_->stop || !core_->events.empty(); });
    if (core_->events.empty()) return;  // stopping with nothing left
    Event ev = std::move(core_->events.front());
    core_->events.pop_front();
    if (core_->stop) continue;  // drain without delivering
    l.unlock();
    if (opts_.on_event) opts_.on_event(ev);
    l.lock();
  }
}

Status LockdSessionImpl::Open(const std::string& path, uint32_t mode, uint32_t event_mask,
                              std::unique_ptr<LockHandle>* handle, NodeStat* stat,
                              std::string_view initial_contents) {
  RETURN_NOT_OK(ValidatePath(path));
  LockRequest req;
  req.path = path;
  req.mode = mode;
  req.event_mask = event_mask;
  req.contents = std::string(initial_contents);
  LockReply rep;
  RETURN_NOT_OK_PREPEND(Call(kMsgOpen, std::move(req), &rep, false), "opening " + path);
  if (stat != nullptr) *stat = rep.stat;
  *handle = std::make_unique<LockdHandle>(this, rep.handle, path);
  return Status::OK();
}

Status LockdSessionImpl::CheckSequencer(const std::string& sequencer) {
  LockRequest req;
  req.contents = sequencer;
  LockReply rep;
  return Call(kMsgCheckSequencer, std::move(req), &rep, true);
}

Status LockdSessionImpl::ListSessions(std::vector<SessionInfo>* sessions) {
  LockReply rep;
  RETURN_NOT_OK(Call(kMsgListSessions, LockRequest(), &rep, true));
  *sessions = std::move(rep.sessions);
  return Status::OK();
}

Status LockdSessionImpl::Close() {
  {
    std::lock_guard<std::mutex> l(core_->mu);
    if (core_->state == SessionState::kClosed) return Status::OK();
  }
  LockReply rep;
  Status s = Usable();
  if (s.ok()) s = Call(kMsgCloseSession, LockRequest(), &rep, false);
  {
    std::lock_guard<std::mutex> l(core_->mu);
    core_->state = SessionState::kClosed;
  }
  Shutdown();
  return s;
}

// ---- handles -------------------------------------------------------------------

LockdHandle::~LockdHandle() {
  bool closed;
  {
    std::lock_guard<std::mutex> l(mu_);
    closed = closed_;
  }
  if (!closed && session_->state() != SessionState::kExpired &&
      session_->state() != SessionState::kClosed) {
    (void)Close();
  }
}

LockRequest LockdHandle::Req() const {
  LockRequest r;
  r.handle = id_;
  return r;
}

Status LockdHandle::GetContents(std::string* contents, NodeStat* stat) {
  LockReply rep;
  RETURN_NOT_OK(session_->Call(kMsgGetContents, Req(), &rep, true));
  *contents = std::move(rep.contents);
  if (stat != nullptr) *stat = rep.stat;
  return Status::OK();
}

Status LockdHandle::SetContents(std::string_view contents, int64_t cas_generation,
                                NodeStat* stat) {
  if (contents.size() > kMaxContentsBytes) {
    return Status::InvalidArgument("contents of " + std::to_string(contents.size()) +
                                   " bytes exceed the " + std::to_string(kMaxContentsBytes) +
                                   "-byte limit");
  }
  LockRequest req = Req();
  req.contents = std::string(contents);
  req.has_cas = cas_generation >= 0;
  req.cas_generation = req.has_cas ? static_cast<uint64_t>(cas_generation) : 0;
  LockReply rep;
  RETURN_NOT_OK(session_->Call(kMsgSetContents, std::move(req), &rep, false));
  if (stat != nullptr) *stat = rep.stat;
  return Status::OK();
}

Status LockdHandle::ReadDirectory(std::vector<std::string>* names) {
  LockReply rep;
  RETURN_NOT_OK(session_->Call(kMsgReadDirectory, Req(), &rep, true));
  *names = std::move(rep.names);
  return Status::OK();
}

Status LockdHandle::Stat(NodeStat* stat) {
  LockReply rep;
  RETURN_NOT_OK(session_->Call(kMsgStat, Req(), &rep, true));
  *stat = rep.stat;
  return Status::OK();
}

Status LockdHandle::Delete() {
  LockReply rep;
  return session_->Call(kMsgDelete, Req(), &rep, false);
}

Status LockdHandle::Lock(LockMode mode, int64_t timeout_ms) {
  const int64_t kChunkMs = 30000;
  const int64_t deadline = timeout_ms < 0 ? INT64_MAX : NowMs() + timeout_ms;
  for (;;) {
    const int64_t left = deadline == INT64_MAX ? kChunkMs : deadline - NowMs();
    if (left <= 0) return Status::TimedOut("waiting for the lock on " + path_);
    LockRequest req = Req();
    req.mode = static_cast<uint32_t>(mode);
    req.wait_ms = std::min(left, kChunkMs);
    LockReply rep;
    Status s = session_->Call(kMsgAcquire, req, &rep, false, req.wait_ms + 5000);
    if (s.ok() && rep.acquired) return Status::OK();
    if (s.ok() || s.IsTimedOut() || s.code() == Status::Code::kAborted) continue;  // loop re-checks the deadline
    if (s.IsNetworkError()) {
      SleepMs(50);
      continue;
    }
    return s;
  }
}

Status LockdHandle::TryLock(LockMode mode, bool* acquired) {
  LockRequest req = Req();
  req.mode = static_cast<uint32_t>(mode);
  req.wait_ms = 0;
  LockReply rep;
  RETURN_NOT_OK(session_->Call(kMsgAcquire, req, &rep, true));
  *acquired = rep.acquired;
  return Status::OK();
}

Status LockdHandle::Unlock() {
  LockReply rep;
  return session_->Call(kMsgRelease, Req(), &rep, false);
}

Status LockdHandle::GetSequencer(std::string* sequencer) {
  LockReply rep;
  RETURN_NOT_OK(session_->Call(kMsgGetSequencer, Req(), &rep, true));
  *sequencer = std::move(rep.contents);
  return Status::OK();
}

Status LockdHandle::Close() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return Status::InvalidArgument("handle on " + path_ + " is already closed");
    closed_ = true;
  }
  LockReply rep;
  return session_->Call(kMsgClose, Req(), &rep, false);
}

}  // namespace

Status OpenLockdSession(const LockSessionOptions& opts, std::unique_ptr<LockSession>* out) {
  std::string address = opts.service;
  if (address.rfind("lockd://", 0) == 0) address = address.substr(8);
  while (!address.empty() && address.back() == '/') address.pop_back();
  if (address.empty() || address.find(':') == std::string::npos) {
    return Status::InvalidArgument("lock service address must be HOST:PORT, got '" +
                                   opts.service + "'");
  }
  auto s = std::make_unique<LockdSessionImpl>(opts);
  RETURN_NOT_OK(s->Connect(address));
  *out = std::move(s);
  return Status::OK();
}

}  // namespace kdi::lock
