// LockState: lockd's lock-service state machine — the namespace of nodes,
// sessions with leases, handles, locks with lock-delay and FIFO waiters,
// sequencers and per-session event queues — independent of the network.
//
// Every change is written to the LockStore (one transaction per operation)
// before the operation returns; the caller then calls Flush(), which makes the
// changes durable (group commit, see lock_store.h) and only then runs the
// completions the operation produced (granted lock waiters, answered keepalive
// polls). So nothing is ever acknowledged before it is on disk. The caller
// answers its own request after Flush() too.
//
// Blocking operations (Acquire with a wait, KeepAlive long polls) never block
// the calling thread: they park a completion that a later operation or Tick()
// runs. Tick() must be called periodically (lockd: every 20 ms): it expires
// sessions whose lease ran out, ends long polls, times out waiters and grants
// locks whose lock-delay passed.
//
// Time comes from a Clock so that tests can drive it.
//
// If the store fails, the state machine stops (every later call returns the
// store's error) because its memory may be ahead of its disk; lockd then exits
// and recovers from the store on restart.
//
// Threading: all methods are thread-safe; one mutex (mu_) guards everything
// below it. Completions run without mu_ held, on the thread that called
// Flush(), and may call back into LockState.
#ifndef KDI_LOCKD_LOCK_STATE_H_
#define KDI_LOCKD_LOCK_STATE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "kdi/lock_client.h"
#include "kdi/status.h"
#include "lib/lock/lock_protocol.h"
#include "lib/rpc/tls.h"
#include "lockd/lock_store.h"

namespace kdi::lockd {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() = 0;   // monotonic
  virtual int64_t WallMs() = 0;  // ms since the epoch
};

class SystemClock : public Clock {
 public:
  int64_t NowMs() override;
  int64_t WallMs() override;
};

struct StateOptions {
  int64_t lease_ms = 12000;
  int64_t lock_delay_ms = 5000;   // capped at kMaxLockDelayMs
  int64_t grace_ms = -1;          // sessions kept after a restart; < 0: one lease
  size_t max_sessions = 100000;
  size_t max_handles_per_session = 10000;
  size_t max_events_per_session = 10000;
  // If lockd itself did not run for longer than this (SIGSTOP, swapped out,
  // a stalled disk), no client could renew meanwhile: every lease is extended
  // by the gap, which only ever makes lockd more conservative. 0: off.
  int64_t pause_gap_ms = 1000;
};
constexpr int64_t kMaxLockDelayMs = 60000;

// Who is calling: the session named in the request and the TLS peer.
struct Caller {
  uint64_t session_id = 0;
  std::string principal;
  rpc::Role role = rpc::Role::kNone;
  std::string address;
};

using PollDone = std::function<void(const Status& s, int64_t lease_ms,
                                    std::vector<lock::SessionEvent> events)>;
using LockDone =
    std::function<void(const Status& s, bool acquired, uint64_t lock_generation)>;
using CancelledFn = std::function<bool()>;

class LockState {
 public:
  // store is not owned and must outlive this; clock likewise.
  LockState(const StateOptions& opts, Clock* clock, LockStore* store);
  ~LockState();

  // Loads the store. Sessions found there are kept for the grace period.
  Status Recover();

  Status CreateSession(const Caller& c, uint64_t* session_id, int64_t* lease_ms);
  Status CloseSession(const Caller& c);
  // Renews the lease; answers at once when events are pending (or wait_ms is 0),
  // else when one arrives or after min(wait_ms, lease/3).
  void KeepAlive(const Caller& c, uint64_t acked_seq, int64_t wait_ms, PollDone done,
                 CancelledFn cancelled = nullptr);

  Status Open(const Caller& c, const std::string& path, uint32_t mode, uint32_t event_mask,
              const std::string& initial, uint64_t* handle, lock::NodeStat* stat);
  Status CloseHandle(const Caller& c, uint64_t handle);
  Status GetContents(const Caller& c, uint64_t handle, std::string* contents,
                     lock::NodeStat* stat);
  Status SetContents(const Caller& c, uint64_t handle, const std::string& contents,
                     bool has_cas, uint64_t cas_generation, lock::NodeStat* stat);
  Status ReadDirectory(const Caller& c, uint64_t handle, std::vector<std::string>* names);
  Status Stat(const Caller& c, uint64_t handle, lock::NodeStat* stat);
  Status Delete(const Caller& c, uint64_t handle);
  // wait_ms <= 0: try once (acquired=false when busy); else wait up to wait_ms
  // (TimedOut). done runs from a later Flush().
  void Acquire(const Caller& c, uint64_t handle, lock::LockMode mode, int64_t wait_ms,
               LockDone done, CancelledFn cancelled = nullptr);
  Status Release(const Caller& c, uint64_t handle);
  Status GetSequencer(const Caller& c, uint64_t handle, std::string* sequencer);
  Status CheckSequencer(const std::string& sequencer);
  Status ListSessions(std::vector<lock::SessionInfo>* out);

