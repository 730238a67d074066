// TableService: the 3a handlers. See table_service.h.
#include "tabletd/table_service.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "lib/client/table_protocol.h"

namespace kdi::tabletd {
namespace {

using client::TabletRef;

std::string Shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '"' && c != '\\') {
      out += c;
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  if (s.size() > 40) out += "...";
  return "\"" + out + "\"";
}

// A write that raced with a split reaches a frozen tablet: the storage says
// NotServing, but the tablet is still ours and writable again (as its children)
// once the master commits, so tell the client to retry rather than re-locate.
Status SplitAware(const Status& s, const ServedTablet* t) {
  if (s.IsNotServing() && (t->frozen.load() || t->splitting.load())) {
    return Status::ServiceUnavailable(s.message() + " (split in progress; retry)");
  }
  return s;
}

}  // namespace

Status ValidateRowMutation(const RowMutation& rm, const storage::TabletMeta& meta,
                           uint64_t max_value_bytes) {
  const std::string& row = rm.row();
  if (row.empty()) return Status::InvalidArgument("empty row key");
  if (row.size() > kMaxRowBytes) {
    return Status::InvalidArgument("row " + Shown(row) + " is " + std::to_string(row.size()) +
                                   " bytes; the limit is " + std::to_string(kMaxRowBytes));
  }
  if (!meta.ContainsRow(row)) {
    return Status::InvalidArgument("row " + Shown(row) + " is outside the tablet's range [" +
                                   Shown(meta.start_row) + ", " +
                                   (meta.end_row.empty() ? "+inf" : Shown(meta.end_row)) + ")");
  }
  if (rm.empty()) return Status::InvalidArgument("row " + Shown(row) + " has no mutation");
  for (const Mutation& m : rm.mutations()) {
    if (m.type == Mutation::Type::kEraseRow) continue;
    if (m.column.size() > kMaxColumnBytes) {
      return Status::InvalidArgument("column " + Shown(m.column) + " of row " + Shown(row) +
                                     " is longer than " + std::to_string(kMaxColumnBytes) +
                                     " bytes");
    }
    if (m.value.size() > max_value_bytes) {
      return Status::InvalidArgument("value of " + Shown(row) + " " + Shown(m.column) + " is " +
                                     std::to_string(m.value.size()) +
                                     " bytes; the limit is " + std::to_string(max_value_bytes));
    }
    if (meta.schema.FindFamilyOfColumn(m.column) == nullptr) {
      return Status::InvalidArgument("unknown column family " +
                                     Shown(ColumnFamily(m.column)) + " (column " +
                                     Shown(m.column) + ") in table " + Shown(meta.table));
    }
  }
  return Status::OK();
}

void TableService::Register(rpc::Server* server) {
  using std::placeholders::_1;
  using std::placeholders::_2;
  const rpc::RoleSet any = rpc::RoleSet::Any();
  server_ = server;
  server->Register(client::kMsgApplyWithFlags,
                   std::bind(&TableService::HandleApplyWithFlags, this, _1, _2), any,
                   std::bind(&TableService::TryApplyWithFlagsInline, this, _1, _2));
  server->Register(client::kMsgApply, std::bind(&TableService::HandleApply, this, _1, _2), any,
                   std::bind(&TableService::TryApplyInline, this, _1, _2));
  server->Register(client::kMsgConditionalApply,
                   std::bind(&TableService::HandleConditionalApply, this, _1, _2), any,
                   std::bind(&TableService::TryConditionalApplyInline, this, _1, _2));
  server->Register(client::kMsgSync, std::bind(&TableService::HandleSync, this, _1, _2),
                   rpc::Dispatch::kWorker, any);
  server->Register(client::kMsgScanPage, std::bind(&TableService::HandleScanPage, this, _1, _2),
                   any, std::bind(&TableService::TryScanPageInline, this, _1, _2));
  server->Register(client::kMsgGetRowRevision,
                   std::bind(&TableService::HandleGetRowRevision, this, _1, _2),
                   rpc::Dispatch::kWorker, any);
}

