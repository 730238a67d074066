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
  std::string_view last_family;  // known to the schema (if have_last)
  bool have_last = false;
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
    if (have_last && family == last_family) continue;  // often one family per row
    bool known;
    {
      std::lock_guard<std::mutex> l(mu_);
      known = schema_.FindFamily(family) != nullptr;
    }
    if (known) {
      last_family = family;
      have_last = true;
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
    bool added = false;
    for (const RowMutation& m : batch) {
      if (m.empty()) continue;
      buffer_.Add(m, now);
      added_seq_++;
      added = true;
    }
    if (added) {
      std::thread::id me = std::this_thread::get_id();
      if (std::find(buffer_threads_.begin(), buffer_threads_.end(), me) ==
          buffer_threads_.end()) {
        buffer_threads_.push_back(me);
      }
    }
    flush_now = buffer_.bytes() >= options_.write_buffer_bytes;
  }
  if (flush_now) return SendBuffer(/*background=*/false);
  return Status::OK();
}

void RemoteTable::SetSyncJoinWaitMsForTesting(int64_t ms) {
  std::lock_guard<std::mutex> l(mu_);
  sync_join_wait_ms_ = ms;
}

Status RemoteTable::Flush() {
  uint64_t target;
  {
    std::lock_guard<std::mutex> l(mu_);
    target = added_seq_;
  }
  Status s = SendBuffer(/*background=*/false);
  std::unique_lock<std::mutex> l(mu_);
  WaitAcknowledged(target, &l);
  return s;
}

void RemoteTable::WaitAcknowledged(uint64_t seq, std::unique_lock<std::mutex>* l) {
  done_cv_.wait(*l, [&] { return inflight_.empty() || inflight_.begin()->first > seq; });
}

Status RemoteTable::SendBuffer(bool background, bool sync) {
  std::unique_lock<std::mutex> l(mu_);
  // At most kMaxFlushesInFlight flushes at a time: the writes of threads that
  // wait for a slot gather in the buffer and leave in one batch (one Apply
  // RPC and one commit per tablet for all of them). Unbounded, every
  // thread's write left alone, which cost the tabletd ~1.5-2x the CPU per
  // write in workloads A and F (a measurement with 16 threads).
  done_cv_.wait(l, [&] { return buffer_.empty() || inflight_.size() < kMaxFlushesInFlight; });
  if (buffer_.empty()) return Status::OK();  // taken by another thread's flush
  return TakeAndSend(&l, background, sync);
}

Status RemoteTable::TakeAndSend(std::unique_lock<std::mutex>* lock, bool background,
                                bool sync) {
  std::unique_lock<std::mutex>& l = *lock;
  std::vector<RowMutation> rows = buffer_.Take();
  const uint64_t id = taken_seq_ + 1;  // this flush: writes id..added_seq_
  taken_seq_ = added_seq_;
  Flight& flight = inflight_[id];
  flight.last = added_seq_;
  flight.threads.swap(buffer_threads_);
  for (const std::thread::id& t : flight.threads) thread_flushes_[t].insert(id);
  // Row order: wait for every earlier flush still sending one of our rows.
  std::vector<std::string> keys;
  std::set<uint64_t> before;
  keys.reserve(rows.size());
  for (const RowMutation& m : rows) {
    auto [it, inserted] = row_flush_.try_emplace(m.row(), id);
    if (!inserted) {
      if (it->second == id) continue;
      before.insert(it->second);
      it->second = id;
    }
    keys.push_back(m.row());
  }
  if (!before.empty()) {
    done_cv_.wait(l, [&] {
      for (uint64_t b : before) {
        if (inflight_.count(b) != 0) return false;
      }
      return true;
    });
  }
  l.unlock();
  Backoff backoff = NewBackoff();
  TouchedTablets touched;
  SyncApplies sync_applies;
  sync_applies.seq = &write_seq_;
  Status s = sender_.Send(std::move(rows), &backoff, &touched, sync ? &sync_applies : nullptr);
  l.lock();
  NoteWritten(touched, sync ? &sync_applies.durable : nullptr);
  // Recorded before the flush leaves inflight_: a Sync that waited for it
  // (WaitAcknowledged) then finds the error.
  if (background && !s.ok() && async_error_.ok()) async_error_ = s;
  // A foreground flush's error goes to its caller, and to the next Sync of
  // any thread: the batch may have held other threads' writes.
  if (!background && !s.ok() && flush_error_.ok()) flush_error_ = s;
  for (const std::string& k : keys) {
    auto it = row_flush_.find(k);
    if (it != row_flush_.end() && it->second == id) row_flush_.erase(it);
  }
  auto fl = inflight_.find(id);
  for (const std::thread::id& t : fl->second.threads) {
    auto tf = thread_flushes_.find(t);
    if (tf == thread_flushes_.end()) continue;
    tf->second.erase(id);
    if (tf->second.empty()) thread_flushes_.erase(tf);
  }
  inflight_.erase(fl);
  done_cv_.notify_all();
  std::vector<std::shared_ptr<FlushWaiter>> ready;
  TakeReadyWaiters(&ready);
  l.unlock();
  for (const auto& w : ready) w->woken.Set();
  return s;
}

