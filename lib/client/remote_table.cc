// RemoteTable: the kdi:// Table (see remote_table.h).
#include "lib/client/remote_table.h"

#include <algorithm>
#include <chrono>


namespace kdi::client {
namespace {

SendOptions MakeSendOptions(const RemoteTableOptions& o) {
  SendOptions s;
  s.rpc_timeout_ms = o.rpc_timeout_ms;
  s.max_batch_bytes = o.max_batch_bytes;
  s.initial_backoff_ms = o.initial_backoff_ms;
  s.max_backoff_ms = o.max_backoff_ms;
  return s;
}

}  // namespace

Status RemoteTable::OpenWithBackend(std::shared_ptr<RemoteBackend> backend,
                                    const RemoteTableOptions& options,
                                    std::unique_ptr<RemoteTable>* out) {
  Schema schema;
  Backoff backoff(MonotonicMs() + options.op_timeout_ms, options.initial_backoff_ms,
                  options.max_backoff_ms);
  for (;;) {
    Status s = backend->ReadSchema(options.table, &schema,
                                   backoff.RpcTimeout(options.rpc_timeout_ms));
    if (s.ok()) break;
    if (s.IsNotFound()) return Status::NotFound("no such table: " + options.table);
    if (!IsRetryable(s) || !backoff.Wait()) {
      return s.CloneAndPrepend("reading the schema of " + options.table);
    }
  }
  out->reset(new RemoteTable(std::move(backend), options, schema));
  return Status::OK();
}

RemoteTable::RemoteTable(std::shared_ptr<RemoteBackend> backend,
                         const RemoteTableOptions& options, const Schema& schema)
    : backend_(std::move(backend)),
      options_(options),
      locator_(backend_.get(), options.table, &stats_),
      sender_(backend_.get(), &locator_, &stats_, MakeSendOptions(options)),
      schema_(schema) {
  if (options_.flush_interval_ms > 0) flusher_ = std::thread([this] { FlusherLoop(); });
}

RemoteTable::~RemoteTable() {
  Status s = Close();
  (void)s;
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_flusher_ = true;
  }
  cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
}

Backoff RemoteTable::NewBackoff() const {
  return Backoff(MonotonicMs() + options_.op_timeout_ms, options_.initial_backoff_ms,
                 options_.max_backoff_ms);
}

Status RemoteTable::CheckOpen() {
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return Status::ServiceUnavailable("table " + options_.table + " is closed");
  return Status::OK();
}

Status RemoteTable::Validate(const RowMutation& m) {
  if (m.row().empty()) return Status::InvalidArgument("empty row");
  if (m.row().size() > kMaxRowBytes) {
    return Status::InvalidArgument("row longer than " + std::to_string(kMaxRowBytes) + " bytes");
  }
  for (const Mutation& mu : m.mutations()) {
    if (mu.type == Mutation::Type::kEraseRow) continue;
    if (mu.column.size() > kMaxColumnBytes) {
      return Status::InvalidArgument("column longer than " + std::to_string(kMaxColumnBytes) +
                                     " bytes");
    }
    if (mu.value.size() > kDefaultMaxValueBytes) {
      return Status::InvalidArgument("value larger than " +
                                     std::to_string(kDefaultMaxValueBytes) + " bytes");
    }
    std::string_view family = ColumnFamily(mu.column);
    bool known;
    {
      std::lock_guard<std::mutex> l(mu_);
      known = schema_.FindFamily(family) != nullptr;
    }
    if (!known) {
      // The schema may have been altered since we read it: read it again once.
      Schema fresh;
      Status s = backend_->ReadSchema(options_.table, &fresh, options_.rpc_timeout_ms);
      if (s.ok()) {
        std::lock_guard<std::mutex> l(mu_);
        schema_ = fresh;
        known = schema_.FindFamily(family) != nullptr;
      }
      if (!known) {
        return Status::InvalidArgument("unknown column family '" + std::string(family) +
                                       "' in table " + options_.table);
      }
    }
  }
  return Status::OK();
}

Status RemoteTable::ApplyBatch(const std::vector<RowMutation>& batch) {
  for (const RowMutation& m : batch) RETURN_NOT_OK(Validate(m));
  bool flush_now;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return Status::ServiceUnavailable("table " + options_.table + " is closed");
    if (!async_error_.ok()) {
      Status s = std::move(async_error_);
      async_error_ = Status::OK();
      return s.CloneAndPrepend("an earlier buffered write failed");
    }
    int64_t now = MonotonicMs();
    for (const RowMutation& m : batch) {
      if (!m.empty()) buffer_.Add(m, now);
    }
    flush_now = buffer_.bytes() >= options_.write_buffer_bytes;
  }
  if (flush_now) return Flush();
  return Status::OK();
}