bool TableService::AcquireOrReply(const client::TabletRef& ref, bool for_write, TabletUse* use,
                                  const rpc::ResponderPtr& r) {
  Status s = client::CheckTabletRef(ref);
  if (s.ok()) s = registry_->Acquire(ref, for_write, use);
  if (!s.ok()) r->Reply(s);
  return s.ok();
}

void TableService::HandleApply(std::string body, rpc::ResponderPtr r) {
  client::ApplyRequest req;
  if (DecodeOrReply(client::DecodeApplyRequest, body, &req, r)) HandleApplyRequest(req, r);
}

void TableService::HandleApplyWithFlags(std::string body, rpc::ResponderPtr r) {
  client::ApplyRequest req;
  if (DecodeOrReply(client::DecodeApplyWithFlagsRequest, body, &req, r)) HandleApplyRequest(req, r);
}

void TableService::HandleApplyRequest(const client::ApplyRequest& req, rpc::ResponderPtr r) {
  if (req.rows.empty()) return r->Reply(Status::InvalidArgument("Apply with no rows"));
  TabletUse use;
  if (AcquireOrReply(req.tablet, /*for_write=*/true, &use, r)) ApplyAndReply(req, use, r, nullptr);
}

void TableService::SyncAndReply(const client::TabletRef& ref, const TabletUse& use,
                                std::string reply, const rpc::ResponderPtr& r) {
  use.tablet()->SyncAsync([ref, r, out = std::move(reply)](Status s) {
    if (!s.ok()) {
      return r->Reply(s.CloneAndPrepend("the batch was applied to " + ref.ToString() +
                                        " but syncing it failed (it may or may not be durable)"));
    }
    r->Reply(Status::OK(), out);
  });
}

bool TableService::ApplyAndReply(const client::ApplyRequest& req, const TabletUse& use,
                                 const rpc::ResponderPtr& r, bool* busy) {
  storage::TabletMeta meta = use.tablet()->meta();
  uint64_t cells = 0;
  for (const RowMutation& rm : req.rows) {
    Status s = ValidateRowMutation(rm, meta, config_.max_value_bytes);
    if (!s.ok()) {
      r->Reply(s);
      return true;
    }
    cells += rm.mutations().size();
  }
  client::ApplyReply reply;
  Status s = busy == nullptr ? use.tablet()->Apply(req.rows, &reply.revision)
                             : use.tablet()->TryApply(req.rows, &reply.revision, busy);
  if (busy != nullptr && *busy) return false;
  counters_->applies++;
  use.served()->applies++;
  if (!s.ok()) {
    r->Reply(SplitAware(s, use.served()).CloneAndPrepend("applying to " + req.tablet.ToString()));
    return true;
  }
  use.served()->cells_written += cells;
  std::string out;
  client::EncodeApplyReply(reply, &out);
  if (req.sync) {
    SyncAndReply(req.tablet, use, std::move(out), r);
    return true;
  }
  r->Reply(Status::OK(), std::move(out));
  return true;
}

void TableService::HandleConditionalApply(std::string body, rpc::ResponderPtr r) {
  client::ConditionalApplyRequest req;
  TabletUse use;
  if (DecodeOrReply(client::DecodeConditionalApplyRequest, body, &req, r) &&
      AcquireOrReply(req.tablet, /*for_write=*/true, &use, r)) {
    ConditionalApplyAndReply(req, use, r, nullptr);
  }
}

