// Tablet: one row range [start_row, end_row) of one table, stored in a directory of
// its own holding a transactional Berkeley DB environment (see
// doc/storage_format.md for the layout and byte grammar).
//
// This is the storage API tabletd serves over the network and local:/mem: tables
// use in-process:
//   - Create/Open a tablet directory (self-contained: metadata with table name, row
//     range and schema lives inside it; any process may open it after the previous
//     owner died, recovery runs on open).
//   - Apply a batch of RowMutations atomically; the batch is written to the
//     tablet's write-ahead log without fsync (survives kill -9 of the process)
//     and applied to the B-tree later, before anyone can read one of its rows;
//     Sync() flushes the write-ahead log to stable storage with group commit.
//   - ApplyIf: check-and-mutate on one row.
//   - ScanPage: evaluate a ScanPredicate inside the storage, one bounded page at a
//     time, resumable with an opaque token.
//   - Compact (GC of versions beyond max_versions / TTL), median row, size,
//     crash-safe Split into two child directories.
//
// Ownership: a Tablet owns its Berkeley DB environment and the directory's LOCK
// file (a second open of the same directory fails with ServiceUnavailable).
//
// Threading: every method is thread-safe. Writers (Apply, ApplyIf, Compact steps)
// are serialized per tablet; scans run concurrently with each other and see
// every row whole: a page is read under a shared lock that excludes commits, and
// pages end on row boundaries (a single row larger than the page limits is the
// exception and is returned in several pages). Sync may run concurrently with
// writers. Blocking: every call may block on disk; call from worker threads.
#ifndef KDI_LIB_STORAGE_TABLET_H_
#define KDI_LIB_STORAGE_TABLET_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/cell.h"
#include "kdi/scan_predicate.h"
#include "kdi/schema.h"
#include "kdi/status.h"
#include "kdi/table.h"
#include "lib/storage/env.h"

namespace kdi::storage {

// What a tablet is: stored in DIR/TABLET. Rows r with start_row <= r < end_row
// belong to it; an empty end_row means +infinity (rows are never empty, so an
// empty start_row is -infinity).
struct TabletMeta {
  std::string table;
  std::string start_row;
  std::string end_row;
  Schema schema;

  bool ContainsRow(std::string_view row) const {
    return row >= start_row && (end_row.empty() || row < end_row);
  }
  // "TABLE[start,end)" for messages.
  std::string Describe() const;
  void EncodeTo(std::string* dst) const;
  static Status DecodeFrom(std::string_view src, TabletMeta* out);
};

struct TabletOptions {
  Env* env = nullptr;  // null: Env::Default()
  // Berkeley DB cache for this tablet's environment: a share of the server budget.
  size_t cache_bytes = 256 * 1024;
  size_t max_value_bytes = kDefaultMaxValueBytes;
  // Size of each Berkeley DB log file.
  uint32_t log_file_bytes = 4 * 1024 * 1024;
  // A checkpoint (every dirty page written) once this much Berkeley DB log
  // accumulated: less often costs recovery time after a crash (replaying
  // that much log), more often rewrites hot pages again and again.
  uint32_t checkpoint_log_bytes = 32 * 1024 * 1024;
  // Acknowledged batches kept in memory (and in the write-ahead log) before
  // they are applied to the B-tree: a write past this applies the oldest until
  // the buffer is a sixteenth below it (backpressure; the drainer does the
  // bulk of the work from three quarters on). Part of the tablet's memory, next to cache_bytes.
  size_t write_buffer_bytes = 4 * 1024 * 1024;
  // Point reads of small rows are served from a cache of their stored pairs
  // (row_cache.h) of at most this many bytes; 0: no cache. Part of the
  // tablet's memory, next to cache_bytes and write_buffer_bytes.
  size_t row_cache_bytes = 0;
  // A write-ahead log segment is started anew past this size.
  uint64_t write_log_segment_bytes = 16 * 1024 * 1024;
  // Clock for TTL evaluation (microseconds since the epoch); null: wall clock.
  int64_t (*now_micros)() = nullptr;
};

struct ScanLimits {
  size_t max_cells = 4096;
  size_t max_bytes = 4 * 1024 * 1024;  // counted as row+column+value+16 per cell
};

struct ScanPageResult {
  std::vector<Cell> cells;
  // Pass back as resume_token to continue after the last cell examined. Opaque,
  // at most a few hundred KiB (it holds one key); valid across reopen and split
  // (it names a key, not a position).
  std::string resume_token;
  bool done = false;  // nothing left in this tablet for the predicate
};

struct CompactStats {
  uint64_t cells_examined = 0;
  uint64_t cells_removed = 0;  // beyond max_versions or TTL
};

class Tablet {
 public:
  // Creates DIR (its parent must exist) holding an empty tablet.
  // AlreadyExists if DIR already holds a tablet.
  static Status Create(const std::string& dir, const TabletMeta& meta,
                       const TabletOptions& options, std::unique_ptr<Tablet>* out);
  // Opens an existing tablet (running recovery). NotFound if there is none,
  // ServiceUnavailable if another handle has it open, Corruption if its files are
  // damaged.
  static Status Open(const std::string& dir, const TabletOptions& options,
                     std::unique_ptr<Tablet>* out);
  // Removes a tablet directory that is not open (e.g. a retired split parent or
  // an abandoned split child).
  static Status Destroy(const std::string& dir, Env* env = nullptr);

