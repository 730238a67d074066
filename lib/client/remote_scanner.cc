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

RemoteScanner::~RemoteScanner() {
  if (!helper_.joinable()) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    closing_ = true;
  }
  cv_.notify_one();
  helper_.join();
}

bool RemoteScanner::Next(Cell* cell) {
  while (pos_ >= buffer_.size()) {
    if (!status_.ok()) return false;
    // buffer_'s spent Cells hold the strings the caller moved out of them
    // (libstdc++ swaps buffers on move assignment): the next page is decoded
    // into them, so a scan allocates nothing per cell once it runs.
    pos_ = 0;
    if (prefetching_) {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return ready_; });
      ready_ = false;
      prefetching_ = false;
      buffer_.swap(next_);  // next_ now holds the spent page for the helper to reuse
      status_ = std::move(next_status_);
      next_status_ = Status::OK();
    } else {
      // finished_ is the fetch state's: no fetch is in flight here.
      if (finished_) {
        buffer_.clear();
        return false;
      }
      status_ = FetchPage(&buffer_);
    }
    // The first page never prefetches (point reads and short scans stop
    // early); from the second page on, each page overlaps with the next fetch.
    if (!first_page_ && status_.ok() && !finished_ && !buffer_.empty()) StartPrefetch();
    first_page_ = false;
  }
  *cell = std::move(buffer_[pos_++]);
  return true;
}

void RemoteScanner::StartPrefetch() {
  prefetching_ = true;
  {
    std::lock_guard<std::mutex> l(mu_);
    requested_ = true;
  }
  if (!helper_.joinable()) {
    helper_ = std::thread([this] { PrefetchLoop(); });
  } else {
    cv_.notify_one();
  }
}

void RemoteScanner::PrefetchLoop() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [&] { return requested_ || closing_; });
    if (closing_) return;
    requested_ = false;
    std::vector<Cell> page;
    page.swap(next_);  // the caller's spent page (or nothing yet)
    l.unlock();
    Status s = FetchPage(&page);
    prefetched_pages_++;
    l.lock();
    next_.swap(page);
    next_status_ = std::move(s);
    ready_ = true;
    cv_.notify_one();
  }
}

void RemoteScanner::AdvancePastTablet() {
  have_tablet_ = false;
  token_.clear();
  if (tablet_.end_row.empty() ||
      !FirstRowAtOrAfter(predicate_.rows(), tablet_.end_row, &next_row_)) {
    finished_ = true;
  }
}

Status RemoteScanner::FetchPage(std::vector<Cell>* out) {
  // The spent Cells in *out are decoded into (DecodeScanPageReply reuses them).
  reply_.cells.swap(*out);
  out->clear();
  Backoff backoff(MonotonicMs() + options_.op_timeout_ms, options_.initial_backoff_ms,
                  options_.max_backoff_ms);
  Status last;
  while (!finished_ && out->empty()) {
    if (closing_) return Status::Aborted("scan closed");
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
      // Until the scan has a cell, pages are small: short scans (YCSB E reads up to 100
      // rows) and point reads stop early, and a full page costs the server
      // ~2 ms of CPU to read and encode.
      req.max_cells = have_last_ ? options_.page_cells
                                 : std::min(options_.page_cells, kFirstPageCells);
      req.max_bytes = options_.page_bytes;
      s = backend_->ScanPage(tablet_.server, req, timeout, &reply_);
      if (s.ok()) {
        stats_->scan_pages++;
        std::vector<Cell>& cells = reply_.cells;
        // Cells come in cell order: those already returned (before a restart)
        // are a prefix.
        size_t seen = 0;
        while (have_last_ && seen < cells.size() && CompareCellKeys(cells[seen], last_) <= 0) {
          seen++;
        }
        if (seen > 0) cells.erase(cells.begin(), cells.begin() + seen);
        if (!cells.empty()) {
          const Cell& c = cells.back();
          last_.row = c.row;
          last_.column = c.column;
          last_.timestamp = c.timestamp;
          have_last_ = true;
          out->swap(cells);
        }
        token_.swap(reply_.resume_token);
        if (reply_.done) AdvancePastTablet();
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