Status RemoteTable::Flush() { return FlushBuffer(/*background=*/false); }

Status RemoteTable::FlushBuffer(bool background) {
  std::lock_guard<std::mutex> f(flush_mu_);
  std::vector<RowMutation> rows;
  {
    std::lock_guard<std::mutex> l(mu_);
    rows = buffer_.Take();
  }
  if (rows.empty()) return Status::OK();
  Backoff backoff = NewBackoff();
  TouchedTablets touched;
  Status s = sender_.Send(std::move(rows), &backoff, &touched);
  std::lock_guard<std::mutex> l(mu_);
  NoteWritten(touched);
  // Kept before flush_mu_ is released: a Sync that waited for this flush on
  // flush_mu_ then finds the error (it would miss it if it were stored later).
  if (background && !s.ok() && async_error_.ok()) async_error_ = s;
  // A foreground flush's error goes to its caller, and to the next Sync of
  // any thread: the batch may have held other threads' writes.
  if (!background && !s.ok() && flush_error_.ok()) flush_error_ = s;
  return s;
}

void RemoteTable::NoteWritten(const TouchedTablets& touched) {
  for (const auto& [key, loc] : touched) {
    Written& w = written_[key];
    w.loc = loc;
    w.written = ++write_seq_;
  }
}

void RemoteTable::FlusherLoop() {
  std::unique_lock<std::mutex> l(mu_);
  const auto tick = std::chrono::milliseconds(std::max<int64_t>(5, options_.flush_interval_ms / 4));
  while (!stop_flusher_) {
    cv_.wait_for(l, tick);
    if (stop_flusher_ || closed_) break;
    if (buffer_.empty() || MonotonicMs() - buffer_.oldest_ms() < options_.flush_interval_ms) {
      continue;
    }
    l.unlock();
    Status s = FlushBuffer(/*background=*/true);  // an error is kept in async_error_
    (void)s;
    l.lock();
  }
}

Status RemoteTable::SyncTablet(const TabletLocation& loc, Backoff* backoff) {
  // Sync every tablet that now covers [loc.start_row, loc.end_row): after a
  // split or move the rows we wrote may be served under other ids.
  std::string cursor = loc.start_row;
  Status last;
  for (;;) {
    int64_t timeout = backoff->RpcTimeout(options_.rpc_timeout_ms);
    TabletLocation t;
    Status s = locator_.Locate(cursor, timeout, &t);
    if (s.ok()) {
      s = backend_->Sync(t.server, SyncRequest{TabletRef{t.table, t.tablet_id}}, timeout);
      stats_.syncs_sent++;
      if (s.ok()) {
        if (t.end_row.empty() || (!loc.end_row.empty() && t.end_row >= loc.end_row)) {
          return Status::OK();
        }
        cursor = t.end_row;
        continue;
      }
      if (IsRetryable(s) || InvalidatesLocation(s)) locator_.Invalidate(t, s);
      s = s.CloneAndPrepend("syncing tablet " + t.ToString());
    }
    if (!IsRetryable(s) && !InvalidatesLocation(s)) return s;
    last = s;
    stats_.retries++;
    if (!backoff->Wait()) return backoff->Expired("sync", last);
  }
}

Status RemoteTable::Sync() {
  RETURN_NOT_OK(CheckOpen());
  Status s = Flush();
  std::vector<std::pair<std::string, Written>> todo;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (s.ok() && !async_error_.ok()) s = async_error_.CloneAndPrepend("an earlier buffered write failed");
    if (s.ok() && !flush_error_.ok()) {
      s = flush_error_.CloneAndPrepend("a write flushed since the last Sync failed");
    }
    async_error_ = Status::OK();
    flush_error_ = Status::OK();
    // Every write this thread made is acknowledged by now (its own flush, or
    // the flush of another thread that it waited for on flush_mu_).
    for (const auto& [key, w] : written_) {
      if (w.written > w.synced) todo.emplace_back(key, w);
    }
  }
  Backoff backoff = NewBackoff();
  for (const auto& [key, w] : todo) {
    Status t = SyncTablet(w.loc, &backoff);
    if (!t.ok()) {
      if (s.ok()) s = t;
      continue;  // stays in written_: the next Sync tries again
    }
    std::lock_guard<std::mutex> l(mu_);
    auto it = written_.find(key);
    if (it == written_.end()) continue;
    it->second.synced = std::max(it->second.synced, w.written);
    if (it->second.synced >= it->second.written) written_.erase(it);
  }
  return s;
}

