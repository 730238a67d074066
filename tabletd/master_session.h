// MasterSession: the tabletd side of the 600-block (the seed's masterSession
// loop). Every keepalive interval (~1 s) it
//   1. finds the master through /kdi/master in the lock service (contents
//      HOST:PORT); when there is none it retries on the next tick;
//   2. sends KeepAlive (600) with the server status (tablets, sizes, rates,
//      RSS, pending splits); orders in the reply are logged and ignored (none
//      are defined yet);
//   3. sends SplitReport (601) for every split not yet committed; an OK reply
//      means the master recorded both children in META, and the tabletd then
//      commits the split (serves the children, retires the parent).
// A split done while the master is down is therefore reported on the first
// tick after a master is reachable again, and on every tick until one accepts
// it: the report cannot be lost (it lives in the registry's pending splits;
// if the tabletd itself dies, the parent directory is still complete).
//
// Also the maintenance loop: every split-check interval it reopens tablets
// that refuse writes after a failed log write or flush (unless
// tabletd_reopen_failed_tablets is off), measures each
// serving tablet and splits one that passed tabletd_split_size_mb near its
// median; every tabletd_compact_interval_ms it compacts each tablet (removes
// versions beyond max_versions / TTL and log files no longer needed).
//
// Threading: one thread for the keepAlive loop and one for the split monitor,
// both owned here. Start/Stop from the daemon's main thread.
#ifndef KDI_TABLETD_MASTER_SESSION_H_
#define KDI_TABLETD_MASTER_SESSION_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "kdi/status.h"
#include "lib/client/admin_protocol.h"
#include "lib/rpc/channel.h"
#include "lib/rpc/tls.h"
#include "tabletd/fencing.h"
#include "tabletd/tablet_registry.h"
#include "tabletd/tabletd_config.h"

namespace kdi::tabletd {

class MasterSession {
 public:
  using StatusFn = std::function<void(client::ServerStatusInfo*)>;

  MasterSession(const TabletdConfig& config, Fencing* fencing, TabletRegistry* registry,
                std::shared_ptr<rpc::TlsContext> client_tls, StatusFn server_status);
  ~MasterSession();  // Stop()s

  void Start();
  void Stop();

  MasterSession(const MasterSession&) = delete;
  MasterSession& operator=(const MasterSession&) = delete;

 private:
  void KeepAliveLoop();
  void SplitLoop();
  void Tick();
  void CheckSplits();
  Status FindMaster(std::string* address);
  // Waits ms or until Stop(); false when stopping.
  bool Sleep(int64_t ms);

  const TabletdConfig& config_;
  Fencing* fencing_;
  TabletRegistry* registry_;
  std::shared_ptr<rpc::TlsContext> client_tls_;
  StatusFn server_status_;

  // Used by the keepAlive thread only.
  std::unique_ptr<rpc::Channel> master_;
  std::string master_address_;
  bool master_warned_ = false;

  // Used by the split thread only: last compaction per tablet (steady ms).
  std::map<client::TabletRef, int64_t> last_compact_ms_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread keepalive_thread_;
  std::thread split_thread_;
};

}  // namespace kdi::tabletd

#endif  // KDI_TABLETD_MASTER_SESSION_H_