bool TableService::ConditionalApplyAndReply(const client::ConditionalApplyRequest& req,
                                            const TabletUse& use, const rpc::ResponderPtr& r,
                                            bool* busy) {
  storage::TabletMeta meta = use.tablet()->meta();
  Status s = ValidateRowMutation(req.mutation, meta, config_.max_value_bytes);
  if (!s.ok()) {
    r->Reply(s);
    return true;
  }
  client::ApplyReply reply;
  s = busy == nullptr
          ? use.tablet()->ApplyIf(req.conditions, req.mutation, &reply.revision)
          : use.tablet()->TryApplyIf(req.conditions, req.mutation, &reply.revision, busy);
  if (busy != nullptr && *busy) return false;
  counters_->applies++;
  use.served()->applies++;
  if (!s.ok()) {
    r->Reply(SplitAware(s, use.served()));
    return true;
  }
  use.served()->cells_written += req.mutation.mutations().size();
  std::string out;
  client::EncodeApplyReply(reply, &out);
  r->Reply(Status::OK(), std::move(out));
  return true;
}

// The inline write paths take only small requests (a few rows: the I/O thread
// must not spend long on one request) to a tablet that takes writes now
// (TryAcquire for writing: not frozen by a split); everything else, and every
// error of decoding or acquiring, is left to the worker handler, which
// explains it (and decodes the body again: only small bodies pay that twice).
bool TableService::TryApplyInline(const std::string& body, const rpc::ResponderPtr& r) {
  if (body.size() > kInlineMaxWriteBytes) return false;
  client::ApplyRequest req;
  if (!client::DecodeApplyRequest(body, &req).ok()) return false;
  return TryApplyRequestInline(req, r);
}

bool TableService::TryApplyWithFlagsInline(const std::string& body,
                                           const rpc::ResponderPtr& r) {
  if (body.size() > kInlineMaxWriteBytes) return false;
  client::ApplyRequest req;
  if (!client::DecodeApplyWithFlagsRequest(body, &req).ok()) return false;
  return TryApplyRequestInline(req, r);
}

bool TableService::TryApplyRequestInline(const client::ApplyRequest& req,
                                         const rpc::ResponderPtr& r) {
  if (!client::CheckTabletRef(req.tablet).ok() || req.rows.empty()) return false;
  TabletUse use;
  if (!registry_->TryAcquire(req.tablet, /*for_write=*/true, &use)) return false;
  bool busy = false;
  return ApplyAndReply(req, use, r, &busy);
}

bool TableService::TryConditionalApplyInline(const std::string& body,
                                             const rpc::ResponderPtr& r) {
  if (body.size() > kInlineMaxWriteBytes) return false;
  client::ConditionalApplyRequest req;
  if (!client::DecodeConditionalApplyRequest(body, &req).ok() ||
      !client::CheckTabletRef(req.tablet).ok()) {
    return false;
  }
  TabletUse use;
  if (!registry_->TryAcquire(req.tablet, /*for_write=*/true, &use)) return false;
  bool busy = false;
  return ConditionalApplyAndReply(req, use, r, &busy);
}

void TableService::HandleSync(std::string body, rpc::ResponderPtr r) {
  client::SyncRequest req;
  TabletUse use;
  // A frozen (split) parent took no write since the split; syncing it is fine.
  if (!DecodeOrReply(client::DecodeSyncRequest, body, &req, r) ||
      !AcquireOrReply(req.tablet, /*for_write=*/false, &use, r)) {
    return;
  }
  const std::string what = "syncing " + req.tablet.ToString();
  use.tablet()->SyncAsync([r, what](Status st) { r->Reply(st.CloneAndPrepend(what)); });
}

void TableService::HandleScanPage(std::string body, rpc::ResponderPtr r) {
  client::ScanPageRequest req;
  TabletUse use;
  if (!DecodeOrReply(client::DecodeScanPageRequest, body, &req, r) ||
      !AcquireOrReply(req.tablet, /*for_write=*/false, &use, r)) {
    return;
  }
  counters_->scans++;
  use.served()->scans++;
  storage::ScanLimits limits;
  limits.max_cells = req.max_cells;
  limits.max_bytes = req.max_bytes;
  storage::ScanPageResult* page = ThreadPage();
  Status s = use.tablet()->ScanPage(req.predicate, req.resume_token, limits, page);
  if (!s.ok()) return r->Reply(s.CloneAndPrepend("scanning " + req.tablet.ToString()));
  ReplyWithPage(page, r);
}

