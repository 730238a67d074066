// Internal state of a Tablet, shared by tablet.cc (lifecycle, writes, sync),
// tablet_scan.cc (the scan engine) and tablet_split.cc (compaction, median, split).
//
// Lock order (acquire in this order, release in reverse):
//   life_mu (shared for every call, exclusive for Close)
//   -> write_mu (serializes writers, split and compaction)
//   -> apply_mu (serializes drains: applying buffered batches to the B-tree;
//      the drainer and readers of pending rows take it without write_mu)
//   -> rw_mu (shared while reading a scan page; exclusive while a write
//      transaction is open, so a reader never sees part of a commit)
//   -> meta_mu (short, guards meta), sync_mu (short, group commit state),
//      err_mu (last Berkeley DB message).
// Berkeley DB's own locks are taken only under these, and writers are serialized,
// so Berkeley DB lock waits and deadlocks cannot happen between our threads.
#ifndef KDI_LIB_STORAGE_TABLET_IMPL_H_
#define KDI_LIB_STORAGE_TABLET_IMPL_H_

#include <db.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lib/storage/bulk_cursor.h"
#include "lib/storage/row_cache.h"
#include "lib/storage/row_overlay.h"
#include "lib/storage/tablet.h"
#include "lib/storage/write_buffer.h"
#include "lib/storage/write_log.h"

namespace kdi::storage {

// File names inside a tablet directory.
constexpr char kMetaFile[] = "TABLET";
constexpr char kLockFile[] = "LOCK";
constexpr char kCellsDb[] = "cells.db";
constexpr char kRowsDb[] = "rows.db";
constexpr char kPendingFile[] = "PENDING";
constexpr char kSplittingSuffix[] = ".splitting";
constexpr char kRetiredSuffix[] = ".retired";

// rows.db keys: 'r' + row -> fixed64 revision; "s" -> fixed64 last revision.
constexpr char kRowRevPrefix = 'r';
constexpr char kLastRevisionKey[] = "s";

// A resumable scan position: the last key examined and, for its column, how many
// versions existed before it and how many passed the time filter.
struct ScanCursorState {
  std::string key;
  uint64_t existing = 0;
  uint64_t matched = 0;
  void EncodeTo(std::string* dst) const;
  bool DecodeFrom(std::string_view src);
};

struct Tablet::Impl {
  std::string dir;
  TabletOptions options;
  Env* env = nullptr;
  std::unique_ptr<FileLock> lock;

  DB_ENV* dbenv = nullptr;
  DB* cells = nullptr;
  DB* rows = nullptr;

  std::shared_mutex life_mu;
  bool closed = false;  // GUARDED_BY(life_mu)

  std::mutex write_mu;
  uint64_t last_revision = 0;  // GUARDED_BY(write_mu): last revision handed out
  // The write path (doc/storage_format.md, "Writes"): a batch is appended to the
  // write-ahead log and queued in `buffer`; it is applied to the B-tree later
  // (DrainStep), before any reader could see one of its rows, and at the latest
  // when the buffer holds more than options.write_buffer_bytes.
  std::unique_ptr<WriteLog> wal;  // appended under write_mu; Sync concurrently
  WriteBuffer buffer;
  std::mutex apply_mu;  // held by the drain transaction (DrainStep)
  // Newest batch in the B-tree; written under apply_mu.
  std::atomic<uint64_t> applied_revision{0};
  uint64_t old_segments_revision = 0; // GUARDED_BY(write_mu): newest batch in a
                                      // segment older than the current one
  // The drainer: a thread of the tablet that applies the buffer in the
  // background, when it passes three quarters of write_buffer_bytes (down to a
  // quarter) and when no write came for kIdleDrainMs (all of it). Started by
  // the first write that needs it; it ends after a second with nothing to do.
  std::mutex drain_mu;
  std::condition_variable drain_cv;
  bool drain_stop = false;           // GUARDED_BY(drain_mu)
  bool drain_kick = false;           // GUARDED_BY(drain_mu)
  bool drainer_running = false;      // GUARDED_BY(drain_mu)
  std::thread drainer;               // started and joined under write_mu or by Close
  std::atomic<int64_t> last_write_ms{0};
  // After a write appended: starts or wakes the drainer when needed. Caller
  // holds write_mu.
  void NoteWrite();
  // Starts the drainer if it is not running; kick: wake it for a round now;
  // all: that round applies the whole buffer. Any thread (under life_mu).
  void KickDrainer(bool kick, bool all);
  bool drain_all = false;  // GUARDED_BY(drain_mu)
  void DrainerLoop();
  void StopDrainer();
  uint32_t drains_since_ckp_check = 0;  // GUARDED_BY(drain_mu)
  int64_t last_ckp_check_ms = 0;        // GUARDED_BY(drain_mu)
  // The checkpointer: a short-lived thread the drainer starts to run
  // MaybeCheckpoint (at most one at a time), so that draining goes on while a
  // checkpoint writes pages. Joined by the drainer (before the next) and
  // StopDrainer.
  bool checkpointing = false;  // GUARDED_BY(drain_mu)
  std::thread checkpointer;    // touched by the drainer thread and StopDrainer only
  // From the drainer: starts the checkpointer when a check is due.
  void RequestCheckpoint();
  std::atomic<bool> frozen{false};

