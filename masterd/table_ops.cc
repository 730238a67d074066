// The 2a table-meta operations and fsck; see master.h and doc/masterd.md.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <set>

#include "kdi/cell.h"
#include "lib/client/meta_layout.h"
#include "lib/util/log.h"
#include "masterd/fault_points.h"
#include "masterd/master.h"

namespace kdi::masterd {

using meta::TabletMeta;
using meta::TabletState;

std::string Master::NewTabletId() {
  char buf[48];
  snprintf(buf, sizeof(buf), "t%" PRIx64 "-%" PRIx64, static_cast<uint64_t>(NowMicros()),
           ++id_counter_);
  return buf;
}

void Master::FillTableInfo(const std::string& name, const Schema& schema, meta::TableInfo* info) {
  info->name = name;
  info->schema = schema;
  info->num_tablets = 0;
  info->num_assigned = 0;
  for (const auto& t : meta_.TabletsOf(name)) {
    info->num_tablets++;
    if (t.state == TabletState::kAssigned) info->num_assigned++;
  }
}

Status Master::CreateTable(const meta::CreateTableRequest& req, meta::TableInfo* info) {
  std::lock_guard<std::mutex> l(op_mu_);
  RETURN_NOT_OK(CheckActing());
  RETURN_NOT_OK(meta::ValidateTableName(req.name));
  for (size_t i = 0; i < req.split_rows.size(); i++) {
    if (req.split_rows[i].empty()) return Status::InvalidArgument("empty split row");
    if (req.split_rows[i].size() > kMaxRowBytes) return Status::InvalidArgument("split row too long");
    if (i > 0 && req.split_rows[i] <= req.split_rows[i - 1]) {
      return Status::InvalidArgument("split rows must be sorted and distinct (row " +
                                     std::to_string(i) + ": " +
                                     meta::EscapeBytes(req.split_rows[i]) + ")");
    }
  }
  Schema existing;
  bool exists = false;
  RETURN_NOT_OK(LoadSchema(req.name, &existing, &exists));
  if (exists || !meta_.TabletsOf(req.name).empty()) {
    return Status::AlreadyExists("table " + req.name + " already exists");
  }
  // 1. META rows (unassigned). A crash before step 2 leaves rows without a
  //    schema, which the next master deletes (the create is undone).
  std::vector<TabletMeta> tablets;
  for (size_t i = 0; i <= req.split_rows.size(); i++) {
    TabletMeta t;
    t.table = req.name;
    t.id = NewTabletId();
    t.start_row = i == 0 ? "" : req.split_rows[i - 1];
    t.end_row = i == req.split_rows.size() ? "" : req.split_rows[i];
    t.dir = meta::TabletDir(t.table, t.id);
    t.state = TabletState::kUnassigned;
    RETURN_NOT_OK(meta_.Put(t));
    tablets.push_back(t);
  }
  MASTERD_FAULT("create-after-rows");
  // 2. The schema: from now on the table exists.
  std::string bytes;
  req.schema.EncodeTo(&bytes);
  RETURN_NOT_OK(Fence());
  {
    std::unique_ptr<lock::LockHandle> h;
    RETURN_NOT_OK_PREPEND(session_->Open(meta::TableSchemaPath(req.name),
                                         lock::kRead | lock::kWrite | lock::kExclusiveCreate, 0,
                                         &h, nullptr, bytes),
                          "creating " + meta::TableSchemaPath(req.name));
  }
  KDI_LOG(INFO, "masterd") << "created table " << req.name << " with " << tablets.size()
                           << " tablets, schema \"" << req.schema.ToString() << "\"";
  // 3. Assign now (the control loop would do it too, a moment later).
  for (const TabletMeta& t : tablets) {
    std::string target = PickServer(t.table);
    if (target.empty()) break;
    RETURN_NOT_OK(Assign(*meta_.Find(t.table, t.id), target));
  }
  if (info) FillTableInfo(req.name, req.schema, info);
  return Status::OK();
}

Status Master::DeleteTable(const std::string& name) {
  std::lock_guard<std::mutex> l(op_mu_);
  RETURN_NOT_OK(CheckActing());
  RETURN_NOT_OK(meta::ValidateTableName(name));
  Schema schema;
  bool exists = false;
  RETURN_NOT_OK(LoadSchema(name, &schema, &exists));
  if (!exists) return Status::NotFound("no such table: " + name);
  // Mark every row first: from then on any master finishes the delete.
  for (TabletMeta t : meta_.TabletsOf(name)) {
    if (t.state == TabletState::kUnloading) continue;
    t.state = TabletState::kUnloading;
    RETURN_NOT_OK(meta_.Put(t));
  }
  RETURN_NOT_OK(FinishDelete(name));
  KDI_LOG(INFO, "masterd") << "deleted table " << name;
  return Status::OK();
}

Status Master::FinishDelete(const std::string& table) {
  for (TabletMeta t : meta_.TabletsOf(table)) {
    if (t.state != TabletState::kUnloading) {
      t.state = TabletState::kUnloading;
      RETURN_NOT_OK(meta_.Put(t));
    }
  }
  const bool can_load_elsewhere = !servers_.LiveServers().empty();
  for (const TabletMeta& t : meta_.TabletsOf(table)) {
    client::TabletRef ref{t.table, t.id};
    Status s;
    RETURN_NOT_OK(Fence());
    if (!t.server.empty() && servers_.IsLive(t.server)) {
      s = Tserver(t.server)->UnloadTablet(ref, /*destroy=*/true);
      if (s.IsNotServing()) s = Status::OK();
      // Not served there (never loaded, or lost): nothing of it on that server
      // beyond its directory, which we remove below when we can.
    }
    if (s.ok() && t.since_us != 0 && (t.server.empty() || !servers_.IsLive(t.server)) &&
        can_load_elsewhere && servers_.IsShared(t.server)) {
      // Its data sits unserved in the shared root: have a live server open and
      // destroy it.
      std::string target = PickServer(t.table);
      client::LoadTabletRequest r;
      r.desc.tablet = ref;
      r.desc.start_row = t.start_row;
      r.desc.end_row = t.end_row;
      r.desc.dir = t.dir;
      r.schema = Schema::AcceptAny();
      if (!target.empty() && Tserver(target)->LoadTablet(r).ok()) {
        s = Tserver(target)->UnloadTablet(ref, true);
      }
    }
    if (!s.ok()) {
      return s.CloneAndPrepend("deleting " + t.table + "/" + t.id + " (will retry)");
    }
    MASTERD_FAULT("delete-after-unload");
    RETURN_NOT_OK(meta_.Delete(t.row_key()));
  }
  // The schema and the tablets' lock nodes (best effort: a lock node still held
  // by a dying server goes later).
  std::unique_ptr<lock::LockHandle> h;
  Status s = session_->Open(meta::TableSchemaPath(table), lock::kWrite, 0, &h);
  if (s.ok()) s = h->Delete();
  if (!s.ok() && !s.IsNotFound()) return s.CloneAndPrepend("deleting the schema of " + table);
  KDI_LOG(DEBUG, "masterd") << "schema of " << table << " deleted: " << s.ToString();
  h.reset();
  std::string dir = std::string(meta::kTabletLocksDir) + "/" + table;
  std::vector<std::string> names;
  if (session_->Open(dir, lock::kRead | lock::kWrite, 0, &h).ok() && h->ReadDirectory(&names).ok()) {
    for (const auto& n : names) {
      std::unique_ptr<lock::LockHandle> c;
      if (session_->Open(dir + "/" + n, lock::kWrite, 0, &c).ok()) (void)c->Delete();
    }
    (void)h->Delete();
  }
  return Status::OK();
}

Status Master::TableHasFamilyData(const std::string& table, const std::string& family,
                                  bool* has) {
  *has = false;
  for (const TabletMeta& t : meta_.TabletsOf(table)) {
    if (t.state != TabletState::kAssigned || !servers_.IsLive(t.server)) {
      return Status::ServiceUnavailable("cannot check family " + family + " of " + table +
                                        ": tablet " + t.id + " is not served now; retry, or "
                                        "pass --force");
    }
    ScanPredicate p;
    p.SetFamily(family);
    std::unique_ptr<CellStream> stream =
        Tserver(t.server)->OpenScan(client::TabletRef{t.table, t.id}, p, 1, 1 << 20);
    Cell c;
    if (stream->Next(&c)) {
      *has = true;
      return Status::OK();
    }
    RETURN_NOT_OK_PREPEND(stream->status(), "checking family " + family + " in " + t.id);
  }
  return Status::OK();
}

Status Master::AlterTable(const meta::AlterTableRequest& req, meta::TableInfo* info) {
  std::lock_guard<std::mutex> l(op_mu_);
  RETURN_NOT_OK(CheckActing());
  RETURN_NOT_OK(meta::ValidateTableName(req.name));
  Schema schema;
  bool exists = false;
  RETURN_NOT_OK(LoadSchema(req.name, &schema, &exists));
  if (!exists) return Status::NotFound("no such table: " + req.name);
  Schema updated = schema;
  RETURN_NOT_OK_PREPEND(meta::ApplyAlterOps(req.ops, &updated), "altering " + req.name);
  for (const auto& f : schema.families()) {
    bool kept = false;
    for (const auto& g : updated.families()) kept = kept || g.name == f.name;
    if (kept || req.force) continue;
    bool has = false;
    RETURN_NOT_OK(TableHasFamilyData(req.name, f.name, &has));
    if (has) {
      return Status::InvalidArgument("column family " + f.name + " of table " + req.name +
                                     " has data; removing it needs --force");
    }
  }
  std::string bytes;
  updated.EncodeTo(&bytes);
  RETURN_NOT_OK(Fence());
  RETURN_NOT_OK(WriteNode(meta::TableSchemaPath(req.name), bytes));
  KDI_LOG(INFO, "masterd") << "altered table " << req.name << ": \"" << updated.ToString()
                           << "\"";
  PushSchema(req.name, updated);
  if (info) FillTableInfo(req.name, updated, info);
  return Status::OK();
}

void Master::PushSchema(const std::string& table, const Schema& schema) {
  for (const TabletMeta& t : meta_.TabletsOf(table)) {
    // Tablets not served now get the new schema when they are next loaded
    // (Assign reads /kdi/tables/NAME).
    if (t.state != TabletState::kAssigned || !servers_.IsLive(t.server)) continue;
    if (!Fence().ok()) return;
    client::LoadTabletRequest r;
    r.desc.tablet = client::TabletRef{t.table, t.id};
    r.desc.start_row = t.start_row;
    r.desc.end_row = t.end_row;
    r.desc.dir = t.dir;
    r.schema = schema;
    r.create_if_missing = false;
    Status s = Tserver(t.server)->LoadTablet(r);
    if (!s.ok()) {
      KDI_LOG(WARN, "masterd") << "new schema of " << t.table << " not pushed to " << t.id
                               << " on " << t.server << " (it gets it at its next load): "
                               << s.ToString();
    }
  }
}

Status Master::ListTableSchemas(std::vector<std::string>* names) {
  names->clear();
  std::unique_ptr<lock::LockHandle> dir;
  std::vector<std::string> listed;
  Status s = session_->Open(meta::kTablesDir, lock::kRead, 0, &dir);
  if (s.IsNotFound()) return Status::OK();
  RETURN_NOT_OK_PREPEND(s, "opening /kdi/tables");
  RETURN_NOT_OK_PREPEND(dir->ReadDirectory(&listed), "listing /kdi/tables");
  // Only names whose node opens: a listing has been seen to name a child
  // deleted a moment before (lockd), and a table without its schema node does
  // not exist.
  for (auto& n : listed) {
    std::unique_ptr<lock::LockHandle> h;
    s = session_->Open(meta::TableSchemaPath(n), lock::kRead, 0, &h);
    if (s.ok()) {
      names->push_back(std::move(n));
    } else if (!s.IsNotFound()) {
      return s.CloneAndPrepend("opening " + meta::TableSchemaPath(n));
    }
  }
  return Status::OK();
}

Status Master::ListTables(meta::TableList* list) {
  std::lock_guard<std::mutex> l(op_mu_);
  RETURN_NOT_OK(CheckActing());
  RETURN_NOT_OK(ListTableSchemas(&list->names));
  std::sort(list->names.begin(), list->names.end());
  return Status::OK();
}

Status Master::DescribeTable(const std::string& name, meta::TableInfo* info) {
  std::lock_guard<std::mutex> l(op_mu_);
  RETURN_NOT_OK(CheckActing());
  if (name == meta::kMetaTableName) {
    info->name = name;
    info->schema = meta::MetaSchema();
    info->num_tablets = 1;
    info->num_assigned = servers_.IsLive(meta_.meta_server()) ? 1 : 0;
    return Status::OK();
  }
  RETURN_NOT_OK(meta::ValidateTableName(name));
  Schema schema;
  bool exists = false;
  RETURN_NOT_OK(LoadSchema(name, &schema, &exists));
  if (!exists) return Status::NotFound("no such table: " + name);
  FillTableInfo(name, schema, info);
  return Status::OK();
}

Status Master::ListTablets(const std::string& table, meta::TabletList* list) {
  std::lock_guard<std::mutex> l(op_mu_);
  RETURN_NOT_OK(CheckActing());
  list->tablets.clear();
  if (table == meta::kMetaTableName) {
    meta::TabletInfo ti;
    ti.meta.table = table;
    ti.meta.id = meta::kMetaTabletId;
    ti.meta.dir = meta::TabletDir(table, meta::kMetaTabletId);
    ti.meta.server = meta_.meta_server();
    ti.meta.state = servers_.IsLive(ti.meta.server) ? TabletState::kAssigned
                                                    : TabletState::kUnassigned;
    ti.size_bytes = servers_.TabletSize(ti.meta.server, table, ti.meta.id);
    list->tablets.push_back(ti);
    return Status::OK();
  }
  RETURN_NOT_OK(meta::ValidateTableName(table));
  std::vector<TabletMeta> ts = meta_.TabletsOf(table);
  if (ts.empty()) {
    Schema schema;
    bool exists = false;
    RETURN_NOT_OK(LoadSchema(table, &schema, &exists));
    if (!exists) return Status::NotFound("no such table: " + table);
  }
  for (auto& t : ts) {
    meta::TabletInfo ti;
    ti.size_bytes = servers_.TabletSize(t.server, t.table, t.id);
    ti.meta = std::move(t);
    list->tablets.push_back(std::move(ti));
  }
  return Status::OK();
}

Status Master::ListServers(meta::ServerList* list) {
  std::lock_guard<std::mutex> l(op_mu_);
  RETURN_NOT_OK(CheckActing());
  std::map<std::string, uint32_t> counts;
  for (const auto& [key, t] : meta_.rows()) {
    if (!t.server.empty() && t.state == TabletState::kAssigned) counts[t.server]++;
  }
  counts[meta_.meta_server()]++;
  list->servers.clear();
  for (const TrackedServer& s : servers_.All()) {
    meta::ServerInfo si;
    si.address = s.address;
    si.live = s.live;
    si.shared_data = s.shared_data;
    si.data_root = s.data_root;
    si.tablets = counts[s.address];
    si.applies_per_sec = s.last_status.applies_per_sec;
    si.scans_per_sec = s.last_status.scans_per_sec;
    si.rss_bytes = s.last_status.rss_bytes;
    si.last_keepalive_us = s.last_keepalive_us;
    list->servers.push_back(std::move(si));
  }
  return Status::OK();
}

void Master::GetStatus(meta::MasterStatusInfo* info) {
  info->address = opts_.address;
  info->active = acting_.load();
  {
    std::lock_guard<std::mutex> l(info_mu_);
    info->active_master = active_master_;
  }
  std::unique_lock<std::mutex> l(op_mu_, std::try_to_lock);
  if (!l.owns_lock() || !info->active) return;  // busy: counts are left at 0
  info->tables = static_cast<uint32_t>(meta_.Tables().size());
  info->tablets = static_cast<uint32_t>(meta_.rows().size());
  for (const auto& [key, t] : meta_.rows()) {
    if (t.state != TabletState::kAssigned) info->unassigned++;
  }
  info->live_servers = static_cast<uint32_t>(servers_.LiveServers().size());
}

Status Master::Fsck(bool repair, meta::FsckReply* reply) {
  std::lock_guard<std::mutex> l(op_mu_);
  RETURN_NOT_OK(CheckActing());
  RETURN_NOT_OK(servers_.Refresh(session_.get()));
  // Check what META durably holds, not this master's copy of it.
  RETURN_NOT_OK_PREPEND(meta_.Load(), "re-reading META");
  auto problem = [&](const std::string& line) {
    reply->problems++;
    reply->lines.push_back("PROBLEM " + line);
  };
  auto repaired = [&](const std::string& line) {
    reply->repaired++;
    reply->lines.push_back("REPAIRED " + line);
  };
  // META's own tablet.
  {
    std::string holder;
    bool exists = false;
    RETURN_NOT_OK(ReadNode(meta::TabletLockPath(meta::kMetaTableName, meta::kMetaTabletId),
                           &holder, &exists));
    if (!servers_.IsLive(meta_.meta_server())) {
      problem("META's server " + meta_.meta_server() + " is not live");
    } else if (holder != meta_.meta_server()) {
      problem("META's tablet lock names '" + holder + "', /kdi/root names " +
              meta_.meta_server());
    }
  }
  // Tables: schema nodes against META rows.
  std::vector<std::string> names;
  RETURN_NOT_OK(ListTableSchemas(&names));
  std::set<std::string> with_schema(names.begin(), names.end());
  for (const auto& table : meta_.Tables()) {
    if (!with_schema.count(table)) {
      problem("table " + table + " has META rows but no schema (an unfinished create or delete)");
      if (repair) {
        RETURN_NOT_OK(FinishDelete(table));
        repaired("deleted the leftover rows of " + table);
      }
    }
  }
  // Which live server each tablet lock and each keepAlive names.
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> reported;
  for (const TrackedServer& s : servers_.All()) {
    if (!s.live) continue;
    for (const auto& ts : s.last_status.tablets) {
      reported[{ts.desc.tablet.table, ts.desc.tablet.tablet_id}].push_back(s.address);
    }
  }
  for (const auto& table : names) {
    std::vector<TabletMeta> ts = meta_.TabletsOf(table);
    if (ts.empty()) {
      problem("table " + table + " has a schema but no tablets in META");
      continue;
    }
    Status cov = meta::CheckCoverage(ts);
    if (!cov.ok()) problem(cov.message());
    for (TabletMeta t : ts) {
      std::string name = t.table + "/" + t.id;
      auto rep = reported.find({t.table, t.id});
      if (rep != reported.end() && rep->second.size() > 1) {
        std::string who;
        for (const auto& a : rep->second) who += " " + a;
        problem(name + " is reported served by more than one server:" + who);
      }
      if (t.state != TabletState::kAssigned) {
        problem(name + " is " + meta::TabletStateName(t.state) +
                (t.server.empty() ? "" : "@" + t.server) +
                (t.reason.empty() ? "" : " (" + t.reason + ")"));
        if (repair) {
          RETURN_NOT_OK(ReconcileTablet(t));
          repaired("reconciled " + name);
        }
        continue;
      }
      if (!servers_.IsLive(t.server)) {
        problem(name + " is assigned to " + t.server + ", which is not live");
        if (repair) {
          RETURN_NOT_OK(ReconcileTablet(t));
          repaired("reassigned " + name);
        }
        continue;
      }
      std::string holder;
      bool exists = false;
      lock::NodeStat st;
      std::unique_ptr<lock::LockHandle> h;
      Status s = session_->Open(meta::TabletLockPath(t.table, t.id), lock::kRead, 0, &h);
      if (s.ok()) s = h->GetContents(&holder, &st);
      exists = s.ok();
      if (!exists || st.lock_mode != lock::LockMode::kExclusive) {
        problem(name + " is assigned to " + t.server + " but nobody holds its lock");
      } else if (holder != t.server) {
        problem(name + " is assigned to " + t.server + " but its lock is held by " + holder);
      } else {
        continue;
      }
      if (repair) {
        t.state = TabletState::kAssigning;  // reload it where META says (unloading elsewhere)
        RETURN_NOT_OK(meta_.Put(t));
        RETURN_NOT_OK(Assign(t, t.server));
        repaired("reloaded " + name + " on " + t.server);
      }
    }
  }
  if (reply->problems == 0) reply->lines.push_back("OK: META covers every table, every tablet is assigned once and its lock agrees");
  return Status::OK();
}

}  // namespace kdi::masterd
