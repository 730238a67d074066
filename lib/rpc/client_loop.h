// ClientLoop::Impl: the I/O thread behind client channels (see channel.h).
//
// One thread runs an event base, one iteration at a time (EVLOOP_ONCE), and
// runs the posted closures between iterations. Other threads hand it work with
// Post(), which queues a closure under a mutex and wakes the loop through an
// eventfd only when the loop is (about to be) asleep in epoll_wait and no
// wakeup is pending: a loop that is busy handling replies picks the closure up
// at the end of its current iteration without any system call (a profile of
// 16 threads of point reads showed the eventfd writes at ~8% of the client's
// CPU). Posting never takes the event base's lock. Closures run in FIFO order
// on the loop thread; after them run the RunAfterTasks() closures (output
// flushes), then the loop waits for events again.
//
// Lifetime: the loop thread holds a reference to its Impl, so the Impl (and the
// event base) outlive any callback that is still running when the owning
// ClientLoop is destroyed; Stop() from the loop thread itself detaches instead
// of joining. Lock order: Impl::mu_ before the event base's internal lock
// (Stop() activates the stop event under mu_).
#ifndef KDI_LIB_RPC_CLIENT_LOOP_H_
#define KDI_LIB_RPC_CLIENT_LOOP_H_

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "lib/rpc/channel.h"
#include "lib/rpc/event_util.h"

struct event;
struct event_base;

namespace kdi::rpc {

class ClientLoop::Impl {
 public:
  Impl();
  ~Impl();

  // Starts the thread, which keeps self alive until it exits.
  void Start(std::shared_ptr<Impl> self);
  // Ends the loop; queued closures are destroyed unrun. Joins the thread, or
  // detaches it when called on the loop thread. Idempotent.
  void Stop();

  // Any thread. Runs fn on the loop thread; dropped after Stop().
  void Post(std::function<void()> fn);
  bool InLoopThread() const { return std::this_thread::get_id() == thread_id_; }
  // Loop thread. Runs fn once the posted closures of this pass have run,
  // before the loop waits for events again (channels flush their output
  // there, so the requests posted in one pass leave in one write).
  void RunAfterTasks(std::function<void()> fn) { after_tasks_.push_back(std::move(fn)); }
  // Loop thread, from an event callback: the loop is awake and will run the
  // closures posted from now on after this iteration, so Post() need not write
  // the eventfd. (Channels call it when replies arrive: the callers they wake
  // post their next calls at once.)
  void NoteAwake() {
    if (!sleeping_.load(std::memory_order_relaxed)) return;
    std::lock_guard<std::mutex> l(mu_);
    sleeping_.store(false, std::memory_order_relaxed);
  }
  event_base* base() const { return base_; }

 private:
  static void WakeupCb(void* arg);
  static void StopCb(int, short, void* arg);
  // The loop thread's body: iterations of the event base, closures between.
  void Run();
  // Runs the queued closures; false once Stop() was called.
  bool RunTasks();

  event_base* base_ = nullptr;
  LoopWakeup wakeup_;
  event* stop_ = nullptr;
  std::mutex mu_;
  std::vector<std::function<void()>> tasks_;  // guarded by mu_
  bool stopped_ = false;                      // guarded by mu_
  // The loop is in (or about to enter) epoll_wait and must be woken by an
  // eventfd write to see new closures; notified_: that write was done.
  // Written under mu_ only; read without it by NoteAwake's fast path.
  std::atomic<bool> sleeping_{false};
  bool notified_ = false;  // guarded by mu_
  std::vector<std::function<void()>> batch_;  // loop thread
  std::vector<std::function<void()>> after_tasks_, after_batch_;  // loop thread
  std::thread thread_;
  std::thread::id thread_id_;
};

}  // namespace kdi::rpc

#endif  // KDI_LIB_RPC_CLIENT_LOOP_H_
