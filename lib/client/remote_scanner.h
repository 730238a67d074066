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
// Pipelining: while the caller consumes one page, the scanner fetches the
// next one on a helper thread of its own, so the server reads page N+1 while
// the client decodes and hands out page N (a full scan is otherwise strictly
// alternating: server, then client). Memory stays bounded: at most two pages
// per scanner (the one being consumed and the one being fetched). The first
// page asks for at most kFirstPageCells cells and is fetched on the caller's
// thread, and so is the second; the prefetch starts with the third. So point
// reads and short scans (which stop early) never start a thread or ask for
// cells they do not use. Destroying
// the scanner stops prefetching: a fetch in flight is abandoned between
// retries and its RPC (bounded by rpc_timeout_ms) is waited for.
//
// Threading: one thread at a time (CellStream contract). The locator, backend
// and stats must outlive the scanner; they are also used from the helper
// thread (they are thread-safe).
#ifndef KDI_LIB_CLIENT_REMOTE_SCANNER_H_
#define KDI_LIB_CLIENT_REMOTE_SCANNER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kdi/scan_predicate.h"
#include "kdi/table.h"
#include "lib/client/location_cache.h"
#include "lib/client/remote_backend.h"
#include "lib/client/remote_retry.h"
#include "lib/client/tablet_locator.h"

namespace kdi::client {

// Cells a page asks for until the scan has found a cell (the first page;
// ScanOptions::page_cells if smaller): enough for YCSB E's short scans of up to 100 10-cell rows.
constexpr uint32_t kFirstPageCells = 1024;

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
  ~RemoteScanner() override;

  bool Next(Cell* cell) override;
  Status status() const override { return status_; }

  // For tests: pages fetched ahead by the helper thread so far.
  uint64_t prefetched_pages() const { return prefetched_pages_.load(); }

 private:
  // Fills *out with at least one cell, or sets finished_; error otherwise (then
  // *out is empty). The Cells already in *out are spent ones whose strings
  // the new page is decoded into. Runs on one thread at a time: the caller's
  // (first page) or the helper's.
  Status FetchPage(std::vector<Cell>* out);
  // Moves past the current tablet; sets finished_ when nothing is left.
  void AdvancePastTablet();
  // Caller's thread: asks the helper thread (started on first use) for the
  // next page.
  void StartPrefetch();
  void PrefetchLoop();

  RemoteBackend* const backend_;
  TabletLocator* const locator_;
  RemoteStats* const stats_;
  const ScanPredicate predicate_;
  const ScanOptions options_;

  // Caller's thread.
  Status status_;
  std::vector<Cell> buffer_;
  size_t pos_ = 0;
  bool first_page_ = true;
  bool prefetching_ = false;  // a page was asked of the helper, not yet taken

  // Fetch state: used by whichever thread runs FetchPage; the hand-over
  // through mu_ orders the caller's and the helper's turns.
  bool finished_ = false;
  std::string next_row_;  // first row to scan in the current/next tablet
  bool have_tablet_ = false;
  TabletLocation tablet_;
  ScanPredicate tablet_predicate_;  // predicate_ restricted to the tablet
  std::string token_;
  ScanPageReply reply_;  // the page being fetched (its Cells are reused)
  bool have_last_ = false;
  Cell last_;  // key of the last cell buffered (value not kept)

  // The helper thread and its hand-over.
  std::atomic<bool> closing_{false};  // also read by FetchPage between retries
  std::atomic<uint64_t> prefetched_pages_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;  // guarded by mu_
  bool ready_ = false;      // guarded by mu_
  std::vector<Cell> next_;  // the prefetched page; guarded by mu_ once ready_
  Status next_status_;      // guarded by mu_
  std::thread helper_;
};

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_REMOTE_SCANNER_H_
