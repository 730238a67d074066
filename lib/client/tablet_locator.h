// TabletLocator: finds the tablet of a kdi:// table that holds a row, and the
// tabletd serving it: from the LocationCache, else by reading META through the
// tabletd named in /kdi/root (CLUSTER.md "META"). One META read fetches the
// rows of up to kPrefetchTablets consecutive tablets and caches them all, so
// a scan or a bulk load over many tablets costs few lookups.
//
// Locate() makes one attempt: a retryable error (remote_retry.h IsRetryable)
// means "try again after a backoff"; callers own the retry loop and deadline.
// A tablet that META lists without a server (unassigned, assigning) yields
// ServiceUnavailable; a gap in META yields ServiceUnavailable too (a split is
// being recorded); a table with no META rows yields NotFound.
//
// Thread-safe: any number of threads may call any method.
#ifndef KDI_LIB_CLIENT_TABLET_LOCATOR_H_
#define KDI_LIB_CLIENT_TABLET_LOCATOR_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "kdi/status.h"
#include "lib/client/location_cache.h"
#include "lib/client/remote_backend.h"
#include "lib/client/remote_retry.h"

namespace kdi::client {

class TabletLocator {
 public:
  static constexpr uint32_t kPrefetchTablets = 32;

  // backend and stats must outlive the locator.
  TabletLocator(RemoteBackend* backend, std::string table, RemoteStats* stats)
      : backend_(backend), table_(std::move(table)), stats_(stats) {}

  const std::string& table() const { return table_; }

  // The tablet holding `row` ("" means the table's first tablet).
  Status Locate(std::string_view row, int64_t timeout_ms, TabletLocation* out);

  // Forget `loc` after its server said NotServing (or could not be reached:
  // then every tablet of that server is forgotten).
  void Invalidate(const TabletLocation& loc, const Status& why);

  LocationCache* cache() { return &cache_; }

 private:
  Status LookupMeta(std::string_view row, int64_t timeout_ms, TabletLocation* out);
  Status RootServer(int64_t timeout_ms, std::string* server);

  RemoteBackend* const backend_;
  const std::string table_;
  RemoteStats* const stats_;
  LocationCache cache_;

  std::mutex mu_;
  std::string root_;  // GUARDED_BY(mu_): cached /kdi/root, "" = unknown
};

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_TABLET_LOCATOR_H_
