// Migration between tabletds with separate data roots (3c, 501-504), and the
// source side of MigrateTablet in that case.
//
// Source A (MigrateByCopy, on the master's MigrateTablet):
//   1. exports the tablet's directory (only tablets being migrated out are
//      readable through 501/502, and only plain files directly in the dir);
//   2. PrepareTake to target B: B copies every file while A keeps serving
//      (the copy may be inconsistent; step 4 repairs it);
//   3. detaches the tablet: stops serving it, syncs, closes (the files are
//      now final and consistent) and releases its lock;
//   4. FinishTake to B: B lists A's files with a CRC-32 per 256 KiB chunk,
//      fetches only chunks that differ, truncates, removes files A does not
//      have, fsyncs, renames its staging dir into place, then locks and opens
//      the tablet like LoadTablet;
//   5. if B fails, A loads the tablet again (its directory is intact); if B
//      did take it, A's reload fails with Conflict on the tablet lock;
//   6. once B answered FinishTake with OK (its copy is fsynced, locked and
//      served), A removes its own directory (Tablet::Destroy: renamed to
//      "*.retired" first, so the orphan collector finishes an interrupted
//      removal). If the answer is lost, A keeps its directory.
// The tablet is unavailable from step 3 to the end of step 4; the reply says
// how long.
//
// Target B stages files in "<data_root>/<dir>.incoming" and never touches a
// tablet it serves.
//
// Threading: handlers run on RPC workers; MigrateByCopy on the worker that
// handles MigrateTablet. exporting_ is guarded by mu_.
#ifndef KDI_TABLETD_MIGRATION_H_
#define KDI_TABLETD_MIGRATION_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "lib/client/admin_protocol.h"
#include "lib/rpc/server.h"
#include "lib/rpc/tls.h"
#include "tabletd/fencing.h"
#include "tabletd/tablet_registry.h"
#include "tabletd/tabletd_config.h"

namespace kdi::tabletd {

class MigrationService {
 public:
  MigrationService(const TabletdConfig& config, TabletRegistry* registry, Fencing* fencing,
                   std::shared_ptr<rpc::TlsContext> client_tls)
      : config_(config), registry_(registry), fencing_(fencing), client_tls_(std::move(client_tls)) {}

  void Register(rpc::Server* server);

  // Source side of MigrateTablet when the data roots are separate.
  Status MigrateByCopy(const client::MigrateTabletRequest& req, client::MigrateTabletReply* reply);

 private:
  void HandleListFiles(std::string body, rpc::ResponderPtr r);
  void HandleReadChunk(std::string body, rpc::ResponderPtr r);
  void HandlePrepareTake(std::string body, rpc::ResponderPtr r);
  void HandleFinishTake(std::string body, rpc::ResponderPtr r);

  Status ExportedDir(const client::TabletRef& ref, std::string* dir);
  // Target side: copies (full) or catches up (delta) src's files into staging.
  Status CopyFrom(const client::CopyTabletRequest& req, bool delta, uint64_t* bytes);

  const TabletdConfig& config_;
  TabletRegistry* registry_;
  Fencing* fencing_;
  std::shared_ptr<rpc::TlsContext> client_tls_;

  std::mutex mu_;
  std::map<client::TabletRef, std::string> exporting_;  // guarded by mu_: ref -> abs dir
};

}  // namespace kdi::tabletd

#endif  // KDI_TABLETD_MIGRATION_H_