storage::ScanPageResult* TableService::ThreadPage() {
  thread_local storage::ScanPageResult page;
  return &page;
}

void TableService::ReplyWithPage(storage::ScanPageResult* page, const rpc::ResponderPtr& r) {
  std::string out;
  client::EncodeScanPageCells(page->cells.data(), page->cells.size(), page->resume_token,
                              page->done, &out);
  // The page stays with the thread for its next scan (the engine reuses its
  // Cells' strings), but only as much of it as a benchmark-sized page needs:
  // strings grown by long keys or values and vectors grown by big pages are
  // given back, so what each thread keeps is bounded (kKeep* in table_service.h).
  std::vector<Cell>& cells = page->cells;
  if (cells.capacity() > kKeepPageCells) {
    std::vector<Cell>().swap(cells);
  } else {
    for (Cell& c : cells) {
      if (c.row.capacity() > kKeepRowBytes) std::string().swap(c.row);
      if (c.column.capacity() > kKeepColumnBytes) std::string().swap(c.column);
      if (c.value.capacity() > kKeepValueBytes) std::string().swap(c.value);
    }
  }
  r->Reply(Status::OK(), std::move(out));
}

bool TableService::TryScanPageInline(const std::string& body, const rpc::ResponderPtr& r) {
  // Bounds the work done on the I/O thread: a page of one row, at most this
  // many cells / bytes (a longer row continues on the next page).
  constexpr size_t kInlineMaxCells = 256;
  constexpr size_t kInlineMaxBytes = 256 * 1024;
  client::ScanPageRequest req;
  if (!client::DecodeScanPageRequest(body, &req).ok() ||
      !client::CheckTabletRef(req.tablet).ok()) {
    return false;
  }
  const std::vector<StringInterval>& rows = req.predicate.rows().intervals();
  if (rows.size() != 1 || rows[0].upper_unbounded ||
      rows[0].upper.size() != rows[0].lower.size() + 1 || rows[0].upper.back() != '\0' ||
      rows[0].upper.compare(0, rows[0].lower.size(), rows[0].lower) != 0) {
    return false;  // not a point read
  }
  TabletUse use;
  if (!registry_->TryAcquire(req.tablet, /*for_write=*/false, &use)) return false;
  storage::ScanLimits limits;
  limits.max_cells = std::min<size_t>(req.max_cells, kInlineMaxCells);
  limits.max_bytes = std::min<size_t>(req.max_bytes, kInlineMaxBytes);
  storage::ScanPageResult* page = ThreadPage();
  bool busy = false;
  Status s = use.tablet()->TryScanPage(req.predicate, req.resume_token, limits, page, &busy);
  if (busy) return false;
  counters_->scans++;
  use.served()->scans++;
  if (!s.ok()) {
    r->Reply(s.CloneAndPrepend("scanning " + req.tablet.ToString()));
    return true;
  }
  ReplyWithPage(page, r);
  return true;
}

void TableService::HandleGetRowRevision(std::string body, rpc::ResponderPtr r) {
  client::RowRevisionRequest req;
  TabletUse use;
  if (!DecodeOrReply(client::DecodeRowRevisionRequest, body, &req, r) ||
      !AcquireOrReply(req.tablet, /*for_write=*/false, &use, r)) {
    return;
  }
  client::RowRevisionReply reply;
  Status s = use.tablet()->GetRowRevision(req.row, &reply.revision);
  if (!s.ok()) return r->Reply(s);
  std::string out;
  client::EncodeRowRevisionReply(reply, &out);
  r->Reply(Status::OK(), std::move(out));
}

}  // namespace kdi::tabletd
