// The control loop: tablet assignment, server failure, split recording and
// the master-session (600) handlers. The state machine and the argument that a
// master killed at any step is followed by one that converges are in
// doc/masterd.md.
#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "lib/client/meta_layout.h"
#include "lib/util/log.h"
#include "masterd/fault_points.h"
#include "masterd/master.h"

namespace kdi::masterd {

using meta::TabletMeta;
using meta::TabletState;

void Master::ControlLoop() {
  bool view_ok = false;
  int64_t last_error_log = 0;
  while (!stop_.load() && !term_lost_.load()) {
    {
      std::lock_guard<std::mutex> l(op_mu_);
      Status s;
      if (session_->state() == lock::SessionState::kSafe) {
        if (!view_ok) {
          s = TakeOver();
          view_ok = s.ok();
        }
        if (view_ok) {
          acting_.store(session_->state() == lock::SessionState::kSafe && !term_lost_.load());
          s = ReconcileOnce();
          if (!s.ok()) {
            // META may not hold what the cache says (a write timed out): read
            // it again before acting on it.
            view_ok = false;
            acting_.store(false);
          }
        }
      } else {
        acting_.store(false);
      }
      if (!s.ok() && NowMicros() - last_error_log > 2000000) {
        KDI_LOG(WARN, "masterd") << s.ToString();
        last_error_log = NowMicros();
      }
    }
    std::unique_lock<std::mutex> l(wake_mu_);
    wake_cv_.wait_for(l, std::chrono::milliseconds(opts_.reconcile_interval_ms),
                      [this] { return kicked_ || stop_.load() || term_lost_.load(); });
    kicked_ = false;
  }
}

Status Master::LoadSchema(const std::string& table, Schema* schema, bool* exists) {
  std::string bytes;
  RETURN_NOT_OK(ReadNode(meta::TableSchemaPath(table), &bytes, exists));
  if (!*exists) return Status::OK();
  return Schema::DecodeFrom(bytes, schema).CloneAndPrepend("schema of table " + table);
}

Status Master::ReconcileOnce() {
  RETURN_NOT_OK(servers_.Refresh(session_.get()));
  if (!servers_.IsLive(meta_.meta_server())) {
    KDI_LOG(WARN, "masterd") << "META's server " << meta_.meta_server() << " is gone";
    RETURN_NOT_OK(EnsureMetaServed());
  }
  RETURN_NOT_OK(ReloadOnRestartedServers());
  std::vector<std::string> with_schema;
  RETURN_NOT_OK(ListTableSchemas(&with_schema));
  std::set<std::string> schemas(with_schema.begin(), with_schema.end());
  std::set<std::string> to_delete;
  std::vector<TabletMeta> rows;
  for (const auto& [key, t] : meta_.rows()) rows.push_back(t);
  for (const TabletMeta& t : rows) {
    // A row being deleted, or one of a table whose creation never finished
    // (rows are written before the schema): finish the delete.
    if (t.state == TabletState::kUnloading || !schemas.count(t.table)) {
      to_delete.insert(t.table);
      continue;
    }
    if (!acting_.load()) return Status::OK();
    RETURN_NOT_OK(ReconcileTablet(t));
  }
  for (const auto& table : to_delete) {
    if (!acting_.load()) return Status::OK();
    KDI_LOG(INFO, "masterd") << "finishing the delete of table " << table;
    RETURN_NOT_OK(FinishDelete(table));
  }
  if (opts_.balance && NowMicros() - last_balance_us_ > opts_.balance_interval_ms * 1000) {
    last_balance_us_ = NowMicros();
    BalanceOnce();
  }
  return Status::OK();
}

Status Master::ReloadOnRestartedServers() {
  const std::vector<std::string> restarted = servers_.Restarted();
  // META first: the other tablets' reassignments are written to it. A server
  // restarted too quickly to be seen gone (a new session on the same
  // address) no longer serves META, yet looks live; its META rows never list
  // META itself, so the loop below would not reload it.
  const std::string meta_server = meta_.meta_server();
  if (!meta_server.empty() &&
      std::find(restarted.begin(), restarted.end(), meta_server) != restarted.end()) {
    KDI_LOG(WARN, "masterd") << "META's server " << meta_server
                             << " restarted (new session): loading META there again";
    meta_.SetMetaServer("");  // forget the old view; EnsureMetaServed reloads it
    RETURN_NOT_OK(EnsureMetaServed());
  }
  for (const std::string& addr : restarted) {
    std::vector<TabletMeta> mine;
    for (const auto& [key, t] : meta_.rows()) {
      if (t.state == TabletState::kAssigned && t.server == addr) mine.push_back(t);
    }
    KDI_LOG(WARN, "masterd") << "server " << addr << " restarted (new session): reloading its "
                             << mine.size() << " tablets there";
    for (const TabletMeta& t : mine) {
      if (!acting_.load()) return Status::OK();
      RETURN_NOT_OK(Assign(t, addr));
    }
    servers_.DoneRestart(addr);
  }
  return Status::OK();
}

Status Master::ReconcileTablet(TabletMeta t) {
  switch (t.state) {
    case TabletState::kAssigned: {
      if (servers_.IsLive(t.server)) {
        // The server started after the assignment (restarted on the same
        // address while no master watched, or too quickly to be seen gone):
        // it does not serve the tablet; load it there again.
        if (t.since_us != 0 && servers_.StartTime(t.server) > t.since_us) {
          KDI_LOG(WARN, "masterd") << "server " << t.server << " restarted after "
                                   << t.table << "/" << t.id << " was assigned: reloading it";
          return Assign(t, t.server);
        }
        return Status::OK();
      }
      if (!servers_.IsShared(t.server)) {
        KDI_LOG(WARN, "masterd") << "server " << t.server << " lost; " << t.table << "/"
                                 << t.id << " is offline until it returns (data is local)";
        t.state = TabletState::kOffline;
        t.reason = "server " + t.server + " is down and the tablet's data is local to it";
        return meta_.Put(t);
      }
      KDI_LOG(WARN, "masterd") << "server " << t.server << " lost; reassigning " << t.table
                               << "/" << t.id;
      t.state = TabletState::kUnassigned;
      t.server.clear();
      RETURN_NOT_OK(meta_.Put(t));
      MASTERD_FAULT("reassign-after-unassign");
      std::string target = PickServer(t.table);
      if (target.empty()) return Status::OK();
      return Assign(t, target);
    }
    case TabletState::kOffline:
      if (servers_.IsLive(t.server)) return Assign(t, t.server);
      if (servers_.IsShared(t.server)) {
        std::string target = PickServer(t.table);
        if (!target.empty()) return Assign(t, target);
      }
      return Status::OK();
    case TabletState::kUnassigned: {
      std::string target = PickServer(t.table);
      if (target.empty()) return Status::OK();
      return Assign(t, target);
    }
    case TabletState::kAssigning:
      if (servers_.IsLive(t.server)) return Assign(t, t.server);
      {
        std::string target = PickServer(t.table);
        if (target.empty()) return Status::OK();
        return Assign(t, target);
      }
    case TabletState::kSplitting:
      return FinishSplit(t, meta::TabletDir(t.table, t.split.left_id),
                         meta::TabletDir(t.table, t.split.right_id));
    case TabletState::kUnloading:
      return Status::OK();  // handled by FinishDelete
  }
  return Status::OK();
}

std::string Master::PickServer(const std::string& table) const {
  // Spreading each table over the servers first (as HBase's per-table
  // balancing does) keeps a table's load from piling onto the servers that
  // happen to hold little else: by total count alone, a 4-tablet table on 2
  // servers went 3/1 beside META, or 4/0 when the second server registered a
  // moment after the table was created.
  struct Load {
    int of_table = 0;
    int total = 0;
  };
  std::map<std::string, Load> load;
  for (const auto& s : servers_.LiveServers()) load[s];
  if (load.empty()) return "";
  for (const auto& [key, t] : meta_.rows()) {
    auto it = load.find(t.server);
    if (it != load.end() && (t.state == TabletState::kAssigned ||
                             t.state == TabletState::kAssigning)) {
      it->second.total++;
      if (!table.empty() && t.table == table) it->second.of_table++;
    }
  }
  // META's own tablet counts too.
  auto mit = load.find(meta_.meta_server());
  if (mit != load.end()) mit->second.total++;
  std::string best;
  Load best_load{std::numeric_limits<int>::max(), std::numeric_limits<int>::max()};
  for (const auto& [s, n] : load) {
    if (std::tie(n.of_table, n.total) < std::tie(best_load.of_table, best_load.total)) {
      best = s;
      best_load = n;
    }
  }
  return best;
}

Status Master::Assign(TabletMeta t, const std::string& server) {
  Schema schema;
  bool exists = false;
  RETURN_NOT_OK(LoadSchema(t.table, &schema, &exists));
  if (!exists) return Status::OK();  // being deleted: FinishDelete handles it
  // 1. Record the intent.
  if (t.state != TabletState::kAssigning || t.server != server) {
    t.state = TabletState::kAssigning;
    t.server = server;
    t.reason.clear();
    RETURN_NOT_OK(meta_.Put(t));
  }
  MASTERD_FAULT("after-meta-assigning");
  // 2. Order the load (idempotent at the tabletd).
  client::LoadTabletRequest r;
  r.desc.tablet = client::TabletRef{t.table, t.id};
  r.desc.start_row = t.start_row;
  r.desc.end_row = t.end_row;
  r.desc.dir = t.dir;
  r.schema = schema;
  r.create_if_missing = t.since_us == 0;  // never served before: a new tablet
  RETURN_NOT_OK(Fence());
  Status s = Tserver(server)->LoadTablet(r);
  if (s.IsConflict()) {
    // Someone else holds the tablet's lock. If it is a live server that META
    // does not name (a move or an older assignment left behind), take the
    // tablet away from it; a dead holder's lock goes with its lease.
    std::string holder;
    bool lock_exists = false;
    if (ReadNode(meta::TabletLockPath(t.table, t.id), &holder, &lock_exists).ok() &&
        !holder.empty() && holder != server && servers_.IsLive(holder)) {
      KDI_LOG(WARN, "masterd") << t.table << "/" << t.id << " is held by " << holder
                               << ", META says " << server << ": unloading it there";
      (void)Tserver(holder)->UnloadTablet(r.desc.tablet, false);
      s = Tserver(server)->LoadTablet(r);
    }
  }
  if (!s.ok()) {
    KDI_LOG(INFO, "masterd") << "loading " << t.table << "/" << t.id << " on " << server
                             << " failed (will retry): " << s.ToString();
    return Status::OK();
  }
  MASTERD_FAULT("after-load-before-meta");
  // 3. Record the result. since_us is never before the server's start time
  //    (its clock may be ahead), so a reload is not repeated (ReconcileTablet).
  t.state = TabletState::kAssigned;
  t.since_us = std::max(NowMicros(), servers_.StartTime(server) + 1);
  RETURN_NOT_OK(meta_.Put(t));
  KDI_LOG(INFO, "masterd") << "assigned " << t.DebugString();
  return Status::OK();
}

Status Master::FinishSplit(const TabletMeta& parent, const std::string& left_dir,
                           const std::string& right_dir) {
  const meta::SplitIntent& sp = parent.split;
  const std::string left_key = meta::MetaRowKey(parent.table, sp.split_row);
  auto it = meta_.rows().find(left_key);
  if (it == meta_.rows().end() || it->second.id != sp.left_id) {
    TabletMeta left = parent;
    left.id = sp.left_id;
    left.end_row = sp.split_row;
    left.dir = left_dir;
    left.state = TabletState::kAssigned;
    left.since_us = NowMicros();
    RETURN_NOT_OK(meta_.Put(left));
    MASTERD_FAULT("split-after-left");
  }
  TabletMeta right = parent;
  right.id = sp.right_id;
  right.start_row = sp.split_row;
  right.dir = right_dir;
  right.state = TabletState::kAssigned;
  right.since_us = NowMicros();
  RETURN_NOT_OK(meta_.Put(right));
  KDI_LOG(INFO, "masterd") << "split of " << parent.table << "/" << parent.id << " recorded: "
                           << sp.left_id << " + " << sp.right_id << " at "
                           << meta::EscapeBytes(sp.split_row);
  return Status::OK();
}

Status Master::OnKeepAlive(const client::ServerStatusInfo& status, client::KeepAliveReply* reply) {
  (void)reply;
  servers_.OnKeepAlive(status, NowMicros());
  return CheckActing();
}

Status Master::OnSplitReport(const client::SplitInfo& info) {
  std::lock_guard<std::mutex> l(op_mu_);
  RETURN_NOT_OK(CheckActing());
  const std::string& table = info.parent.tablet.table;
  const std::string& pid = info.parent.tablet.tablet_id;
  const std::string& split_row = info.left.end_row;
  if (info.left.tablet.table != table || info.right.tablet.table != table ||
      info.left.start_row != info.parent.start_row || info.right.end_row != info.parent.end_row ||
      info.right.start_row != split_row || split_row.empty() ||
      split_row <= info.parent.start_row ||
      (!info.parent.end_row.empty() && split_row >= info.parent.end_row)) {
    return Status::InvalidArgument("split report of " + table + "/" + pid +
                                   ": children do not partition the parent's range");
  }
  RETURN_NOT_OK(meta::ValidateTabletId(info.left.tablet.tablet_id));
  RETURN_NOT_OK(meta::ValidateTabletId(info.right.tablet.tablet_id));
  const TabletMeta* p = meta_.Find(table, pid);
  if (p == nullptr) {
    // Already recorded (the report is repeated until acked)?
    const TabletMeta* l = meta_.Find(table, info.left.tablet.tablet_id);
    const TabletMeta* r = meta_.Find(table, info.right.tablet.tablet_id);
    if (l != nullptr && r != nullptr) return Status::OK();
    return Status::NotFound("split report: tablet " + table + "/" + pid + " is not in META");
  }
  TabletMeta parent = *p;
  meta::SplitIntent intent{split_row, info.left.tablet.tablet_id, info.right.tablet.tablet_id};
  if (parent.start_row != info.parent.start_row || parent.end_row != info.parent.end_row) {
    return Status::Conflict("split report of " + table + "/" + pid +
                            ": range differs from META's " + parent.DebugString());
  }
  if (parent.state == TabletState::kSplitting) {
    if (!(parent.split == intent)) {
      return Status::Conflict("split report of " + table + "/" + pid +
                              " differs from the split META is recording");
    }
  } else {
    if (parent.state != TabletState::kAssigned || parent.server != info.server) {
      return Status::Conflict("split report of " + table + "/" + pid + " from " + info.server +
                              ", but META says " + parent.DebugString());
    }
    parent.state = TabletState::kSplitting;
    parent.split = intent;
    RETURN_NOT_OK(meta_.Put(parent));
    MASTERD_FAULT("split-after-intent");
  }
  RETURN_NOT_OK(FinishSplit(parent, info.left.dir.empty() ? meta::TabletDir(table, intent.left_id)
                                                          : info.left.dir,
                            info.right.dir.empty() ? meta::TabletDir(table, intent.right_id)
                                                   : info.right.dir));
  MASTERD_FAULT("split-after-meta");
  return Status::OK();
}

}  // namespace kdi::masterd
