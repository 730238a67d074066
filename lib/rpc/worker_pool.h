// A fixed pool of worker threads running closures from one FIFO queue, for
// handlers that may block (Berkeley DB, fsync) so that they never stall the
// I/O thread.
//
// Thread-safe: Submit() may be called from any thread, including a worker.
// Stop() runs the closures already running to completion, discards (destroys
// without running) those still queued, and joins the threads; it is idempotent
// and must not be called from a worker. Closures submitted after Stop() are
// destroyed without running.
#ifndef KDI_LIB_RPC_WORKER_POOL_H_
#define KDI_LIB_RPC_WORKER_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kdi::rpc {

class WorkerPool {
 public:
  WorkerPool() = default;
  ~WorkerPool() { Stop(); }

  // Starts n (>= 1) threads. REQUIRES: called once.
  void Start(int n);
  void Submit(std::function<void()> fn);
  void Stop();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  int idle_ = 0;                             // guarded by mu_: threads waiting on cv_
  std::vector<std::thread> threads_;         // touched by Start/Stop only
};

}  // namespace kdi::rpc

#endif  // KDI_LIB_RPC_WORKER_POOL_H_
