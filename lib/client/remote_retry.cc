// Deadlines, backoff and retry classification (see remote_retry.h).
#include "lib/client/remote_retry.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

namespace kdi::client {

RemoteStatsSnapshot RemoteStats::Snapshot() const {
  RemoteStatsSnapshot s;
  s.retries = retries.load();
  s.meta_lookups = meta_lookups.load();
  s.root_lookups = root_lookups.load();
  s.cache_invalidations = cache_invalidations.load();
  s.batches_sent = batches_sent.load();
  s.rows_sent = rows_sent.load();
  s.flushes = flushes.load();
  s.syncs_sent = syncs_sent.load();
  s.scan_pages = scan_pages.load();
  s.scan_restarts = scan_restarts.load();
  return s;
}

int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool IsRetryable(const Status& s) {
  switch (s.code()) {
    case Status::Code::kNotServing:
    case Status::Code::kServiceUnavailable:
    case Status::Code::kNetworkError:
    case Status::Code::kTimedOut:
      return true;
    default:
      return false;
  }
}

bool InvalidatesLocation(const Status& s) {
  // A tabletd answers InvalidArgument for a row outside the tablet's range;
  // the client checks ranges before sending, so such an answer means the
  // tablet's range changed under us (a split).
  if (s.IsInvalidArgument()) {
    const std::string& m = s.message();
    return m.find("outside the tablet's range") != std::string::npos;
  }
  return s.IsNotServing() || s.IsNetworkError() || s.IsServiceUnavailable() ||
         s.IsTimedOut();
}

int64_t Backoff::RpcTimeout(int64_t rpc_timeout_ms) const {
  return std::max<int64_t>(1, std::min(rpc_timeout_ms, remaining_ms()));
}

bool Backoff::Wait() {
  int64_t left = remaining_ms();
  if (left <= 0) return false;
  thread_local std::minstd_rand rng(std::random_device{}());
  int64_t jitter = next_ms_ > 1 ? static_cast<int64_t>(rng() % (next_ms_ / 2 + 1)) : 0;
  int64_t sleep = std::min(left, next_ms_ / 2 + jitter + 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(sleep));
  next_ms_ = std::min(max_ms_, next_ms_ * 2);
  return true;
}

Status Backoff::Expired(const std::string& what, const Status& last) const {
  return Status::TimedOut(what + ": deadline passed while retrying; last error: " +
                          last.ToString());
}

}  // namespace kdi::client
