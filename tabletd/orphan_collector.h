// OrphanCollector: removes tablet directories under the data root that an
// interrupted split or copy migration left behind, and only those that are
// provably orphaned (doc/tabletd.md "Orphaned directories").
//
// Directories under construction carry a PENDING marker (storage
// Tablet::WritePendingMarker) naming the operation and the owning server
// incarnation, "KIND HOST:PORT START_US TABLET_ID TABLE":
//   split  written into each split child's directory before it is built
//          (TABLET_ID = the parent's id); cleared when a tabletd loads the
//          child (only the master loads tablets, and only those META names).
//   copy   written into "<dir>.incoming" when a copy migration starts
//          (TABLET_ID = the tablet's own id); cleared when the copy is loaded.
//   retire written into a split parent's directory when CommitSplit starts,
//          i.e. after META recorded the split (TABLET_ID = the parent's id);
//          the parent is removed at the end of CommitSplit.
// A pass looks at every entry of DATA/tables/TABLE/ and removes:
//   - "*.retired": a removal already decided (Tablet::Destroy).
//   - a directory whose marker names an incarnation that is dead (not this
//     one, and /kdi/servers/HOST:PORT is gone or names another start time) if
//     it is a temp directory ("*.splitting", "*.incoming"), a completed copy
//     or a "retire"d split parent, or if it is a completed split child whose
//     parent directory is still a
//     tablet that some server holds the lock of now: the master serves only
//     what META names, so the parent is still in META and the split was never
//     recorded.
// It never removes a directory without a marker (META-listed tablets have
// none; unmarked leftovers of a private root are swept at start-up before
// serving, TabletServer), one served here, one whose owner is alive or can't
// be checked (lock service unreachable: try again next pass), or a split child
// whose parent is not being served at the moment.
//
// Threading: Start() runs a pass at once and then every
// tabletd_orphan_check_interval_ms on its own thread (0: only the first);
// CollectOnce may also be called directly. Blocks on the file system and lockd.
#ifndef KDI_TABLETD_ORPHAN_COLLECTOR_H_
#define KDI_TABLETD_ORPHAN_COLLECTOR_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kdi/status.h"
#include "tabletd/fencing.h"
#include "tabletd/tablet_registry.h"
#include "tabletd/tabletd_config.h"

namespace kdi::tabletd {

constexpr char kPendingMarkerFile[] = "PENDING";  // = storage's kPendingFile

// The marker contents for an operation of this server incarnation.
std::string PendingMarker(const std::string& kind, const std::string& address,
                          int64_t start_time_us, const std::string& tablet_id,
                          const std::string& table);

struct PendingMarkerInfo {
  std::string kind;  // "split" | "copy"
  std::string address;
  int64_t start_time_us = 0;
  std::string tablet_id;
  std::string table;
};
Status ParsePendingMarker(const std::string& contents, PendingMarkerInfo* out);

class OrphanCollector {
 public:
  OrphanCollector(const TabletdConfig& config, Fencing* fencing, TabletRegistry* registry)
      : config_(config), fencing_(fencing), registry_(registry) {}
  ~OrphanCollector() { Stop(); }

  void Start();
  void Stop();

  // One pass; *removed (optional) gets the data-root-relative paths removed.
  Status CollectOnce(std::vector<std::string>* removed);

  OrphanCollector(const OrphanCollector&) = delete;
  OrphanCollector& operator=(const OrphanCollector&) = delete;

 private:
  void Run();
  // OK and *dead set when known; an error when the lock service can't tell.
  Status OwnerDead(const PendingMarkerInfo& m, bool* dead);
  // Whether /kdi/tablets/TABLE/ID is locked right now.
  Status TabletLocked(const std::string& table, const std::string& id, bool* locked);

  const TabletdConfig config_;
  Fencing* const fencing_;
  TabletRegistry* const registry_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace kdi::tabletd

#endif  // KDI_TABLETD_ORPHAN_COLLECTOR_H_
