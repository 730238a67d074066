// FakeCluster (see client_remote_fake.h).
#include "t/client_remote_fake.h"

#include "lib/client/remote_meta.h"

namespace kdi::test {

using client::TabletRef;

void FakeCluster::CreateTable(const std::string& table, const Schema& schema,
                              const std::vector<Tablet>& tablets) {
  std::lock_guard<std::mutex> l(mu_);
  TableData& t = tables_[table];
  t.schema = schema;
  t.tablets = tablets;
}

void FakeCluster::MoveTablet(const std::string& table, const std::string& id,
                             const std::string& server) {
  std::lock_guard<std::mutex> l(mu_);
  for (Tablet& t : tables_[table].tablets) {
    if (t.id == id) t.server = server;
  }
}

void FakeCluster::DropTable(const std::string& table) {
  std::lock_guard<std::mutex> l(mu_);
  tables_.erase(table);
}

void FakeCluster::SplitTablet(const std::string& table, const std::string& id,
                              const std::string& row, const std::string& left_id,
                              const std::string& right_id) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Tablet>& v = tables_[table].tablets;
  for (size_t i = 0; i < v.size(); i++) {
    if (v[i].id != id) continue;
    Tablet left = v[i], right = v[i];
    left.id = left_id;
    left.end = row;
    right.id = right_id;
    right.start = row;
    v[i] = left;
    v.insert(v.begin() + i + 1, right);
    return;
  }
}

void FakeCluster::SetServerDown(const std::string& server, bool down) {
  std::lock_guard<std::mutex> l(mu_);
  if (down) {
    down_.insert(server);
  } else {
    down_.erase(server);
  }
}

std::vector<FakeCluster::Tablet> FakeCluster::tablets(const std::string& table) {
  std::lock_guard<std::mutex> l(mu_);
  return tables_[table].tablets;
}

std::vector<Cell> FakeCluster::cells(const std::string& table) {
  std::lock_guard<std::mutex> l(mu_);
  const auto& s = tables_[table].cells;
  return std::vector<Cell>(s.begin(), s.end());
}

int FakeCluster::calls(const std::string& server, const std::string& what) {
  std::lock_guard<std::mutex> l(mu_);
  return calls_[server + " " + what];
}

int FakeCluster::total_calls(const std::string& what) {
  std::lock_guard<std::mutex> l(mu_);
  int n = 0;
  for (auto& [k, v] : calls_) {
    if (k.size() > what.size() && k.compare(k.size() - what.size(), what.size(), what) == 0 &&
        k[k.size() - what.size() - 1] == ' ') {
      n += v;
    }
  }
  return n;
}

void FakeCluster::OnScanPage(std::function<void(int)> hook) {
  std::lock_guard<std::mutex> l(mu_);
  scan_hook_ = std::move(hook);
}

void FakeCluster::OnApply(std::function<void(int)> hook) {
  std::lock_guard<std::mutex> l(mu_);
  apply_hook_ = std::move(hook);
}

void FakeCluster::OnSync(std::function<void(int)> hook) {
  std::lock_guard<std::mutex> l(mu_);
  sync_hook_ = std::move(hook);
}

int FakeCluster::synced(const std::string& table, const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  return synced_[table + "/" + id];
}

Status FakeCluster::Count(const std::string& server, const std::string& what) {
  calls_[server + " " + what]++;
  if (down_.count(server)) return Status::NetworkError("connection refused by " + server);
  return Status::OK();
}

Status FakeCluster::Serving(const std::string& server, const TabletRef& ref, Tablet** out) {
  auto it = tables_.find(ref.table);
  if (it != tables_.end()) {
    for (Tablet& t : it->second.tablets) {
      if (t.id == ref.tablet_id && t.server == server && t.state == "assigned") {
        *out = &t;
        return Status::OK();
      }
    }
  }
  return Status::NotServing("tablet " + ref.ToString() + " is not served by " + server);
}

Status FakeCluster::ReadRoot(std::string* server, int64_t) {
  std::lock_guard<std::mutex> l(mu_);
  *server = root_;
  return Status::OK();
}

Status FakeCluster::ReadSchema(const std::string& table, Schema* schema, int64_t) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = tables_.find(table);
  if (it == tables_.end()) return Status::NotFound("no such table: " + table);
  *schema = it->second.schema;
  return Status::OK();
}