  std::shared_mutex rw_mu;
  // Bumped (under rw_mu exclusively) by a change of the B-tree that does not
  // erase its rows from the row cache (a compaction step): the cache's
  // entries of an older generation are stale. Drains erase their rows instead.
  uint64_t btree_generation = 0;  // GUARDED_BY(rw_mu)
  std::unique_ptr<RowCache> row_cache;  // null: options.row_cache_bytes == 0
  // The row cache's entry of a point read's row (filling it from the B-tree
  // through cursor on a miss); null when the cache is off. Caller holds
  // rw_mu (shared or exclusive).
  std::shared_ptr<const RowCache::Entry> CachedRow(std::string_view row, BulkCursor* cursor,
                                                   Status* error);

  mutable std::mutex meta_mu;
  TabletMeta meta;  // GUARDED_BY(meta_mu)

  // Group commit: commits counts acknowledged commits; synced is the count known
  // to be on stable storage; one thread flushes at a time.
  std::mutex sync_mu;
  std::condition_variable sync_cv;
  uint64_t commits = 0;  // GUARDED_BY(sync_mu)
  uint64_t synced = 0;   // GUARDED_BY(sync_mu)
  bool flushing = false;  // GUARDED_BY(sync_mu)
  // Writers between the start of Apply/ApplyIf and its end; a Sync about to
  // flush waits briefly for those (gathering) so that one flush covers them.
  uint64_t applying = 0;        // GUARDED_BY(sync_mu)
  bool gathering = false;       // GUARDED_BY(sync_mu)
  std::condition_variable gather_cv;
  // The syncer: a thread of the tablet that flushes for SyncAsync callers and
  // calls their callbacks. Started by the first waiter; it ends after a second
  // with none; Close stops it (after it has served every waiter).
  struct SyncWaiter {
    uint64_t target;  // commits to cover
    std::function<void(Status)> done;
  };
  std::deque<SyncWaiter> sync_waiters;  // GUARDED_BY(sync_mu)
  std::condition_variable syncer_cv;
  bool syncer_running = false;  // GUARDED_BY(sync_mu)
  bool syncer_stop = false;     // GUARDED_BY(sync_mu)
  std::thread syncer;           // GUARDED_BY(sync_mu)
  void SyncerLoop();
  void StopSyncer();
  // One log flush covering every commit so far, after waiting briefly for
  // the writers inside Apply (gathering). Caller holds *l (sync_mu) and no
  // flush is running; returns with *l held, synced advanced (or poisoned set).
  Status FlushLocked(std::unique_lock<std::mutex>* l);
  // Removes the waiters the flushes so far cover (every waiter, when the
  // tablet is poisoned) and returns their callbacks with the status to call
  // them with. Caller holds sync_mu and calls them after releasing it.
  std::vector<std::pair<std::function<void(Status)>, Status>> TakeCoveredWaiters();
  // Set when a log flush failed inside Berkeley DB (the kernel may have dropped
  // the unflushed log pages, so a later "successful" fsync proves nothing) or a
  // commit failed on a log write (the log may have a hole). Every write and
  // sync then fails until the tablet is reopened (recovery reads what really
  // is on disk).
  Status poisoned;  // GUARDED_BY(sync_mu)

  Status Poisoned() {
    std::lock_guard<std::mutex> l(sync_mu);
    return poisoned;
  }
  void Poison(const Status& why) {
    std::lock_guard<std::mutex> l(sync_mu);
    if (poisoned.ok()) {
      poisoned = why.CloneAndPrepend("tablet refuses writes until reopened after");
    }
    sync_cv.notify_all();
  }

  std::mutex err_mu;
  std::string last_error;  // GUARDED_BY(err_mu): last Berkeley DB message

  int64_t Now() const;
  TabletMeta MetaCopy() const {
    std::lock_guard<std::mutex> l(meta_mu);
    return meta;
  }
  // Maps a Berkeley DB return code to a Status naming the tablet and operation.
  // A Corruption (damaged page, panicked environment) also poisons the tablet.
  Status BdbError(int rc, const std::string& op);
  Status MapBdbError(int rc, const std::string& op);

