// TabletServer: one running tabletd. Owns the RPC server (mutual TLS), the
// fencing (lock-service session and server lock), the tablet registry, the
// table and admin services and the master session (keepAlive + split monitor).
//
// Start order: data root checked (leftovers of interrupted splits removed when
// the root is not shared), TLS contexts, RPC server bound (requests are refused
// with ServiceUnavailable until registration), registration in the lock
// service, then the keepAlive and split threads. Stop order: keepAlive and
// split threads, RPC server (requests in flight finish), every tablet unloaded
// cleanly (sync, close, unlock), session closed (server node removed).
//
// Threading: Start/Stop from one thread (the daemon's main thread); the rest is
// internal (see each component's header and doc/tabletd.md "Threads").
#ifndef KDI_TABLETD_TABLET_SERVER_H_
#define KDI_TABLETD_TABLET_SERVER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "kdi/status.h"
#include "lib/client/admin_protocol.h"
#include "lib/rpc/server.h"
#include "lib/rpc/tls.h"
#include "tabletd/admin_service.h"
#include "tabletd/fault_control.h"
#include "tabletd/fencing.h"
#include "tabletd/master_session.h"
#include "tabletd/migration.h"
#include "tabletd/orphan_collector.h"
#include "tabletd/table_service.h"
#include "tabletd/tablet_registry.h"
#include "tabletd/tabletd_config.h"

namespace kdi::tabletd {

class TabletServer {
 public:
  static Status Start(const TabletdConfig& config, std::unique_ptr<TabletServer>* out);
  ~TabletServer();  // Stop()s
  void Stop();

  const std::string& address() const { return address_; }
  void BuildStatus(client::ServerStatusInfo* out);

  TabletServer(const TabletServer&) = delete;
  TabletServer& operator=(const TabletServer&) = delete;

 private:
  explicit TabletServer(const TabletdConfig& config);
  Status StartInternal();

  const TabletdConfig config_;
  const int64_t start_time_us_;
  std::string address_;
  std::unique_ptr<FaultControl> faults_;  // only with KDI_FAULT_FILE (tests)
  std::shared_ptr<rpc::TlsContext> server_tls_;
  std::shared_ptr<rpc::TlsContext> client_tls_;
  std::unique_ptr<Fencing> fencing_;
  std::unique_ptr<TabletRegistry> registry_;
  std::unique_ptr<OrphanCollector> orphans_;
  RequestCounters counters_;
  std::unique_ptr<TableService> table_service_;
  std::unique_ptr<MigrationService> migration_;
  std::unique_ptr<AdminService> admin_service_;
  std::unique_ptr<rpc::Server> rpc_;
  std::unique_ptr<MasterSession> master_session_;
  bool stopped_ = false;

  // Rate computation for BuildStatus.
  std::mutex rate_mu_;
  int64_t rate_time_us_ = 0;         // guarded by rate_mu_
  uint64_t rate_applies_ = 0;        // guarded by rate_mu_
  uint64_t rate_scans_ = 0;          // guarded by rate_mu_
  uint64_t applies_per_sec_ = 0;     // guarded by rate_mu_
  uint64_t scans_per_sec_ = 0;       // guarded by rate_mu_
};

}  // namespace kdi::tabletd

#endif  // KDI_TABLETD_TABLET_SERVER_H_