void FakeCluster::ApplyRow(TableData* t, const RowMutation& m) {
  for (const Mutation& mu : m.mutations()) {
    switch (mu.type) {
      case Mutation::Type::kSet: {
        Cell c(m.row(), mu.column, mu.timestamp, mu.value);
        t->cells.erase(c);
        t->cells.insert(c);
        break;
      }
      case Mutation::Type::kErase:
        t->cells.erase(Cell(m.row(), mu.column, mu.timestamp, ""));
        break;
      case Mutation::Type::kEraseColumn:
      case Mutation::Type::kEraseRow:
        for (auto it = t->cells.begin(); it != t->cells.end();) {
          bool match = it->row == m.row() &&
                       (mu.type == Mutation::Type::kEraseRow || it->column == mu.column);
          it = match ? t->cells.erase(it) : std::next(it);
        }
        break;
    }
  }
  t->revisions[m.row()]++;
}

Status FakeCluster::Apply(const std::string& server, const client::ApplyRequest& req, int64_t,
                          client::ApplyReply* reply) {
  std::function<void(int)> hook;
  int call = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    hook = apply_hook_;
    call = apply_calls_++;
  }
  if (hook) hook(call);
  std::unique_lock<std::mutex> l(mu_);
  RETURN_NOT_OK(Count(server, "apply"));
  Tablet* tablet;
  RETURN_NOT_OK(Serving(server, req.tablet, &tablet));
  for (const RowMutation& m : req.rows) {
    if (m.row() < tablet->start || (!tablet->end.empty() && m.row() >= tablet->end)) {
      return Status::InvalidArgument("row " + m.row() + " is outside the tablet's range");
    }
  }
  TableData& t = tables_[req.tablet.table];
  for (const RowMutation& m : req.rows) ApplyRow(&t, m);
  reply->revision = 1;
  reply->durable = false;
  if (!req.sync || !apply_sync_) return Status::OK();
  std::function<void(int)> sync_hook = sync_hook_;
  const int sync_call = sync_calls_++;
  l.unlock();
  if (sync_hook) sync_hook(sync_call);
  l.lock();
  RETURN_NOT_OK(Count(server, "syncapply"));
  RETURN_NOT_OK(Serving(server, req.tablet, &tablet));
  if (!sync_error_.ok()) return sync_error_;
  synced_[req.tablet.ToString()]++;
  reply->durable = true;
  return Status::OK();
}

void FakeCluster::SetApplySyncSupported(bool supported) {
  std::lock_guard<std::mutex> l(mu_);
  apply_sync_ = supported;
}

void FakeCluster::FailSyncs(Status status) {
  std::lock_guard<std::mutex> l(mu_);
  sync_error_ = std::move(status);
}

Status FakeCluster::ConditionalApply(const std::string& server,
                                     const client::ConditionalApplyRequest& req, int64_t,
                                     client::ApplyReply* reply) {
  std::lock_guard<std::mutex> l(mu_);
  RETURN_NOT_OK(Count(server, "condapply"));
  Tablet* tablet;
  RETURN_NOT_OK(Serving(server, req.tablet, &tablet));
  TableData& t = tables_[req.tablet.table];
  const std::string& row = req.mutation.row();
  for (const Condition& c : req.conditions) {
    bool ok = true;
    if (c.type == Condition::Type::kRowAbsent) {
      for (const Cell& cell : t.cells) ok = ok && cell.row != row;
    } else if (c.type == Condition::Type::kRowRevisionIs) {
      ok = t.revisions[row] == c.revision;
    } else {
      return Status::NotSupported("fake: condition type");
    }
    if (!ok) return Status::Conflict("condition failed");
  }
  ApplyRow(&t, req.mutation);
  reply->revision = t.revisions[row];
  return Status::OK();
}

Status FakeCluster::Sync(const std::string& server, const client::SyncRequest& req, int64_t) {
  std::function<void(int)> hook;
  int call = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    hook = sync_hook_;
    call = sync_calls_++;
  }
  if (hook) hook(call);
  std::lock_guard<std::mutex> l(mu_);
  RETURN_NOT_OK(Count(server, "sync"));
  Tablet* tablet;
  RETURN_NOT_OK(Serving(server, req.tablet, &tablet));
  if (!sync_error_.ok()) return sync_error_;
  synced_[req.tablet.ToString()]++;
  return Status::OK();
}

