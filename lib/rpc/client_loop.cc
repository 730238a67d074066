// See client_loop.h.
#include "lib/rpc/client_loop.h"

#include <event2/event.h>

#include <cstdlib>
#include <map>

#include "lib/rpc/event_util.h"

namespace kdi::rpc {

ClientLoop::Impl::Impl() {
  InitRpcProcess();
  base_ = event_base_new();
  if (base_ == nullptr) abort();  // only fails when out of memory or descriptors
  if (!wakeup_.Init(base_, &Impl::WakeupCb, this).ok()) abort();  // out of descriptors
  stop_ = event_new(base_, -1, 0, &Impl::StopCb, this);
}

ClientLoop::Impl::~Impl() {
  wakeup_.DetachEvent();
  event_free(stop_);
  event_base_free(base_);
}

void ClientLoop::Impl::Start(std::shared_ptr<Impl> self) {
  // Nothing runs on the loop before a Channel posts to it, which happens after
  // thread_id_ is set below.
  thread_ = std::thread([self] {
    self->Run();
    self->after_tasks_.clear();
  });
  thread_id_ = thread_.get_id();
}

void ClientLoop::Impl::Run() {
  while (RunTasks()) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopped_) return;
      if (!tasks_.empty()) continue;  // posted while the last batch ran
      sleeping_.store(true, std::memory_order_relaxed);
      notified_ = false;
    }
    // One iteration: waits for an event (or the eventfd), runs the callbacks
    // of everything active, returns. The wakeup event keeps the base non-empty.
    event_base_loop(base_, EVLOOP_ONCE);
    std::lock_guard<std::mutex> l(mu_);
    sleeping_.store(false, std::memory_order_relaxed);
  }
}

bool ClientLoop::Impl::RunTasks() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopped_) return false;
    batch_.swap(tasks_);
  }
  for (auto& fn : batch_) {
    fn();
    fn = nullptr;
  }
  batch_.clear();
  // Flushes last: everything the closures (and the callbacks of the event
  // pass before them) wrote leaves now, in one write per connection.
  while (!after_tasks_.empty()) {
    after_batch_.swap(after_tasks_);
    for (auto& fn : after_batch_) {
      fn();
      fn = nullptr;
    }
    after_batch_.clear();
  }
  return true;
}

void ClientLoop::Impl::Stop() {
  std::vector<std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopped_) return;
    stopped_ = true;
    dropped.swap(tasks_);
    event_active(stop_, EV_READ, 0);
  }
  dropped.clear();
  if (InLoopThread()) {
    thread_.detach();
  } else if (thread_.joinable()) {
    thread_.join();
  }
}

void ClientLoop::Impl::Post(std::function<void()> fn) {
  std::unique_lock<std::mutex> l(mu_);
  if (stopped_) {
    l.unlock();
    return;
  }
  tasks_.push_back(std::move(fn));
  // A loop that is not asleep runs the closure after its current iteration.
  bool wake = sleeping_.load(std::memory_order_relaxed) && !notified_;
  if (wake) notified_ = true;
  l.unlock();
  // Outside mu_, or the woken loop thread would block on it at once. The
  // eventfd outlives every poster (each holds the ClientLoop).
  if (wake) wakeup_.Notify();
}

void ClientLoop::Impl::WakeupCb(void*) {
  // Nothing to do here: the eventfd only ends epoll_wait; Run() runs the
  // closures once the iteration returns.
}

void ClientLoop::Impl::StopCb(int, short, void* arg) {
  event_base_loopbreak(static_cast<Impl*>(arg)->base_);
}

ClientLoop::ClientLoop() : impl_(std::make_shared<Impl>()) { impl_->Start(impl_); }

ClientLoop::~ClientLoop() { impl_->Stop(); }

std::shared_ptr<ClientLoop> ClientLoop::Shared(size_t index) {
  // Leaked on purpose: no destructor ordering problems at exit.
  static std::mutex* mu = new std::mutex;
  static auto* shared = new std::map<size_t, std::weak_ptr<ClientLoop>>;
  std::lock_guard<std::mutex> l(*mu);
  std::weak_ptr<ClientLoop>& slot = (*shared)[index];
  std::shared_ptr<ClientLoop> loop = slot.lock();
  if (!loop) {
    loop = std::make_shared<ClientLoop>();
    slot = loop;
  }
  return loop;
}

}  // namespace kdi::rpc
