// LockdServer: a running lock service — the Berkeley DB store, the state
// machine, the RPC server with the lock handlers, and a ticker thread that
// drives leases, lock-delay and deadlines (every tick_ms) and checkpoints the
// store (every checkpoint_ms).
//
// If the store fails, the ticker asks the daemon to shut down (through the
// on_fatal callback) rather than keep serving from memory that the disk no
// longer backs.
//
// Threading: Start() and Stop() from one thread; everything else is internal.
#ifndef KDI_LOCKD_LOCKD_SERVER_H_
#define KDI_LOCKD_LOCKD_SERVER_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "kdi/status.h"
#include "lib/rpc/server.h"
#include "lockd/lock_service.h"
#include "lockd/lock_state.h"
#include "lockd/lock_store.h"

namespace kdi::lockd {

struct LockdServerOptions {
  std::string listen_address = "127.0.0.1:7400";
  std::string data_dir;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  StateOptions state;
  int worker_threads = 4;
  int64_t tick_ms = 20;
  int64_t checkpoint_ms = 30000;
  std::function<void(const Status&)> on_fatal;
};

class LockdServer {
 public:
  static Status Start(const LockdServerOptions& opts, std::unique_ptr<LockdServer>* out);
  ~LockdServer();  // Stop()s
  void Stop();
  std::string address() const;

 private:
  explicit LockdServer(const LockdServerOptions& opts) : opts_(opts) {}
  void TickerLoop();

  LockdServerOptions opts_;
  SystemClock clock_;
  std::unique_ptr<LockStore> store_;
  std::unique_ptr<LockState> state_;
  std::unique_ptr<LockService> service_;
  std::unique_ptr<rpc::Server> server_;
  std::thread ticker_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
};

}  // namespace kdi::lockd

#endif  // KDI_LOCKD_LOCKD_SERVER_H_
