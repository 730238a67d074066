// RemoteTable: the kdi:// implementation of kdi::Table (see kdi/table.h for the
// API and remote_options.h for the URI).
//
// Writes are buffered: Set/Erase/Insert/Apply/ApplyBatch validate their input
// (InvalidArgument at once, nothing buffered), append to a bounded buffer and
// return. The buffer is flushed -- grouped per tablet and per tabletd, sent in
// parallel to different servers (mutation_buffer.h) -- when it holds
// write_buffer_bytes (by the writing thread, which so feels backpressure),
// when its oldest mutation is flush_interval_ms old (by a background thread),
// and before Sync, Scan, ApplyIf, GetRowRevision and Close. So, unlike a
// local: table, a kdi:// Apply returns before the cluster acknowledged it; an
// error of a background flush is returned by the next call that writes,
// flushes or syncs on the handle; the error of a flush made by a writing
// thread is returned to it and also to the next Sync of any thread (the failed
// batch may have held other threads' writes).
//
// Flushes of different threads run concurrently, at most two at a time (no
// flush holds a lock across its RPCs; writes made while both are in flight
// leave together in the next one). Order: mutations of one row reach the server in the order they
// were applied to the handle -- a flush holding a row that an earlier flush
// still has in flight waits for that flush before sending anything.
//
// Sync() flushes, waits until every write applied to the handle (by any
// thread) before the call is acknowledged, and then until every tablet
// written through this handle has made those writes durable: per tablet, a
// Sync RPC that was *sent after* the write was acknowledged must complete.
// When the calling thread's own writes are still in the buffer, its flush
// carries the Sync: the last Apply RPC of each tablet is an ApplyWithFlags
// with the sync flag (table_protocol.h), whose reply says the batch and every
// write the tablet acknowledged before it are durable -- one RPC per synced
// write instead of an Apply and a Sync. Such an RPC counts, for every Sync
// (of any thread), as a Sync RPC sent after the writes acknowledged before
// it was sent; writes acknowledged while it was in flight still need a
// later one. Against a server without ApplyWithFlags the backend falls back
// to a plain Apply and a Sync RPC follows as before.
// Concurrent Syncs share RPCs (group commit in the client): a thread whose
// writes a Sync RPC already in flight covers waits for that RPC (at most
// sync_join_wait_ms, then it sends its own) and gets its result -- a failed
// RPC fails every Sync waiting on it; a thread whose writes came later waits
// for the RPC in flight to end, then one of the waiting threads sends the
// next RPC for all of them. A Sync never returns OK on an RPC sent before its
// writes were acknowledged.
//
// Reads (Scan, GetRowRevision) and ApplyIf see the calling thread's own
// earlier writes to this handle (read-your-writes per thread and handle):
// they flush only if a write of the calling thread is still buffered or in
// flight, and then wait only for it (and the rows ordered before it), not
// for other threads' batches. Another thread's write that is still buffered
// may not be visible; a Sync (or Flush) in that thread makes it visible to
// reads that start after it returns.
//
// Retries: every call has a deadline (op_timeout_ms). NotServing, a server
// that cannot be reached and the like drop the cached location and the call
// is retried with backoff (remote_retry.h) until the deadline; the
// application sees no error when the tablet is found again (after a move,
// split or failover). ApplyIf is retried only when the server certainly did
// not apply it (NotServing, ServiceUnavailable); after a lost reply it fails
// with the transport error (outcome unknown). GetStats() counts the retries.
//
// Thread safety: thread-safe (Table contract). One mutex (mu_) guards the
// buffer, the in-flight flushes and the per-tablet sync state; it is never
// held across an RPC. CellStreams returned by Scan must be destroyed before
// the RemoteTable.
#ifndef KDI_LIB_CLIENT_REMOTE_TABLE_H_
#define KDI_LIB_CLIENT_REMOTE_TABLE_H_

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "kdi/table.h"
#include "lib/client/mutation_buffer.h"
#include "lib/util/one_shot_event.h"
#include "lib/client/remote_backend.h"
#include "lib/client/remote_options.h"
#include "lib/client/remote_retry.h"
#include "lib/client/remote_scanner.h"
#include "lib/client/tablet_locator.h"