  ~Tablet();  // Close(), ignoring errors
  Tablet(const Tablet&) = delete;
  Tablet& operator=(const Tablet&) = delete;

  // Flushes the log, checkpoints and closes the environment. Later calls fail
  // with ServiceUnavailable.
  Status Close();

  const std::string& dir() const { return dir_; }
  TabletMeta meta() const;
  Status SetSchema(const Schema& schema);

  // Applies the whole batch in one transaction (all rows atomic together).
  // Validates everything first: InvalidArgument (nothing applied) for an empty
  // row, too-long row/column, too-big value or unknown family; NotServing if a row
  // is outside the tablet's range or the tablet was split. *revision (optional)
  // receives the commit's revision, which every row of the batch now has.
  Status Apply(const std::vector<RowMutation>& batch, uint64_t* revision);
  Status ApplyIf(const std::vector<Condition>& conditions, const RowMutation& mutation,
                 uint64_t* revision);
  Status GetRowRevision(std::string_view row, uint64_t* revision);
  // As Apply / ApplyIf, but never waits for one of the tablet's locks (held by
  // another write, a scan page, a compaction step, a split or Close): then
  // *busy is set, nothing is applied and the result is OK. For callers that
  // must not block on other threads, such as an RPC I/O thread. The commit
  // itself still writes the log (a buffered write, as every commit does).
  Status TryApply(const std::vector<RowMutation>& batch, uint64_t* revision, bool* busy);
  Status TryApplyIf(const std::vector<Condition>& conditions, const RowMutation& mutation,
                    uint64_t* revision, bool* busy);

  // Returns when every commit acknowledged before the call is on stable storage.
  // Concurrent callers share one log flush.
  Status Sync();
  // As Sync, without blocking: done(status) is called once every commit
  // acknowledged before this call is on stable storage (or the flush failed),
  // from the tablet's syncer thread, or from this thread before SyncAsync
  // returns when nothing is left to flush or the tablet is closed (or closing:
  // ServiceUnavailable). Never blocks on the tablet's long locks. done must
  // be quick (it delays the callbacks after it) and must not call into this
  // tablet. Close calls every callback still waiting before it returns.
  void SyncAsync(std::function<void(Status)> done);

  // OK, or why every write and sync fails until the tablet is closed and
  // opened again (a log write or flush failed: the log may have a hole, and
  // recovery at the next open reads what really is on disk).
  Status WriteHealth() const;

