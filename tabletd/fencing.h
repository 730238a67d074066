// Fencing: the tabletd's licence to serve. Holds the lock-service session, the
// ephemeral exclusive lock on /kdi/servers/HOST:PORT, and the serving flag that
// every request checks.
//
// Rules (DESIGN §3, §9.2; doc/tabletd.md "Fencing"):
//   - Start() opens a session and takes /kdi/servers/ADDR, waiting up to
//     register_timeout_ms for a previous incarnation's session to expire; then
//     it fails with a clear error.
//   - kSessionJeopardy: serving() turns false at once, so every tablet answers
//     ServiceUnavailable before the lease can have run out at lockd (the lock
//     client reports jeopardy while the lease is still valid).
//   - kSessionSafe: serving() turns true again.
//   - kSessionExpired: serving() stays false; a recovery thread calls the
//     on_expired hook (the registry closes every tablet, without touching the
//     dead locks), then opens a new session, re-registers and serves again. The
//     generation() grows by one per session so that a tablet load that started
//     under the old session can tell it must not register its tablet.
//
// Threading: thread-safe. Event callbacks run on the lock client's event
// thread and never block; the recovery work runs on Fencing's own thread.
#ifndef KDI_TABLETD_FENCING_H_
#define KDI_TABLETD_FENCING_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "kdi/lock_client.h"
#include "kdi/status.h"
#include "tabletd/tabletd_config.h"

namespace kdi::tabletd {

class Fencing {
 public:
  // on_expired runs on the recovery thread after a session expiry, before
  // re-registration.
  Fencing(const TabletdConfig& config, int64_t start_time_us, std::function<void()> on_expired);
  ~Fencing();  // Stop()s

  // HOST:PORT this server registers as. REQUIRES: before Start().
  void SetAddress(std::string address) { address_ = std::move(address); }
  Status Start();
  // Closes the session cleanly (locks released without lock-delay, the
  // ephemeral server node deleted). Idempotent.
  void Stop();

  bool serving() const { return serving_.load(std::memory_order_acquire); }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // The current session (null while re-registering). Keep the shared_ptr only
  // for the duration of a call.
  std::shared_ptr<lock::LockSession> session() const;
  // "safe", "jeopardy", "expired", "none".
  std::string StateName() const;
  const std::string& address() const { return address_; }
  // This incarnation's start time (also in the /kdi/servers node).
  int64_t start_time_us() const { return start_time_us_; }

  Fencing(const Fencing&) = delete;
  Fencing& operator=(const Fencing&) = delete;

 private:
  void OnEvent(uint64_t generation, const lock::Event& event);
  // Opens a session and takes the server lock, retrying until deadline_ms
  // (steady clock) passes.
  Status Register(int64_t timeout_ms);
  void RecoveryLoop();

  const TabletdConfig config_;
  std::string address_;  // set before Start(), then read-only
  const int64_t start_time_us_;
  std::function<void()> on_expired_;

  std::atomic<bool> serving_{false};
  std::atomic<uint64_t> generation_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<lock::LockSession> session_;    // guarded by mu_
  std::unique_ptr<lock::LockHandle> server_lock_; // guarded by mu_
  std::string state_ = "none";                    // guarded by mu_
  bool expired_pending_ = false;                  // guarded by mu_
  bool stopping_ = false;                         // guarded by mu_
  std::thread recovery_thread_;
};

}  // namespace kdi::tabletd

#endif  // KDI_TABLETD_FENCING_H_
