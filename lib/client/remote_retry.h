// Deadlines, backoff and the retry classification shared by the kdi:// client.
//
// Every public call of a kdi:// table has a deadline (RemoteTableOptions::
// op_timeout_ms from the call's start). Inside it, a failure that says "ask
// again, maybe elsewhere" is retried after a backoff that doubles from
// initial_backoff_ms up to max_backoff_ms, with jitter; the last error is
// returned (as TimedOut naming it) when the deadline passes.
//
// RemoteStats counts what the client did so that tests and operators can see
// retries that the application never noticed (Table::GetStats). Counters are
// atomics: any thread.
#ifndef KDI_LIB_CLIENT_REMOTE_RETRY_H_
#define KDI_LIB_CLIENT_REMOTE_RETRY_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "kdi/status.h"
#include "kdi/table.h"

namespace kdi::client {

// The public counters (kdi/table.h TableStats) are what RemoteStats snapshots.
using RemoteStatsSnapshot = TableStats;

struct RemoteStats {
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> meta_lookups{0};
  std::atomic<uint64_t> root_lookups{0};
  std::atomic<uint64_t> cache_invalidations{0};
  std::atomic<uint64_t> batches_sent{0};
  std::atomic<uint64_t> rows_sent{0};
  std::atomic<uint64_t> flushes{0};
  std::atomic<uint64_t> syncs_sent{0};
  std::atomic<uint64_t> scan_pages{0};
  std::atomic<uint64_t> scan_restarts{0};

  RemoteStatsSnapshot Snapshot() const;
};

// Milliseconds on a monotonic clock.
int64_t MonotonicMs();

// True for errors after which the same request may succeed later or at another
// server: NotServing, ServiceUnavailable, NetworkError, TimedOut (of one RPC).
bool IsRetryable(const Status& s);
// True for errors that mean our idea of where the tablet lives is stale.
bool InvalidatesLocation(const Status& s);

class Backoff {
 public:
  Backoff(int64_t deadline_ms, int64_t initial_ms, int64_t max_ms)
      : deadline_ms_(deadline_ms), next_ms_(initial_ms), max_ms_(max_ms) {}

  // Milliseconds left before the deadline (<= 0: passed).
  int64_t remaining_ms() const { return deadline_ms_ - MonotonicMs(); }
  // Timeout for one RPC: min(rpc_timeout_ms, remaining), at least 1.
  int64_t RpcTimeout(int64_t rpc_timeout_ms) const;
  // Sleeps for the next backoff interval (never past the deadline) and returns
  // true, or returns false at once if the deadline has passed.
  bool Wait();
  // TimedOut naming what was tried and the last error seen.
  Status Expired(const std::string& what, const Status& last) const;

 private:
  int64_t deadline_ms_;
  int64_t next_ms_;
  int64_t max_ms_;
};

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_REMOTE_RETRY_H_
