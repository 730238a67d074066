// RemoteScanner (see remote_scanner.h).
#include "lib/client/remote_scanner.h"

#include <algorithm>

namespace kdi::client {

bool FirstRowAtOrAfter(const StringIntervalSet& rows, const std::string& from,
                       std::string* out) {
  for (const StringInterval& iv : rows.intervals()) {
    if (iv.upper_unbounded || from < iv.upper) {
      *out = std::max(iv.lower, from);
      return true;
    }
  }
  return false;
}

RemoteScanner::RemoteScanner(RemoteBackend* backend, TabletLocator* locator,
                             RemoteStats* stats, const ScanPredicate& predicate,
                             const ScanOptions& options)
    : backend_(backend),
      locator_(locator),
      stats_(stats),
      predicate_(predicate),
      options_(options) {
  if (predicate_.MatchesNothing() ||
      !FirstRowAtOrAfter(predicate_.rows(), std::string(), &next_row_)) {
    finished_ = true;
  }
}

bool RemoteScanner::Next(Cell* cell) {
  while (pos_ >= buffer_.size()) {
    if (!status_.ok() || finished_) return false;
    buffer_.clear();
    pos_ = 0;
    status_ = FetchPage();
  }
  *cell = std::move(buffer_[pos_++]);
  return true;
}

void RemoteScanner::AdvancePastTablet() {
  have_tablet_ = false;
  token_.clear();
  if (tablet_.end_row.empty() ||
      !FirstRowAtOrAfter(predicate_.rows(), tablet_.end_row, &next_row_)) {
    finished_ = true;
  }
}

Status RemoteScanner::FetchPage() {
  Backoff backoff(MonotonicMs() + options_.op_timeout_ms, options_.initial_backoff_ms,
                  options_.max_backoff_ms);
  Status last;
  while (!finished_ && buffer_.empty()) {
    int64_t timeout = backoff.RpcTimeout(options_.rpc_timeout_ms);
    Status s;
    if (!have_tablet_) {
      s = locator_->Locate(next_row_, timeout, &tablet_);
      if (s.ok()) {
        have_tablet_ = true;
        token_.clear();
        std::string lo = std::max(tablet_.start_row, next_row_);
        StringIntervalSet range = tablet_.end_row.empty()
                                      ? StringIntervalSet::AtLeast(lo)
                                      : StringIntervalSet::Range(lo, tablet_.end_row);
        tablet_predicate_ = predicate_;
        tablet_predicate_.SetRows(predicate_.rows().Intersect(range));
        if (tablet_predicate_.rows().empty()) {
          AdvancePastTablet();
          continue;
        }
      }
    }
    if (s.ok()) {
      ScanPageRequest req;
      req.tablet = TabletRef{tablet_.table, tablet_.tablet_id};
      req.predicate = tablet_predicate_;
      req.resume_token = token_;
      req.max_cells = options_.page_cells;
      req.max_bytes = options_.page_bytes;
      ScanPageReply reply;
      s = backend_->ScanPage(tablet_.server, req, timeout, &reply);
      if (s.ok()) {
        stats_->scan_pages++;
        for (Cell& c : reply.cells) {
          if (have_last_ && CompareCellKeys(c, last_) <= 0) continue;  // seen already
          last_.row = c.row;
          last_.column = c.column;
          last_.timestamp = c.timestamp;
          have_last_ = true;
          buffer_.push_back(std::move(c));
        }
        token_ = std::move(reply.resume_token);
        if (reply.done) AdvancePastTablet();
        continue;
      }
      if (IsRetryable(s) || InvalidatesLocation(s)) {
        locator_->Invalidate(tablet_, s);
        have_tablet_ = false;
        token_.clear();
        if (have_last_) next_row_ = std::max(next_row_, last_.row);
        stats_->scan_restarts++;
        s = s.CloneAndPrepend("scanning tablet " + tablet_.ToString());
      }
    }
    if (!IsRetryable(s) && !InvalidatesLocation(s)) return s;
    last = s;
    stats_->retries++;
    if (!backoff.Wait()) return backoff.Expired("scan", last);
  }
  return Status::OK();
}

}  // namespace kdi::client