void RemoteTable::TakeReadyWaiters(std::vector<std::shared_ptr<FlushWaiter>>* ready) {
  // The waiters are Syncs (SyncFlush).
  bool slot_free = !buffer_.empty() && inflight_.size() < kMaxSyncFlushesInFlight;
  for (auto it = flush_waiters_.begin(); it != flush_waiters_.end();) {
    FlushWaiter& w = **it;
    bool wake;
    if (taken_seq_ < w.target) {
      wake = slot_free;  // one waiter takes the buffer for all of them
      if (wake) slot_free = false;
    } else {
      wake = inflight_.empty() || inflight_.begin()->first > w.target;
    }
    if (!wake) {
      ++it;
      continue;
    }
    ready->push_back(std::move(*it));
    it = flush_waiters_.erase(it);
  }
}

Status RemoteTable::SyncFlush(uint64_t target, std::unique_lock<std::mutex>* lock) {
  std::unique_lock<std::mutex>& l = *lock;
  Status result;
  for (;;) {
    if (taken_seq_ < target) {
      // Writes from before the call are still buffered: send them (ours
      // among them, or the caller's Sync would not need to), carrying the
      // Sync, when a slot is free. Syncs get more slots than other flushes:
      // a synced write waits for a log flush on the server, and with two
      // flushes in flight 16 threads of synced writes kept the tabletd's
      // log idle half the time (8,200 -> 9,700-11,400 writes/s with four).
      if (inflight_.size() < kMaxSyncFlushesInFlight) {
        Status s = TakeAndSend(&l, /*background=*/false, /*sync=*/true);
        if (!s.ok() && result.ok()) result = s;
        l.lock();
        continue;
      }
    } else if (inflight_.empty() || inflight_.begin()->first > target) {
      return result;  // every write numbered <= target is acknowledged
    }
    auto w = std::make_shared<FlushWaiter>();
    w->target = target;
    flush_waiters_.push_back(w);
    l.unlock();
    w->woken.Wait();
    l.lock();
  }
}

Status RemoteTable::FlushOwnWrites() {
  const std::thread::id me = std::this_thread::get_id();
  bool buffered;
  {
    std::lock_guard<std::mutex> l(mu_);
    buffered = std::find(buffer_threads_.begin(), buffer_threads_.end(), me) !=
               buffer_threads_.end();
    if (!buffered && thread_flushes_.count(me) == 0) return Status::OK();
  }
  Status s;
  if (buffered) s = SendBuffer(/*background=*/false);
  // Our writes may also be in other threads' flushes still in flight.
  std::unique_lock<std::mutex> l(mu_);
  done_cv_.wait(l, [&] { return thread_flushes_.count(me) == 0; });
  return s;
}

