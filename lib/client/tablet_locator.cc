// TabletLocator (see tablet_locator.h).
#include "lib/client/tablet_locator.h"

#include <vector>

#include "kdi/scan_predicate.h"
#include "lib/client/remote_meta.h"

namespace kdi::client {

Status TabletLocator::RootServer(int64_t timeout_ms, std::string* server) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!root_.empty()) {
      *server = root_;
      return Status::OK();
    }
  }
  stats_->root_lookups++;
  std::string root;
  RETURN_NOT_OK_PREPEND(backend_->ReadRoot(&root, timeout_ms), "reading /kdi/root");
  if (root.empty()) return Status::ServiceUnavailable("/kdi/root is empty (META not loaded yet)");
  std::lock_guard<std::mutex> l(mu_);
  root_ = root;
  *server = root;
  return Status::OK();
}

Status TabletLocator::Locate(std::string_view row, int64_t timeout_ms, TabletLocation* out) {
  if (cache_.Find(table_, row, out)) return Status::OK();
  return LookupMeta(row, timeout_ms, out);
}

void TabletLocator::Invalidate(const TabletLocation& loc, const Status& why) {
  stats_->cache_invalidations++;
  if (why.IsNetworkError()) {
    cache_.InvalidateServer(loc.server);
  } else {
    cache_.Invalidate(loc);
  }
}

Status TabletLocator::LookupMeta(std::string_view row, int64_t timeout_ms,
                                 TabletLocation* out) {
  std::string root;
  RETURN_NOT_OK(RootServer(timeout_ms, &root));
  stats_->meta_lookups++;

  // META rows of this table whose key is > ClientMetaRowKey(table, row): the first
  // one is the tablet holding row (CLUSTER.md).
  std::string lower;
  if (row.empty()) {
    lower = table_;
    lower.push_back('\0');  // "" = -infinity: the table's first tablet
  } else {
    lower = ClientMetaRowKey(table_, row);
    lower.push_back('\0');  // smallest key strictly greater
  }
  std::string upper = table_;
  upper.push_back('\x01');  // every key of the table starts with table + "\x00"
  ScanPageRequest req;
  req.tablet = TabletRef{kClientMetaTable, kClientMetaTabletId};
  req.predicate.SetRowRange(lower, upper);
  req.predicate.SetHistory(1);
  req.max_cells = kPrefetchTablets * 8;
  req.max_bytes = 1u << 20;
  ScanPageReply reply;
  Status s = backend_->ScanPage(root, req, timeout_ms, &reply);
  if (!s.ok()) {
    if (IsRetryable(s)) {
      std::lock_guard<std::mutex> l(mu_);
      if (root_ == root) root_.clear();
    }
    return s.CloneAndPrepend("reading META at " + root);
  }

  std::vector<MetaEntry> tablets;
  RETURN_NOT_OK_PREPEND(DecodeMetaEntries(reply.cells, &tablets), "decoding META");
  if (tablets.empty()) {
    return Status::NotFound("table " + table_ + " has no tablets in META");
  }
  // Every row but the last is complete (pages end on row boundaries); the last
  // is complete when the page says done or when it is not cut by the limit.
  bool last_complete = reply.done || reply.cells.size() < req.max_cells;
  for (size_t i = 0; i < tablets.size(); i++) {
    const MetaEntry& t = tablets[i];
    if (i + 1 == tablets.size() && !last_complete && i > 0) break;
    if (t.table != table_) continue;
    if (t.state != "assigned" || t.server.empty()) continue;
    TabletLocation loc{t.table, t.tablet_id, t.start_row, t.end_row, t.server};
    cache_.Insert(loc);
  }
  const MetaEntry& first = tablets.front();
  if (first.table != table_) {
    return Status::NotFound("table " + table_ + " has no tablets in META");
  }
  if (first.start_row > row) {
    return Status::ServiceUnavailable("no tablet of " + table_ + " covers row " +
                                      PrintableRow(row) + " in META (a split in progress?)");
  }
  if (first.state != "assigned" || first.server.empty()) {
    return Status::ServiceUnavailable("tablet " + table_ + "/" + first.tablet_id +
                                      " is not served (state " + first.state + ")");
  }
  *out = TabletLocation{first.table, first.tablet_id, first.start_row, first.end_row,
                        first.server};
  return Status::OK();
}

}  // namespace kdi::client
