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
// batch may have held other threads' writes). Sync() flushes and then waits until every tablet written
// through this handle has made its log durable: each tablet written since it
// was last synced gets a Sync RPC sent after the write was acknowledged, so a
// Sync never relies on another thread's Sync still in flight.
//
// Retries: every call has a deadline (op_timeout_ms). NotServing, a server
// that cannot be reached and the like drop the cached location and the call
// is retried with backoff (remote_retry.h) until the deadline; the
// application sees no error when the tablet is found again (after a move,
// split or failover). ApplyIf is retried only when the server certainly did
// not apply it (NotServing, ServiceUnavailable); after a lost reply it fails
// with the transport error (outcome unknown). GetStats() counts the retries.
//
// Thread safety: thread-safe (Table contract). One mutex guards the buffer;
// flushes are serialized by a second one so that mutations of one row reach
// the server in the order they were applied. Lock order: flush_mu_, then mu_.
// CellStreams returned by Scan must be destroyed before the RemoteTable.
#ifndef KDI_LIB_CLIENT_REMOTE_TABLE_H_
#define KDI_LIB_CLIENT_REMOTE_TABLE_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kdi/table.h"
#include "lib/client/mutation_buffer.h"
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

  // Sends everything buffered (without waiting for durability).
  Status Flush();

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
  // Sends the buffer. background: the flusher thread's flush, whose error is
  // kept for the next write, flush or Sync (async_error_).
  Status FlushBuffer(bool background);
  void FlusherLoop();

  const std::shared_ptr<RemoteBackend> backend_;
  const RemoteTableOptions options_;
  RemoteStats stats_;
  TabletLocator locator_;
  BatchSender sender_;

  std::mutex flush_mu_;  // serializes flushes; acquired before mu_

  mutable std::mutex mu_;
  std::condition_variable cv_;
  Schema schema_;              // GUARDED_BY(mu_)
  MutationBuffer buffer_;      // GUARDED_BY(mu_)
  // A tablet written through this handle: its last write and the newest write
  // a completed Sync RPC covers, as numbers of write_seq_.
  struct Written {
    TabletLocation loc;
    uint64_t written = 0;
    uint64_t synced = 0;
  };
  // REQUIRES: mu_. Records writes acknowledged by the tablets in `touched`.
  void NoteWritten(const TouchedTablets& touched);
  Status flush_error_;  // GUARDED_BY(mu_): of a foreground flush since the last Sync
  std::map<std::string, Written> written_;  // GUARDED_BY(mu_): not yet synced
  uint64_t write_seq_ = 0;                  // GUARDED_BY(mu_)
  Status async_error_;         // GUARDED_BY(mu_): from a background flush
  bool closed_ = false;        // GUARDED_BY(mu_)
  bool stop_flusher_ = false;  // GUARDED_BY(mu_)
  std::thread flusher_;
};

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_REMOTE_TABLE_H_
