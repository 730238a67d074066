// See worker_pool.h.
#include "lib/rpc/worker_pool.h"

namespace kdi::rpc {

void WorkerPool::Start(int n) {
  if (n < 1) n = 1;
  for (int i = 0; i < n; i++) threads_.emplace_back([this] { Run(); });
}

void WorkerPool::Submit(std::function<void()> fn) {
  std::unique_lock<std::mutex> l(mu_);
  if (stopping_) {
    l.unlock();
    return;  // fn is destroyed here, outside the lock
  }
  queue_.push_back(std::move(fn));
  // Only wake a thread if one is waiting; a busy worker picks the task up when
  // it comes back to the queue.
  bool wake = idle_ > 0;
  l.unlock();
  if (wake) cv_.notify_one();
}

void WorkerPool::Run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    while (!stopping_ && queue_.empty()) {
      idle_++;
      cv_.wait(l);
      idle_--;
    }
    if (stopping_) return;
    std::function<void()> fn = std::move(queue_.front());
    queue_.pop_front();
    l.unlock();
    fn();
    fn = nullptr;  // destroy captured state outside the lock
    l.lock();
  }
}

void WorkerPool::Stop() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  dropped.clear();  // destroys queued closures (and their responders) unrun
}

}  // namespace kdi::rpc