  // The scan engine; caller holds rw_mu (shared or exclusive) and life_mu.
  // with_pending: a one-row read also sees the row's pending batches, laid
  // over the B-tree (PendingRow); other reads ignore it.
  Status ScanLocked(const ScanPredicate& predicate, std::string_view resume_token,
                    const ScanLimits& limits, const TabletMeta& meta, ScanPageResult* page,
                    bool with_pending = false);
  // The pending state of row (see row_overlay.h), if a pending batch touches
  // it. Caller holds rw_mu (shared), which keeps the batches pending.
  std::optional<RowOverlay> PendingRow(std::string_view row) const;
  // Building an overlay costs every pending operation of the row. A read of a
  // row with more pending batches than kHotRowBatches asks the drainer to
  // apply the whole buffer (in the background); past kMaxOverlayBatches the
  // reader applies it first itself.
  static constexpr size_t kHotRowBatches = 32;
  static constexpr size_t kMaxOverlayBatches = 128;
  // Before reading row: whether to lay its pending batches over the B-tree
  // (true) or apply the buffer first (false); kicks the drainer for a hot row.
  bool OverlayRow(std::string_view row);
  // Cells of one row matching `predicate` (limited), for conditions; pending
  // batches of the row included (without applying them).
  Status ReadRowLocked(std::string_view row, const ScanPredicate& predicate, size_t max_cells,
                       const TabletMeta& meta, std::vector<Cell>* cells);
  Status EvaluateCondition(const Condition& c, std::string_view row, const TabletMeta& meta,
                           bool* holds, std::string* why);
  Status CheckpointLocked();

  // Applies the oldest pending batches (those with revision <= up_to, at most
  // one chunk) to the B-tree in one transaction. Caller holds life_mu
  // (shared), with or without write_mu (writers append meanwhile); takes
  // apply_mu, then rw_mu exclusively for the transaction. try_only: never
  // waits for either (then *busy is set and nothing is done). May apply
  // nothing when another drain got there first: callers loop.
  Status DrainStep(uint64_t up_to, bool try_only, bool* busy);
  // DrainStep until no pending batch has revision <= up_to. Caller holds
  // life_mu (shared). try_only: for a caller that must not block (an RPC I/O
  // thread): *busy is set, leaving the rest pending, when a step would wait
  // for a lock or more than a few batches are pending.
  Status DrainUpTo(uint64_t up_to, bool try_only = false, bool* busy = nullptr);
  // DrainStep until the buffer holds at most keep_bytes. Caller holds
  // life_mu (shared), not write_mu.
  Status DrainDownTo(size_t keep_bytes);
  // Makes the B-tree's log durable and deletes write-ahead log segments whose
  // batches are all applied (rolling the current one first when it is big
  // and all applied). Caller holds write_mu through *w, which is released
  // during the log flush (writers go on).
  Status RetireLog(std::unique_lock<std::mutex>* w);
  // A Berkeley DB checkpoint when options.checkpoint_log_bytes of log
  // accumulated. Caller holds life_mu, not write_mu.
  Status MaybeCheckpoint();
  // Before a read of `rows`: applies the pending batches if one of them
  // touches a row read (without write_mu: writers are not held up). Caller
  // holds life_mu (shared), not write_mu.
  // try_only: never waits for a lock; *busy set when it would have to.
  Status DrainForRead(const StringIntervalSet& rows, bool try_only, bool* busy);
};

// Takes *lock (constructed with std::defer_lock): waits for it, or with
// try_only only tries; false when the try failed.
template <class Lock>
bool LockOrTry(Lock* lock, bool try_only) {
  if (!try_only) {
    lock->lock();
    return true;
  }
  return lock->try_lock();
}

// Versions of a family with max_age_seconds whose timestamp is below the cutoff
// are expired (TTL); saturating, so any clock and age are safe.
inline int64_t ExpiryCutoff(int64_t now, int64_t max_age_seconds) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (max_age_seconds <= 0) return kMin;
  int64_t age_us = max_age_seconds > kMax / 1000000 ? kMax : max_age_seconds * 1000000;
  if (now < kMin + age_us) return kMin;
  return now - age_us;
}

// DBT helpers.
inline DBT MakeDbt(std::string_view s) {
  DBT d;
  memset(&d, 0, sizeof(d));
  d.data = const_cast<char*>(s.data());
  d.size = static_cast<u_int32_t>(s.size());
  return d;
}
inline DBT MakeMallocDbt() {
  DBT d;
  memset(&d, 0, sizeof(d));
  d.flags = DB_DBT_REALLOC;
  return d;
}
inline std::string_view DbtView(const DBT& d) {
  return std::string_view(static_cast<const char*>(d.data), d.size);
}

// Owns a cursor; closes it on destruction.
class CursorCloser {
 public:
  explicit CursorCloser(DBC* c) : c_(c) {}
  ~CursorCloser() {
    if (c_ != nullptr) c_->close(c_);
  }
  DBC* get() const { return c_; }

 private:
  DBC* c_;
};

// Frees DB_DBT_REALLOC memory on destruction.
class DbtHolder {
 public:
  DbtHolder() : d_(MakeMallocDbt()) {}
  ~DbtHolder() { free(d_.data); }
  DBT* get() { return &d_; }
  std::string_view view() const { return DbtView(d_); }

 private:
  DBT d_;
};

}  // namespace kdi::storage

#endif  // KDI_LIB_STORAGE_TABLET_IMPL_H_
