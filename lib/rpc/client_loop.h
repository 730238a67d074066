// ClientLoop::Impl: the I/O thread behind client channels (see channel.h).
//
// One thread runs an event base. Other threads hand it work with Post(), which
// queues a closure under a mutex and wakes the loop through an eventfd (only
// when the queue was empty: a wakeup is already pending otherwise), so posting
// never takes the event base's lock. Closures run in FIFO order on the loop
// thread.
//
// Lifetime: the loop thread holds a reference to its Impl, so the Impl (and the
// event base) outlive any callback that is still running when the owning
// ClientLoop is destroyed; Stop() from the loop thread itself detaches instead
// of joining. Lock order: Impl::mu_ before the event base's internal lock
// (Stop() activates the stop event under mu_).
#ifndef KDI_LIB_RPC_CLIENT_LOOP_H_
#define KDI_LIB_RPC_CLIENT_LOOP_H_

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
  event_base* base() const { return base_; }

 private:
  static void WakeupCb(void* arg);
  static void StopCb(int, short, void* arg);

  event_base* base_ = nullptr;
  LoopWakeup wakeup_;
  event* stop_ = nullptr;
  std::mutex mu_;
  std::vector<std::function<void()>> tasks_;  // guarded by mu_
  bool stopped_ = false;                      // guarded by mu_
  std::vector<std::function<void()>> batch_;  // loop thread
  std::thread thread_;
  std::thread::id thread_id_;
};

}  // namespace kdi::rpc

#endif  // KDI_LIB_RPC_CLIENT_LOOP_H_