void RemoteTable::NoteWritten(const TouchedTablets& touched,
                              const std::map<std::string, uint64_t>* durable) {
  bool synced = false;
  for (const auto& [key, loc] : touched) {
    Written& w = written_[key];
    w.loc = loc;
    std::map<std::string, uint64_t>::const_iterator d;
    if (durable == nullptr || (d = durable->find(key)) == durable->end()) {
      w.written = ++write_seq_;
      continue;
    }
    // Everything acknowledged before number d->second (this batch included)
    // is durable; a write acknowledged while the RPC was in flight has a
    // higher number and still needs a Sync.
    w.written = std::max(w.written, d->second);
    w.synced = std::max(w.synced, d->second);
    synced = true;
  }
  if (synced) sync_cv_.notify_all();
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
    Status s = SendBuffer(/*background=*/true);  // an error is kept in async_error_
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

Status RemoteTable::SyncCoalesced(const std::string& key, uint64_t target,
                                  Backoff* backoff) {
  std::unique_lock<std::mutex> l(mu_);
  auto it = written_.find(key);
  if (it == written_.end()) return Status::OK();
  // The entry is not erased while waiters > 0 (std::map: w stays valid).
  Written* w = &it->second;
  w->waiters++;
  Status result;
  const auto join_wait = std::chrono::milliseconds(sync_join_wait_ms_);
  while (w->synced < target) {
    if (w->sync_inflight) {
      const uint64_t gen = w->sync_gen;
      const bool covers = w->inflight_covers >= target;
      // Also woken when a sync Apply RPC covered our writes (NoteWritten).
      if (sync_cv_.wait_for(l, join_wait,
                            [&] { return w->sync_gen != gen || w->synced >= target; })) {
        if (w->synced >= target) break;
        if (covers) {  // the RPC sent after our writes failed: so do we
          result = w->last_error;
          break;
        }
        continue;  // it did not cover us: send or join the next one
      }
      // Slow: send our own (not shared) RPC rather than wait longer.
      const uint64_t covers_own = w->written;
      const TabletLocation loc = w->loc;
      l.unlock();
      result = SyncTablet(loc, backoff);
      l.lock();
      if (result.ok()) w->synced = std::max(w->synced, covers_own);
      break;
    }
    // Send the next RPC, for us and every thread that joins it.
    w->sync_inflight = true;
    const uint64_t covers = w->written;
    w->inflight_covers = covers;
    const TabletLocation loc = w->loc;
    l.unlock();
    result = SyncTablet(loc, backoff);
    l.lock();
    w->sync_inflight = false;
    w->sync_gen++;
    if (result.ok()) {
      w->synced = std::max(w->synced, covers);
    } else {
      w->last_error = result;
    }
    sync_cv_.notify_all();
    break;
  }
  w->waiters--;
  // A failed tablet stays: the next Sync tries again.
  if (w->waiters == 0 && !w->sync_inflight && w->synced >= w->written) written_.erase(it);
  return result;
}

Status RemoteTable::Sync() {
  std::vector<std::pair<std::string, uint64_t>> todo;
  Status s;
  {
    std::unique_lock<std::mutex> l(mu_);
    if (closed_) return Status::ServiceUnavailable("table " + options_.table + " is closed");
    // Sends the buffer (carrying the Sync) and waits until every write
    // applied before now (by any thread, in whichever flush it left) is
    // acknowledged.
    s = SyncFlush(added_seq_, &l);
    if (s.ok() && !async_error_.ok()) s = async_error_.CloneAndPrepend("an earlier buffered write failed");
    if (s.ok() && !flush_error_.ok()) {
      s = flush_error_.CloneAndPrepend("a write flushed since the last Sync failed");
    }
    async_error_ = Status::OK();
    flush_error_ = Status::OK();
    for (const auto& [key, w] : written_) {
      if (w.written > w.synced) todo.emplace_back(key, w.written);
    }
  }
  Backoff backoff = NewBackoff();
  for (const auto& [key, target] : todo) {
    Status t = SyncCoalesced(key, target, &backoff);
    if (!t.ok() && s.ok()) s = t;
  }
  return s;
}

Status RemoteTable::ApplyIf(const std::vector<Condition>& conditions,
                            const RowMutation& mutation, uint64_t* revision) {
  RETURN_NOT_OK(CheckOpen());
  RETURN_NOT_OK(Validate(mutation));
  RETURN_NOT_OK_PREPEND(FlushOwnWrites(), "flushing buffered writes before a conditional apply");
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
  RETURN_NOT_OK(FlushOwnWrites());
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
  RETURN_NOT_OK_PREPEND(FlushOwnWrites(), "flushing buffered writes before a scan");
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
