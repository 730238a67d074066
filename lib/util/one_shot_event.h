// OneShotEvent: one thread waits until another sets the event, with at most
// one futex call on each side and no mutex.
//
// Why not a condition variable: glibc's pthread_cond_wait re-takes the
// mutex in its "contended" state, so the waiter's next unlock always makes a
// FUTEX_WAKE system call even when nobody waits; with 16 threads doing
// write + Sync that was ~0.8 extra futex calls per synced write in libkdi
// (perf, syscalls:sys_enter_futex); and the loop thread's wake of a blocked
// Channel::Call plus the mutex hand-over were ~18% of the client's CPU with
// 16 threads of point reads. Here Wait() sleeps on the event's own
// word, Set() wakes it only if it sleeps, and neither touches a mutex.
//
// Contract: Set() at most once (later calls are harmless no-ops), from any
// thread; Wait() by one thread. Set() may touch the object after Wait()
// returned, so the setter must keep the object alive (e.g. by shared_ptr).
// Memory written before Set() is visible after Wait() returns.
#ifndef KDI_LIB_UTIL_ONE_SHOT_EVENT_H_
#define KDI_LIB_UTIL_ONE_SHOT_EVENT_H_

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace kdi {

class OneShotEvent {
 public:
  void Set() {
    if (state_.exchange(kDone, std::memory_order_acq_rel) == kSleeping) {
      syscall(SYS_futex, &state_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    }
  }

  void Wait() {
    uint32_t s = state_.load(std::memory_order_acquire);
    while (s != kDone) {
      if (s == kPending &&
          !state_.compare_exchange_weak(s, kSleeping, std::memory_order_acq_rel)) {
        continue;  // s reloaded: Set() came first (or a spurious failure)
      }
      syscall(SYS_futex, &state_, FUTEX_WAIT_PRIVATE, kSleeping, nullptr, nullptr, 0);
      s = state_.load(std::memory_order_acquire);
    }
  }

  bool is_set() const { return state_.load(std::memory_order_acquire) == kDone; }

 private:
  static constexpr uint32_t kPending = 0, kSleeping = 1, kDone = 2;
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "futex word");
  std::atomic<uint32_t> state_{kPending};
};

}  // namespace kdi

#endif  // KDI_LIB_UTIL_ONE_SHOT_EVENT_H_