namespace kdi::client {

class RemoteTable : public Table {
 public:
  // Opens a kdi:// URI: connects to the cluster's lockd and reads the table's
  // schema (NotFound if the table does not exist).
  static Status Open(const std::string& uri, const TableOptions& table_options,
                     std::unique_ptr<Table>* out);
  // Opens `options.table` through an existing backend (tests, tools).
  static Status OpenWithBackend(std::shared_ptr<RemoteBackend> backend,
                                const RemoteTableOptions& options,
                                std::unique_ptr<RemoteTable>* out);

  ~RemoteTable() override;

  Status ApplyBatch(const std::vector<RowMutation>& batch) override;
  Status ApplyIf(const std::vector<Condition>& conditions, const RowMutation& mutation,
                 uint64_t* revision) override;
  Status GetRowRevision(std::string_view row, uint64_t* revision) override;
  Status Sync() override;
  using Table::Scan;
  Status Scan(const ScanPredicate& predicate, std::unique_ptr<CellStream>* out) override;
  Status GetSchema(Schema* schema) override;
  TableStats GetStats() const override { return stats_.Snapshot(); }
  Status Close() override;

  // Sends everything buffered and waits until every write applied before the
  // call (by any thread) is acknowledged or failed (not for durability).
  // Returns the error of this call's own batch.
  Status Flush();

  // How long a Sync waits for another thread's Sync RPC that covers its
  // writes before it sends its own (default 100 ms). For tests.
  void SetSyncJoinWaitMsForTesting(int64_t ms);

  RemoteStatsSnapshot stats() const { return stats_.Snapshot(); }
  const RemoteTableOptions& options() const { return options_; }
  LocationCache* location_cache() { return locator_.cache(); }

 private:
  RemoteTable(std::shared_ptr<RemoteBackend> backend, const RemoteTableOptions& options,
              const Schema& schema);

  Status Validate(const RowMutation& m);
  Status CheckOpen();
  Backoff NewBackoff() const;
  Status SyncTablet(const TabletLocation& loc, Backoff* backoff);
  // Takes the whole buffer and sends it, after every earlier flush holding
  // one of its rows has finished (row order). background: the flusher
  // thread's flush, whose error is kept for the next write, flush or Sync
  // (async_error_); otherwise the error also goes to the next Sync
  // (flush_error_). OK at once when the buffer is empty.
  // sync: the flush carries a Sync (see the header comment).
  Status SendBuffer(bool background, bool sync = false);
  // At most this many flushes in flight (see SendBuffer); a flush that carries
  // a Sync may also take the slots up to kMaxSyncFlushesInFlight (see
  // SyncFlush).
  static constexpr size_t kMaxFlushesInFlight = 2;
  static constexpr size_t kMaxSyncFlushesInFlight = 4;
  // REQUIRES: l locked, buffer not empty, a slot free. Takes the buffer and
  // sends it (sync: carrying the Sync); returns with l unlocked, after
  // waking the flush waiters that are ready.
  Status TakeAndSend(std::unique_lock<std::mutex>* l, bool background, bool sync);
  // Sync's flush: until every write numbered <= target is acknowledged, the
  // calling thread takes the buffer when a slot is free, else waits as a
  // FlushWaiter. Returns the error of the flushes it sent.
  // REQUIRES: *l holds mu_ (held again on return).
  Status SyncFlush(uint64_t target, std::unique_lock<std::mutex>* l);
  // A thread in SyncFlush. It sleeps on its own event (without mu_) and is
  // woken once, by the thread whose flush completion makes it ready: with
  // writes numbered <= target still buffered, when a slot is free (one
  // waiter per free slot: it takes the buffer for everybody); else when
  // every write numbered <= target is acknowledged. (On a shared condition
  // variable every flush completion woke every waiting thread.)
  struct FlushWaiter {
    OneShotEvent woken;  // a futex word, not a condition variable: see lib/util/one_shot_event.h
    uint64_t target = 0;
  };
  // REQUIRES: mu_. Moves the waiters that are ready to *ready (to be
  // notified after mu_ is released: a waiter is held by shared_ptr, so it
  // may return before the notification).
  void TakeReadyWaiters(std::vector<std::shared_ptr<FlushWaiter>>* ready);
  // REQUIRES: l holds mu_. Waits until no flush in flight holds a write
  // numbered <= seq (seq <= taken_seq_).
  void WaitAcknowledged(uint64_t seq, std::unique_lock<std::mutex>* l);
  // Flushes and waits for the calling thread's own unacknowledged writes
  // (read-your-writes before a read or a conditional apply).
  Status FlushOwnWrites();
  // Makes the writes to tablet `key` numbered <= target durable, sharing
  // Sync RPCs with concurrent callers (see the header comment).
  Status SyncCoalesced(const std::string& key, uint64_t target, Backoff* backoff);
  void FlusherLoop();