Status RemoteTable::ApplyIf(const std::vector<Condition>& conditions,
                            const RowMutation& mutation, uint64_t* revision) {
  RETURN_NOT_OK(CheckOpen());
  RETURN_NOT_OK(Validate(mutation));
  RETURN_NOT_OK_PREPEND(Flush(), "flushing buffered writes before a conditional apply");
  ConditionalApplyRequest req;
  req.conditions = conditions;
  req.mutation = mutation;
  Backoff backoff = NewBackoff();
  Status last;
  for (;;) {
    int64_t timeout = backoff.RpcTimeout(options_.rpc_timeout_ms);
    TabletLocation t;
    Status s = locator_.Locate(mutation.row(), timeout, &t);
    if (s.ok()) {
      req.tablet = TabletRef{t.table, t.tablet_id};
      ApplyReply reply;
      s = backend_->ConditionalApply(t.server, req, timeout, &reply);
      if (s.ok()) {
        if (revision != nullptr) *revision = reply.revision;
        std::lock_guard<std::mutex> l(mu_);
        NoteWritten(TouchedTablets{{t.table + "/" + t.tablet_id, t}});
        return Status::OK();
      }
      if (IsRetryable(s) || InvalidatesLocation(s)) locator_.Invalidate(t, s);
      // Only retry when the server certainly did not apply the mutation.
      if (!s.IsNotServing() && !s.IsServiceUnavailable() && !InvalidatesLocation(s)) {
        if (s.IsNetworkError() || s.IsTimedOut()) {
          return s.CloneAndPrepend("conditional apply at " + t.server + " (outcome unknown)");
        }
        return s;
      }
      s = s.CloneAndPrepend("conditional apply at " + t.ToString());
    } else if (!IsRetryable(s)) {
      return s;
    }
    last = s;
    stats_.retries++;
    if (!backoff.Wait()) return backoff.Expired("conditional apply", last);
  }
}

Status RemoteTable::GetRowRevision(std::string_view row, uint64_t* revision) {
  RETURN_NOT_OK(CheckOpen());
  if (row.empty()) return Status::InvalidArgument("empty row");
  RETURN_NOT_OK(Flush());
  Backoff backoff = NewBackoff();
  Status last;
  for (;;) {
    int64_t timeout = backoff.RpcTimeout(options_.rpc_timeout_ms);
    TabletLocation t;
    Status s = locator_.Locate(row, timeout, &t);
    if (s.ok()) {
      RowRevisionReply reply;
      s = backend_->GetRowRevision(
          t.server, RowRevisionRequest{TabletRef{t.table, t.tablet_id}, std::string(row)},
          timeout, &reply);
      if (s.ok()) {
        *revision = reply.revision;
        return Status::OK();
      }
      if (IsRetryable(s) || InvalidatesLocation(s)) locator_.Invalidate(t, s);
    }
    if (!IsRetryable(s) && !InvalidatesLocation(s)) return s;
    last = s;
    stats_.retries++;
    if (!backoff.Wait()) return backoff.Expired("row revision", last);
  }
}

Status RemoteTable::Scan(const ScanPredicate& predicate, std::unique_ptr<CellStream>* out) {
  RETURN_NOT_OK(CheckOpen());
  RETURN_NOT_OK_PREPEND(Flush(), "flushing buffered writes before a scan");
  ScanOptions so;
  so.op_timeout_ms = options_.op_timeout_ms;
  so.rpc_timeout_ms = options_.rpc_timeout_ms;
  so.initial_backoff_ms = options_.initial_backoff_ms;
  so.max_backoff_ms = options_.max_backoff_ms;
  so.page_cells = options_.scan_page_cells;
  so.page_bytes = options_.scan_page_bytes;
  out->reset(new RemoteScanner(backend_.get(), &locator_, &stats_, predicate, so));
  return Status::OK();
}

Status RemoteTable::GetSchema(Schema* schema) {
  RETURN_NOT_OK(CheckOpen());
  Schema fresh;
  RETURN_NOT_OK(backend_->ReadSchema(options_.table, &fresh, options_.rpc_timeout_ms));
  std::lock_guard<std::mutex> l(mu_);
  schema_ = fresh;
  *schema = fresh;
  return Status::OK();
}

Status RemoteTable::Close() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return Status::OK();
  }
  Status s = Sync();
  {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    stop_flusher_ = true;
  }
  cv_.notify_all();
  if (flusher_.joinable() && flusher_.get_id() != std::this_thread::get_id()) flusher_.join();
  return s;
}

}  // namespace kdi::client
