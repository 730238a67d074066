// AdminService: the handlers of the master admin interface (3b, 400-499) and
// of the migration interface (3c, 500-599) on a tabletd. Server role only
// (other roles get PermissionDenied before a handler runs).
//
//   400 LoadTablet     lock /kdi/tablets/T/ID (Conflict if held elsewhere), open
//                      (or create) the storage, serve
//   401 UnloadTablet   sync, close, release the lock (data stays durable)
//   402 SplitTablet    split at a row or the median; parent frozen until commit
//   403 CommitSplit    serve both children, retire the parent
//   404 TabletStatus / 405 ServerStatus
//   406 MigrateTablet  hand the tablet to another tabletd: reopen from the
//                      shared data root, or copy (MigrationService) when the
//                      roots are separate
//   500 TakeTablet     another tabletd hands us a tablet (= LoadTablet)
//
// Every handler runs on an RPC worker thread (they block on disk and lockd).
// Threading: Register() before the server starts; handlers are thread-safe.
#ifndef KDI_TABLETD_ADMIN_SERVICE_H_
#define KDI_TABLETD_ADMIN_SERVICE_H_

#include <functional>
#include <memory>
#include <string>

#include "lib/client/admin_protocol.h"
#include "lib/rpc/server.h"
#include "lib/rpc/tls.h"
#include "tabletd/migration.h"
#include "tabletd/tablet_registry.h"
#include "tabletd/tabletd_config.h"

namespace kdi::tabletd {

class AdminService {
 public:
  using StatusFn = std::function<void(client::ServerStatusInfo*)>;

  AdminService(const TabletdConfig& config, TabletRegistry* registry,
               MigrationService* migration, std::shared_ptr<rpc::TlsContext> client_tls,
               StatusFn server_status)
      : config_(config),
        registry_(registry),
        migration_(migration),
        client_tls_(std::move(client_tls)),
        server_status_(std::move(server_status)) {}

  void Register(rpc::Server* server);

 private:
  void HandleLoad(std::string body, rpc::ResponderPtr r);
  void HandleUnload(std::string body, rpc::ResponderPtr r);
  void HandleSplit(std::string body, rpc::ResponderPtr r);
  void HandleCommitSplit(std::string body, rpc::ResponderPtr r);
  void HandleTabletStatus(std::string body, rpc::ResponderPtr r);
  void HandleServerStatus(std::string body, rpc::ResponderPtr r);
  void HandleMigrate(std::string body, rpc::ResponderPtr r);

  const TabletdConfig& config_;
  TabletRegistry* registry_;
  MigrationService* migration_;
  std::shared_ptr<rpc::TlsContext> client_tls_;
  StatusFn server_status_;
};

}  // namespace kdi::tabletd

#endif  // KDI_TABLETD_ADMIN_SERVICE_H_