  const std::shared_ptr<RemoteBackend> backend_;
  const RemoteTableOptions options_;
  RemoteStats stats_;
  TabletLocator locator_;
  BatchSender sender_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // flusher thread wake-ups
  std::condition_variable done_cv_;  // a flush finished (inflight_ changed)
  // A shared Sync RPC finished (a Written's sync_gen changed). Apart from
  // done_cv_ so that flush completions do not wake every thread waiting on a
  // Sync, nor Sync completions every thread waiting on a flush: with 16
  // threads doing write + Sync, one wait set cost ~17 futex calls per synced
  // write in the client.
  std::condition_variable sync_cv_;
  Schema schema_;              // GUARDED_BY(mu_)
  MutationBuffer buffer_;      // GUARDED_BY(mu_)
  // Every buffered mutation gets a number: writes numbered <= taken_seq_ have
  // left the buffer (some may be in flight), the newest is added_seq_.
  uint64_t added_seq_ = 0;     // GUARDED_BY(mu_)
  uint64_t taken_seq_ = 0;     // GUARDED_BY(mu_)
  // Flushes in flight by the first write number they hold.
  struct Flight {
    uint64_t last = 0;                     // the last write number it holds
    std::vector<std::thread::id> threads;  // whose writes it holds
  };
  std::map<uint64_t, Flight> inflight_;  // GUARDED_BY(mu_)
  // Rows held by flushes in flight -> the newest flush (its first number).
  std::unordered_map<std::string, uint64_t> row_flush_;  // GUARDED_BY(mu_)
  std::vector<std::shared_ptr<FlushWaiter>> flush_waiters_;  // GUARDED_BY(mu_), FIFO
  // Threads that wrote into the buffer since it was last taken.
  std::vector<std::thread::id> buffer_threads_;  // GUARDED_BY(mu_)
  // Flushes in flight holding writes of a thread (by their first number).
  std::map<std::thread::id, std::set<uint64_t>> thread_flushes_;  // GUARDED_BY(mu_)
  // A tablet written through this handle: its last write and the newest write
  // a completed Sync RPC covers, as numbers of write_seq_, and the Sync RPC
  // in flight (if any) that coalesced Syncs wait for.
  struct Written {
    TabletLocation loc;
    uint64_t written = 0;
    uint64_t synced = 0;
    bool sync_inflight = false;
    uint64_t inflight_covers = 0;  // written when the RPC in flight was sent
    uint64_t sync_gen = 0;         // Sync RPCs of this tablet completed
    Status last_error;             // of the last Sync RPC that failed
    int waiters = 0;               // threads inside SyncCoalesced for it
  };
  // REQUIRES: mu_. Records writes acknowledged by the tablets in `touched`;
  // those in `durable` (optional) were made durable by a sync Apply RPC.
  void NoteWritten(const TouchedTablets& touched,
                   const std::map<std::string, uint64_t>* durable = nullptr);
  Status flush_error_;  // GUARDED_BY(mu_): of a foreground flush since the last Sync
  std::map<std::string, Written> written_;  // GUARDED_BY(mu_): not yet synced
  // Numbers acknowledgements and sync Apply RPCs (taken without mu_ by
  // BatchSender just before such an RPC is sent: see SyncApplies). Written
  // and synced above are numbers of this sequence; a write acknowledged with
  // a number below a durable sync Apply's number was acknowledged before
  // that RPC was sent, hence covered by it.
  std::atomic<uint64_t> write_seq_{0};
  int64_t sync_join_wait_ms_ = 100;         // GUARDED_BY(mu_)
  Status async_error_;         // GUARDED_BY(mu_): from a background flush
  bool closed_ = false;        // GUARDED_BY(mu_)
  bool stop_flusher_ = false;  // GUARDED_BY(mu_)
  std::thread flusher_;
};

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_REMOTE_TABLE_H_