Status FakeCluster::GetRowRevision(const std::string& server,
                                   const client::RowRevisionRequest& req, int64_t,
                                   client::RowRevisionReply* reply) {
  std::lock_guard<std::mutex> l(mu_);
  RETURN_NOT_OK(Count(server, "revision"));
  Tablet* tablet;
  RETURN_NOT_OK(Serving(server, req.tablet, &tablet));
  reply->revision = tables_[req.tablet.table].revisions[req.row];
  return Status::OK();
}

std::vector<Cell> FakeCluster::MetaCells() {
  std::vector<Cell> out;
  for (auto& [name, t] : tables_) {
    for (const Tablet& tb : t.tablets) {
      std::string key = client::ClientMetaRowKey(name, tb.end);
      out.emplace_back(key, "loc:server", 1, tb.server);
      out.emplace_back(key, "tablet:end", 1, tb.end);
      out.emplace_back(key, "tablet:dir", 1, "tables/" + name + "/" + tb.id);
      out.emplace_back(key, "tablet:id", 1, tb.id);
      out.emplace_back(key, "tablet:start", 1, tb.start);
      out.emplace_back(key, "tablet:state", 1, tb.state);
    }
  }
  std::sort(out.begin(), out.end(), CellKeyLess);
  return out;
}

Status FakeCluster::ScanPage(const std::string& server, const client::ScanPageRequest& req,
                             int64_t, client::ScanPageReply* reply) {
  std::function<void(int)> hook;
  int page = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (req.tablet.table != "META") {
      hook = scan_hook_;
      page = data_pages_++;  // every attempt counts, so hooks fire while a server is down
    }
  }
  if (hook) hook(page);
  std::lock_guard<std::mutex> l(mu_);
  RETURN_NOT_OK(Count(server, req.tablet.table == "META" ? "meta" : "scan"));
  std::vector<Cell> all;
  std::string start, end;
  if (req.tablet.table == "META") {
    if (server != root_) return Status::NotServing("META is not served by " + server);
    all = MetaCells();
  } else {
    Tablet* tablet;
    RETURN_NOT_OK(Serving(server, req.tablet, &tablet));
    start = tablet->start;
    end = tablet->end;
    const auto& s = tables_[req.tablet.table].cells;
    all.assign(s.begin(), s.end());
  }
  // Resume token: the key of the last cell returned, as "row\0column\0ts".
  Cell after;
  bool have_after = !req.resume_token.empty();
  if (have_after) {
    size_t a = req.resume_token.find('\0');
    size_t b = req.resume_token.find('\0', a + 1);
    after.row = req.resume_token.substr(0, a);
    after.column = req.resume_token.substr(a + 1, b - a - 1);
    after.timestamp = std::stoll(req.resume_token.substr(b + 1));
  }
  reply->cells.clear();
  reply->done = true;
  for (const Cell& c : all) {
    if (c.row < start || (!end.empty() && c.row >= end)) continue;
    if (have_after && CompareCellKeys(c, after) <= 0) continue;
    if (!req.predicate.rows().Contains(c.row) || !req.predicate.columns().Contains(c.column) ||
        !req.predicate.times().Contains(c.timestamp)) {
      continue;
    }
    if (reply->cells.size() >= req.max_cells) {
      reply->done = false;
      break;
    }
    reply->cells.push_back(c);
  }
  if (!reply->cells.empty()) {
    const Cell& last = reply->cells.back();
    reply->resume_token = last.row + std::string(1, '\0') + last.column + std::string(1, '\0') +
                          std::to_string(last.timestamp);
  } else {
    reply->resume_token = req.resume_token;
  }
  return Status::OK();
}

Schema FakeWordSchema() {
  Schema s;
  FamilyOptions f;
  f.name = "w";
  Status st = s.AddFamily(f);
  (void)st;  // a constant, valid family
  return s;
}

client::RemoteTableOptions FakeTableOptions() {
  client::RemoteTableOptions o;
  o.table = "t";
  o.lockd_address = "fake:1";
  o.op_timeout_ms = 5000;
  o.rpc_timeout_ms = 1000;
  o.flush_interval_ms = 0;
  o.write_buffer_bytes = 1 << 20;
  o.initial_backoff_ms = 1;
  o.max_backoff_ms = 20;
  return o;
}

}  // namespace kdi::test
