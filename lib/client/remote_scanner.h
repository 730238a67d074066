// RemoteScanner: the CellStream of a kdi:// scan.
//
// It walks the table's tablets in row order: for each it asks the tablet's
// server for pages (ScanPage with the server's resume token) of the predicate
// restricted to the tablet's range, then moves to the tablet holding the next
// row the predicate admits. It remembers the key of the last cell it returned;
// when a page fails with a retryable error (the tablet moved or split, the
// server died or stopped serving), it drops the location, waits a backoff,
// locates the tablet holding the last returned row afresh and scans again
// from that row, skipping cells whose key is not greater than the last one.
// So a scan returns every cell exactly once, in cell order, across tablet
// boundaries, splits, moves and server failures (cells written during the
// scan may or may not be seen). Each page fetch has its own deadline
// (op_timeout_ms).
//
// Threading: one thread at a time (CellStream contract). The locator, backend
// and stats must outlive the scanner.
#ifndef KDI_LIB_CLIENT_REMOTE_SCANNER_H_
#define KDI_LIB_CLIENT_REMOTE_SCANNER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "kdi/scan_predicate.h"
#include "kdi/table.h"
#include "lib/client/location_cache.h"
#include "lib/client/remote_backend.h"
#include "lib/client/remote_retry.h"
#include "lib/client/tablet_locator.h"

namespace kdi::client {

struct ScanOptions {
  int64_t op_timeout_ms = 30000;
  int64_t rpc_timeout_ms = 10000;
  int64_t initial_backoff_ms = 10;
  int64_t max_backoff_ms = 1000;
  uint32_t page_cells = 4096;
  uint64_t page_bytes = 4u << 20;
};

// The smallest row >= from that `rows` admits; false if there is none.
bool FirstRowAtOrAfter(const StringIntervalSet& rows, const std::string& from,
                       std::string* out);

class RemoteScanner : public CellStream {
 public:
  RemoteScanner(RemoteBackend* backend, TabletLocator* locator, RemoteStats* stats,
                const ScanPredicate& predicate, const ScanOptions& options);

  bool Next(Cell* cell) override;
  Status status() const override { return status_; }

 private:
  // Fills buffer_ with at least one cell, or sets finished_; error otherwise.
  Status FetchPage();
  // Moves past the current tablet; sets finished_ when nothing is left.
  void AdvancePastTablet();

  RemoteBackend* const backend_;
  TabletLocator* const locator_;
  RemoteStats* const stats_;
  const ScanPredicate predicate_;
  const ScanOptions options_;

  Status status_;
  bool finished_ = false;
  std::string next_row_;  // first row to scan in the current/next tablet
  bool have_tablet_ = false;
  TabletLocation tablet_;
  ScanPredicate tablet_predicate_;  // predicate_ restricted to the tablet
  std::string token_;
  bool have_last_ = false;
  Cell last_;  // key of the last cell buffered (value not kept)
  std::vector<Cell> buffer_;
  size_t pos_ = 0;
};

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_REMOTE_SCANNER_H_