  void Tick();
  // Makes changes durable, then runs pending completions. Returns the store's
  // error if that failed (the completions are then dropped).
  Status Flush();

  Status broken() const;
  size_t session_count() const;
  size_t node_count() const;

  LockState(const LockState&) = delete;
  LockState& operator=(const LockState&) = delete;

 private:
  struct Waiter {
    uint64_t handle;
    lock::LockMode mode;
    int64_t deadline;
    LockDone done;
    CancelledFn cancelled;
  };
  struct Node {
    NodeRecord rec;
    std::string contents;
    std::set<std::string> children;  // names
    std::set<uint64_t> handles;      // open handles bound to this instance
    std::set<uint64_t> holders;      // handles holding the lock
    lock::LockMode held_mode = lock::LockMode::kNone;
    int64_t lock_delay_until = 0;    // monotonic
    std::deque<Waiter> waiters;
  };
  struct Handle {
    HandleRecord rec;
  };
  struct Session {
    SessionRecord rec;
    int64_t expiry = 0;  // monotonic
    std::set<uint64_t> handles;
    std::set<std::string> ephemerals;
    std::deque<lock::SessionEvent> events;
    uint64_t next_seq = 1;
    PollDone poll;
    CancelledFn poll_cancelled;
    int64_t poll_deadline = 0;
  };

  // The monotonic time, noticing pauses of lockd (StateOptions::pause_gap_ms).
  int64_t NowLocked();
  Status FindSessionLocked(const Caller& c, Session** s);
  Status FindHandleLocked(const Caller& c, uint64_t id, uint32_t need_mode, Handle** h,
                          Node** n);
  Status CheckWriteAclLocked(const Caller& c, const std::string& path);
  Node* CreateNodeLocked(const std::string& path, uint64_t owner, const std::string& contents);
  void DeleteNodeLocked(const std::string& path);
  void CloseHandleLocked(uint64_t id, bool failure);
  void ExpireSessionLocked(uint64_t id, bool clean);
  void GrantLocked(Node* n, Handle* h, lock::LockMode mode);
  void ReleaseLocked(Node* n, Handle* h, bool failure);
  void GrantWaitersLocked(Node* n);
  bool GrantableLocked(const Node& n, lock::LockMode mode) const;
  void NotifyLocked(Node* n, lock::EventType type, const std::string& path);
  void PushEventLocked(Session* s, const lock::Event& ev);
  void AnswerPollLocked(Session* s);
  void FillStatLocked(const Node& n, lock::NodeStat* st) const;
  Status CommitLocked();
  void Defer(std::function<void()> fn) { deferred_.push_back(std::move(fn)); }

  const StateOptions opts_;
  Clock* const clock_;
  LockStore* const store_;

  mutable std::mutex mu_;
  Status broken_;                                  // guarded by mu_
  StoreBatch batch_;                               // guarded by mu_
  std::vector<std::function<void()>> deferred_;    // guarded by mu_
  std::map<std::string, Node> nodes_;              // guarded by mu_
  std::unordered_map<uint64_t, Handle> handles_;   // guarded by mu_
  std::unordered_map<uint64_t, Session> sessions_; // guarded by mu_
  std::set<std::string> delayed_;                  // nodes in lock-delay; guarded by mu_
  std::set<std::string> waiting_;                  // nodes with waiters; guarded by mu_
  int64_t last_now_ = 0;                           // guarded by mu_
  uint64_t next_instance_ = 1;                     // guarded by mu_
  uint64_t next_handle_ = 1;                       // guarded by mu_
  std::mt19937_64 rng_;                            // guarded by mu_
};

}  // namespace kdi::lockd

#endif  // KDI_LOCKD_LOCK_STATE_H_