  // The row cache (TabletOptions::row_cache_bytes): point reads it answered
  // and did not, and what it holds now. All zero when it is off.
  struct RowCacheCounters {
    uint64_t hits = 0;
    uint64_t misses = 0;
    size_t rows = 0;
    size_t bytes = 0;
  };
  RowCacheCounters row_cache_counters() const;

  // One page of the scan. resume_token: "" to start, else a token from a previous
  // page of the same predicate. Cells come in cell order, limited to the tablet's
  // range; rows are whole unless one row alone exceeds the limits.
  Status ScanPage(const ScanPredicate& predicate, std::string_view resume_token,
                  const ScanLimits& limits, ScanPageResult* page);
  // As ScanPage, but never waits for one of the tablet's locks (held by a write
  // transaction, a compaction step, a split or Close): then *busy is set and
  // nothing is read. For callers that must not block, such as an RPC I/O thread.
  Status TryScanPage(const ScanPredicate& predicate, std::string_view resume_token,
                     const ScanLimits& limits, ScanPageResult* page, bool* busy);

  // Removes versions beyond max_versions / TTL (a bounded number of cells per
  // transaction so writers are not held up), then checkpoints and removes log
  // files no longer needed.
  Status Compact(CompactStats* stats);
  // Checkpoints the environment and removes unneeded log files.
  Status Checkpoint();

  // Bytes of the cell and row-revision B-trees (pages allocated, including
  // pages not yet written from the cache); log files and the Berkeley DB
  // environment are not counted. This is what automatic splits compare with
  // the threshold.
  Status ApproximateSize(uint64_t* bytes);
  // A row near the middle of the tablet's cells, strictly greater than the first
  // row (so both halves of a split at it are non-empty). NotFound if the tablet
  // has fewer than two rows.
  Status ApproximateMedianRow(std::string* row);

  // Splits into [start, split_row) in left_dir and [split_row, end) in right_dir.
  // Protocol (crash-safe, see doc/storage_format.md): writes are blocked; children
  // are built in "<dir>.splitting" temp directories, synced, then renamed into
  // place. On success this tablet is frozen (writes get NotServing, reads still
  // work) and the caller records the children (META), then closes this tablet and
  // Destroy()s its directory. On error the children are removed and this tablet
  // keeps serving. REQUIRES: start_row < split_row and (end_row empty or
  // split_row < end_row); left_dir and right_dir do not exist.
  // pending_marker (optional): written as each child's PENDING file (see
  // WritePendingMarker) before anything else goes into its directory, so a
  // child whose split is never recorded can be recognised as an orphan.
  Status Split(const std::string& split_row, const std::string& left_dir,
               const std::string& right_dir, const std::string& pending_marker = "");
  bool frozen() const;

  // Removes "*.splitting" leftovers of an interrupted split in data_dir (a
  // directory holding tablet directories). Safe to call at tabletd start.
  static Status CleanupIncompleteSplits(const std::string& data_dir, Env* env = nullptr);

  // The PENDING marker of a directory whose tablet nobody has yet proven to be
  // referenced (a split child before the master recorded it, a migration copy
  // before it was loaded). `contents` is opaque here (tabletd writes the owning
  // server incarnation and operation); Write creates `dir` if needed and is
  // durable; Read gives NotFound when there is none; Clear is durable and OK
  // when there is none.
  static Status WritePendingMarker(const std::string& dir, const std::string& contents,
                                   Env* env = nullptr);
  static Status ReadPendingMarker(const std::string& dir, std::string* contents,
                                  Env* env = nullptr);
  static Status ClearPendingMarker(const std::string& dir, Env* env = nullptr);

  // Internal state (public so the implementation files can name it).
  struct Impl;
  Impl* impl() { return impl_.get(); }

 private:
  explicit Tablet(std::string dir);
  // busy null: waits for the locks; else TryApply's contract.
  Status ApplyInternal(const std::vector<Condition>* conditions,
                       const std::vector<RowMutation>& batch, uint64_t* revision,
                       bool* busy = nullptr);
  std::string dir_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kdi::storage

#endif  // KDI_LIB_STORAGE_TABLET_H_
