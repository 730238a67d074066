// See blocking_call_pool.h.
#include "lib/rpc/blocking_call_pool.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "lib/util/mono_clock.h"

namespace kdi::rpc {

BlockingCallPool::BlockingCallPool(ChannelOptions opts)
    : opts_(std::move(opts)), backoff_ms_(opts_.reconnect_backoff_initial_ms) {}

BlockingCallPool::~BlockingCallPool() {
  // REQUIRES: no call in progress (the Channel shuts the pool down and its
  // callers hold no pointer to it once they return).
}

Status BlockingCallPool::Call(uint16_t type, std::string_view body, std::string* reply,
                              int64_t timeout_ms) {
  if (timeout_ms < 0) timeout_ms = opts_.default_timeout_ms;
  const int64_t deadline = MonoNowMs() + timeout_ms;
  const std::string what = "call of message type " + std::to_string(type);
  if (body.size() > opts_.max_body_bytes) {
    return Status::ResourceExhausted("request body of " + std::to_string(body.size()) +
                                     " bytes exceeds the limit of " +
                                     std::to_string(opts_.max_body_bytes));
  }
  uint32_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  if (id == 0) id = next_id_.fetch_add(1, std::memory_order_relaxed);  // 0 is for errors
  FrameHeader h;
  h.type = type;
  h.request_id = id;
  std::string frame;
  AppendFrame(h, body, &frame, opts_.compress_requests);

  std::unique_ptr<BlockingConnection> conn;
  uint64_t generation;
  {
    Status s = Checkout(deadline, what, timeout_ms, &conn);
    if (!s.ok()) return s;
    std::lock_guard<std::mutex> l(mu_);
    generation = generation_;
  }
  Status remote;
  std::string payload;
  Status s = conn->Call(id, frame, deadline, what, timeout_ms, &remote, &payload);
  Return(std::move(conn), generation);
  if (!s.ok()) return s;
  if (reply != nullptr) *reply = std::move(payload);
  return remote;
}

Status BlockingCallPool::Checkout(int64_t deadline_ms, const std::string& what,
                                  int64_t timeout_ms,
                                  std::unique_ptr<BlockingConnection>* out) {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    if (shut_down_) return Status::Aborted("channel to " + opts_.address + " was destroyed");
    if (idle_.empty()) break;
    std::unique_ptr<BlockingConnection> c = std::move(idle_.back());
    idle_.pop_back();
    busy_.insert(c.get());
    l.unlock();
    // Outside the lock: a read of what arrived while the connection was idle.
    bool ready = c->ReadyForReuse();
    l.lock();
    if (ready) {
      *out = std::move(c);
      return Status::OK();
    }
    busy_.erase(c.get());
    l.unlock();
    c.reset();  // closes the socket outside the lock
    l.lock();
  }
  // No idle connection: open one, after the backoff of a failed attempt.
  int64_t wait = next_attempt_ms_ - MonoNowMs();
  if (wait > 0) {
    std::string last = last_error_.ok() ? "" : last_error_.ToString();
    if (MonoNowMs() + wait > deadline_ms) {
      return Status::TimedOut(what + " to " + opts_.address + " timed out after " +
                              std::to_string(timeout_ms) + " ms waiting for a connection" +
                              (last.empty() ? "" : " (last error: " + last + ")"));
    }
    l.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    l.lock();
    if (shut_down_) return Status::Aborted("channel to " + opts_.address + " was destroyed");
  }
  l.unlock();
  std::unique_ptr<BlockingConnection> c;
  Status s = BlockingConnection::Connect(opts_, deadline_ms, &c);
  l.lock();
  if (s.IsTimedOut()) {
    // The call's deadline passed first: not the server's fault, no backoff.
    return Status::TimedOut(what + " to " + opts_.address + " timed out after " +
                            std::to_string(timeout_ms) + " ms waiting for a connection" +
                            (last_error_.ok() ? "" : " (last error: " + last_error_.ToString() + ")"));
  }
  if (!s.ok()) {
    next_attempt_ms_ = MonoNowMs() + backoff_ms_;
    backoff_ms_ = std::min(backoff_ms_ * 2, std::max(opts_.reconnect_backoff_max_ms, 1));
    last_error_ = s;
    return s;
  }
  if (shut_down_) return Status::Aborted("channel to " + opts_.address + " was destroyed");
  backoff_ms_ = opts_.reconnect_backoff_initial_ms;
  next_attempt_ms_ = 0;
  last_error_ = Status::OK();
  server_identity_ = c->server_identity();
  busy_.insert(c.get());
  *out = std::move(c);
  return Status::OK();
}

void BlockingCallPool::Return(std::unique_ptr<BlockingConnection> conn, uint64_t generation) {
  std::unique_lock<std::mutex> l(mu_);
  busy_.erase(conn.get());
  if (!conn->broken() && !shut_down_ && generation == generation_ && idle_.size() < kMaxIdle) {
    idle_.push_back(std::move(conn));
    return;
  }
  l.unlock();
  conn.reset();
}

void BlockingCallPool::AbortAll(const Status& why, bool shut_down) {
  std::vector<std::unique_ptr<BlockingConnection>> idle;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (shut_down) shut_down_ = true;
    generation_++;
    idle.swap(idle_);
    for (BlockingConnection* c : busy_) c->Abort(why);
  }
  idle.clear();  // closes them outside the lock
}

void BlockingCallPool::Close() {
  AbortAll(Status::Aborted("channel to " + opts_.address + " closed"), false);
}

void BlockingCallPool::Shutdown() {
  AbortAll(Status::Aborted("channel to " + opts_.address + " was destroyed"), true);
}

PeerIdentity BlockingCallPool::server_identity() const {
  std::lock_guard<std::mutex> l(mu_);
  return server_identity_;
}

size_t BlockingCallPool::open_connections() const {
  std::lock_guard<std::mutex> l(mu_);
  return idle_.size() + busy_.size();
}

}  // namespace kdi::rpc
