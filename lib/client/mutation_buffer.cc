// The write path of the kdi:// client (see mutation_buffer.h).
#include "lib/client/mutation_buffer.h"

#include <set>
#include <thread>

namespace kdi::client {

void MutationBuffer::Add(const RowMutation& m, int64_t now_ms) {
  if (rows_.empty()) oldest_ms_ = now_ms;
  bytes_ += m.ByteSize() + 16;
  rows_.push_back(m);
}

std::vector<RowMutation> MutationBuffer::Take() {
  std::vector<RowMutation> out;
  out.swap(rows_);
  bytes_ = 0;
  return out;
}

struct BatchSender::Group {
  struct TabletBatch {
    TabletLocation loc;
    std::vector<RowMutation> rows;
  };
  std::string server;
  std::vector<TabletBatch> tablets;
  int64_t rpc_timeout_ms = 0;
  // Results.
  std::vector<RowMutation> retry;
  Status retry_cause;
  Status error;
  std::vector<TabletLocation> written;
  std::atomic<uint64_t>* sync_seq = nullptr;  // non-null: sync the last RPCs
  std::map<std::string, uint64_t> durable;
};

void BatchSender::SendServer(Group* g) {
  bool server_down = false;
  for (Group::TabletBatch& tb : g->tablets) {
    size_t i = 0;
    while (i < tb.rows.size()) {
      if (server_down) break;
      ApplyRequest req;
      req.tablet = TabletRef{tb.loc.table, tb.loc.tablet_id};
      size_t bytes = 0;
      size_t begin = i;
      while (i < tb.rows.size() &&
             (i == begin || bytes + tb.rows[i].ByteSize() <= options_.max_batch_bytes)) {
        bytes += tb.rows[i].ByteSize();
        req.rows.push_back(tb.rows[i]);
        i++;
      }
      uint64_t number = 0;
      if (g->sync_seq != nullptr && i == tb.rows.size()) {
        req.sync = true;
        number = ++*g->sync_seq;
      }
      ApplyReply reply;
      Status s = backend_->Apply(g->server, req, g->rpc_timeout_ms, &reply);
      stats_->batches_sent++;
      if (s.ok()) {
        stats_->rows_sent += req.rows.size();
        if (req.sync && reply.durable) {
          g->durable[tb.loc.table + "/" + tb.loc.tablet_id] = number;
        }
        continue;
      }
      if (IsRetryable(s) || InvalidatesLocation(s)) {
        locator_->Invalidate(tb.loc, s);
        g->retry_cause = s.CloneAndPrepend("tablet " + tb.loc.ToString());
        if (s.IsNetworkError() || s.IsTimedOut()) server_down = true;
        i = begin;  // this RPC and the rest of the tablet go again, in order
        break;
      }
      if (g->error.ok()) g->error = s.CloneAndPrepend("tablet " + tb.loc.ToString());
    }
    if (i > 0) g->written.push_back(tb.loc);
    for (; i < tb.rows.size(); i++) g->retry.push_back(std::move(tb.rows[i]));
  }
}

Status BatchSender::Send(std::vector<RowMutation> rows, Backoff* backoff,
                         TouchedTablets* touched, SyncApplies* sync) {
  stats_->flushes++;
  Status first_error;
  Status last_cause;
  std::vector<RowMutation> pending = std::move(rows);
  while (!pending.empty()) {
    int64_t timeout = backoff->RpcTimeout(options_.rpc_timeout_ms);
    std::map<std::string, Group> groups;
    std::map<std::string, std::pair<Group*, size_t>> batch_of;  // "table/id"
    std::vector<RowMutation> deferred;
    std::set<std::string> deferred_rows;
    for (RowMutation& m : pending) {
      if (deferred_rows.count(m.row())) {
        deferred.push_back(std::move(m));
        continue;
      }
      TabletLocation loc;
      Status s = locator_->Locate(m.row(), timeout, &loc);
      if (!s.ok()) {
        if (IsRetryable(s)) {
          last_cause = s;
          deferred_rows.insert(m.row());
          deferred.push_back(std::move(m));
        } else if (first_error.ok()) {
          first_error = s.CloneAndPrepend("locating row " + PrintableRow(m.row()));
        }
        continue;
      }
      std::string key = loc.table + "/" + loc.tablet_id;
      auto it = batch_of.find(key);
      if (it == batch_of.end()) {
        Group& g = groups[loc.server];
        g.server = loc.server;
        g.rpc_timeout_ms = timeout;
        if (sync != nullptr) g.sync_seq = sync->seq;
        g.tablets.push_back(Group::TabletBatch{loc, {}});
        it = batch_of.emplace(key, std::make_pair(&g, g.tablets.size() - 1)).first;
      }
      it->second.first->tablets[it->second.second].rows.push_back(std::move(m));
    }

    std::vector<Group*> list;
    for (auto& [server, g] : groups) list.push_back(&g);
    std::vector<std::thread> threads;
    for (size_t k = 1; k < list.size(); k++) {
      threads.emplace_back([this, g = list[k]] { SendServer(g); });
    }
    if (!list.empty()) SendServer(list[0]);
    for (std::thread& t : threads) t.join();

    pending = std::move(deferred);
    for (Group* g : list) {
      for (const TabletLocation& loc : g->written) {
        (*touched)[loc.table + "/" + loc.tablet_id] = loc;
      }
      if (sync != nullptr) {
        for (const auto& [key, number] : g->durable) sync->durable[key] = number;
      }
      if (!g->error.ok() && first_error.ok()) first_error = g->error;
      if (!g->retry.empty()) {
        last_cause = g->retry_cause;
        for (RowMutation& m : g->retry) pending.push_back(std::move(m));
      }
    }
    if (pending.empty()) break;
    stats_->retries++;
    if (!backoff->Wait()) {
      return backoff->Expired("sending " + std::to_string(pending.size()) + " row mutations",
                              last_cause);
    }
  }
  return first_error;
}

}  // namespace kdi::client
