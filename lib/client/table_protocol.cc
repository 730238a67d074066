// Table interface codec (3a). Byte grammar (primitives as in doc/protocol.md:
// varint, varsint, bool, bytes = varint length + bytes, count = varint32 checked
// against the remaining input):
//
//   ref       := bytes table  bytes tablet_id
//   mutation  := varint32 type (0 set, 1 erase, 2 erase column, 3 erase row)
//                bytes column  varsint64 timestamp  bytes value
//   rowmut    := bytes row  count n  n x mutation
//   condition := varint32 type (0 cell equals, 1 cell absent, 2 latest equals,
//                3 column absent, 4 row absent, 5 row revision is)
//                bytes column  varsint64 timestamp  bytes value  varint64 revision
//   cell      := bool same_row  [bytes row, only when same_row is false]
//                bytes column  varsint64 timestamp  bytes value
//                (same_row: the row of the previous cell of this reply; the
//                first cell of a reply must carry its row)
//
//   type                  request                                   reply payload
//   300 Apply             ref count n, n x rowmut                   varint64 revision
//   301 ConditionalApply  ref count n, n x condition rowmut         varint64 revision
//   302 Sync              ref                                       (empty)
//   303 ScanPage          ref bytes predicate (ScanPredicate        count n, n x cell
//                         binary form) bytes resume_token            bytes resume_token
//                         varint32 max_cells varint64 max_bytes      bool done
//   304 GetRowRevision    ref bytes row                             varint64 revision
//   305 ApplyWithFlags    ref varint32 flags count n, n x rowmut    varint64 revision
//                         (flags: bit 0 sync = durable before the
//                         reply; other bits refused, InvalidArgument)
//
// Limits (table_protocol.h) are checked before anything is allocated: table
// names 255 bytes, tablet ids 64, rows and columns 1 MiB on the wire (64 KiB
// is enforced by validation with a clearer error), values 72 MiB, counts by
// the remaining bytes and the kMax* constants.
#include "lib/client/table_protocol.h"

#include <cstdio>
#include <cstring>

namespace kdi::client {
namespace {

constexpr uint32_t kMaxMutationType = static_cast<uint32_t>(Mutation::Type::kEraseRow);
constexpr uint32_t kMaxConditionType = static_cast<uint32_t>(Condition::Type::kRowRevisionIs);

void PutMutation(std::string* out, const Mutation& m) {
  PutVarint32(out, static_cast<uint32_t>(m.type));
  PutLengthPrefixed(out, m.column);
  PutVarsint64(out, m.timestamp);
  PutLengthPrefixed(out, m.value);
}

void PutRowMutation(std::string* out, const RowMutation& rm) {
  PutLengthPrefixed(out, rm.row());
  PutVarint32(out, static_cast<uint32_t>(rm.mutations().size()));
  for (const Mutation& m : rm.mutations()) PutMutation(out, m);
}

bool GetRowMutation(Decoder* d, RowMutation* rm) {
  std::string row;
  uint32_t n = 0;
  if (!d->GetLengthPrefixed(&row, kMaxWireKeyBytes)) return false;
  if (!d->GetCount(&n, 4, kMaxMutationsPerRow)) return false;
  *rm = RowMutation(std::move(row));
  for (uint32_t i = 0; i < n; i++) {
    uint32_t type = 0;
    std::string_view column, value;
    int64_t ts = 0;
    if (!d->GetVarint32(&type) || !d->GetLengthPrefixed(&column) || !d->GetVarsint64(&ts) ||
        !d->GetLengthPrefixed(&value)) {
      return false;
    }
    if (type > kMaxMutationType || column.size() > kMaxWireKeyBytes ||
        value.size() > kMaxWireValueBytes) {
      // Poison the decoder: an impossible read makes every later call fail.
      std::string_view dummy;
      d->GetBytes(SIZE_MAX, &dummy);
      return false;
    }
    switch (static_cast<Mutation::Type>(type)) {
      case Mutation::Type::kSet:
        rm->Set(column, ts, value);
        break;
      case Mutation::Type::kErase:
        rm->Erase(column, ts);
        break;
      case Mutation::Type::kEraseColumn:
        rm->EraseColumn(column);
        break;
      case Mutation::Type::kEraseRow:
        rm->EraseRow();
        break;
    }
  }
  return true;
}

void PutCondition(std::string* out, const Condition& c) {
  PutVarint32(out, static_cast<uint32_t>(c.type));
  PutLengthPrefixed(out, c.column);
  PutVarsint64(out, c.timestamp);
  PutLengthPrefixed(out, c.value);
  PutVarint64(out, c.revision);
}

bool GetCondition(Decoder* d, Condition* c) {
  uint32_t type = 0;
  if (!d->GetVarint32(&type) || !d->GetLengthPrefixed(&c->column, kMaxWireKeyBytes) ||
      !d->GetVarsint64(&c->timestamp) || !d->GetLengthPrefixed(&c->value, kMaxWireValueBytes) ||
      !d->GetVarint64(&c->revision)) {
    return false;
  }
  if (type > kMaxConditionType) {
    std::string_view dummy;
    d->GetBytes(SIZE_MAX, &dummy);
    return false;
  }
  c->type = static_cast<Condition::Type>(type);
  return true;
}

}  // namespace

const char* TableMessageName(uint16_t type) {
  switch (type) {
    case kMsgApply:
      return "Apply";
    case kMsgConditionalApply:
      return "ConditionalApply";
    case kMsgSync:
      return "Sync";
    case kMsgScanPage:
      return "ScanPage";
    case kMsgGetRowRevision:
      return "GetRowRevision";
    case kMsgApplyWithFlags:
      return "ApplyWithFlags";
  }
  return "unknown table message";
}

bool IsValidTabletId(std::string_view id) {
  if (id.empty() || id.size() > kMaxTabletIdBytes) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsValidTableName(std::string_view name) {
  if (name.empty() || name.size() > kMaxTableNameBytes) return false;
  if (name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == '\0') return false;
  }
  return true;
}

Status CheckTabletRef(const TabletRef& ref) {
  if (!IsValidTableName(ref.table)) {
    return Status::InvalidArgument("bad table name (1-255 bytes, no '/' or NUL)");
  }
  if (!IsValidTabletId(ref.tablet_id)) {
    return Status::InvalidArgument("bad tablet id \"" + ref.tablet_id.substr(0, 80) +
                                   "\" (expected [A-Za-z0-9_-]{1,64})");
  }
  return Status::OK();
}

void PutTabletRef(std::string* out, const TabletRef& ref) {
  PutLengthPrefixed(out, ref.table);
  PutLengthPrefixed(out, ref.tablet_id);
}

void GetTabletRef(Decoder* d, TabletRef* ref) {
  d->GetLengthPrefixed(&ref->table, kMaxTableNameBytes);
  d->GetLengthPrefixed(&ref->tablet_id, kMaxTabletIdBytes);
}

// ---- 300 Apply ------------------------------------------------------------

namespace {

void PutApplyRows(std::string* out, const std::vector<RowMutation>& rows) {
  PutVarint32(out, static_cast<uint32_t>(rows.size()));
  for (const RowMutation& rm : rows) PutRowMutation(out, rm);
}

void GetApplyRows(Decoder* d, std::vector<RowMutation>* rows) {
  uint32_t n = 0;
  rows->clear();
  if (d->GetCount(&n, 2, kMaxBatchRows)) {
    rows->reserve(n);
    for (uint32_t i = 0; i < n && d->ok(); i++) {
      rows->emplace_back();
      GetRowMutation(d, &rows->back());
    }
  }
}

}  // namespace

void EncodeApplyRequest(const ApplyRequest& req, std::string* out) {
  PutTabletRef(out, req.tablet);
  PutApplyRows(out, req.rows);
}

Status DecodeApplyRequest(std::string_view body, ApplyRequest* req) {
  Decoder d(body);
  GetTabletRef(&d, &req->tablet);
  req->sync = false;
  GetApplyRows(&d, &req->rows);
  return d.status("Apply request");
}

// ---- 305 ApplyWithFlags -----------------------------------------------------

void EncodeApplyWithFlagsRequest(const ApplyRequest& req, std::string* out) {
  PutTabletRef(out, req.tablet);
  PutVarint32(out, req.sync ? kApplyFlagSync : 0);
  PutApplyRows(out, req.rows);
}

Status DecodeApplyWithFlagsRequest(std::string_view body, ApplyRequest* req) {
  Decoder d(body);
  GetTabletRef(&d, &req->tablet);
  uint32_t flags = 0;
  req->rows.clear();
  if (d.GetVarint32(&flags) && (flags & ~kApplyKnownFlags) != 0) {
    char hex[16];
    snprintf(hex, sizeof(hex), "0x%x", flags & ~kApplyKnownFlags);
    return Status::InvalidArgument(std::string("ApplyWithFlags request: unknown flags ") + hex +
                                   " (this server knows only 0x1, sync)");
  }
  req->sync = (flags & kApplyFlagSync) != 0;
  GetApplyRows(&d, &req->rows);
  return d.status("ApplyWithFlags request");
}

void EncodeApplyReply(const ApplyReply& reply, std::string* out) {
  PutVarint64(out, reply.revision);
}

Status DecodeApplyReply(std::string_view body, ApplyReply* reply) {
  Decoder d(body);
  d.GetVarint64(&reply->revision);
  return d.status("Apply reply");
}

// ---- 301 ConditionalApply ---------------------------------------------------

void EncodeConditionalApplyRequest(const ConditionalApplyRequest& req, std::string* out) {
  PutTabletRef(out, req.tablet);
  PutVarint32(out, static_cast<uint32_t>(req.conditions.size()));
  for (const Condition& c : req.conditions) PutCondition(out, c);
  PutRowMutation(out, req.mutation);
}

Status DecodeConditionalApplyRequest(std::string_view body, ConditionalApplyRequest* req) {
  Decoder d(body);
  GetTabletRef(&d, &req->tablet);
  uint32_t n = 0;
  req->conditions.clear();
  if (d.GetCount(&n, 5, kMaxConditions)) {
    req->conditions.resize(n);
    for (uint32_t i = 0; i < n && d.ok(); i++) GetCondition(&d, &req->conditions[i]);
  }
  if (d.ok()) GetRowMutation(&d, &req->mutation);
  return d.status("ConditionalApply request");
}

// ---- 302 Sync --------------------------------------------------------------

void EncodeSyncRequest(const SyncRequest& req, std::string* out) {
  PutTabletRef(out, req.tablet);
}

Status DecodeSyncRequest(std::string_view body, SyncRequest* req) {
  Decoder d(body);
  GetTabletRef(&d, &req->tablet);
  return d.status("Sync request");
}

// ---- 303 ScanPage ------------------------------------------------------------

void EncodeScanPageRequest(const ScanPageRequest& req, std::string* out) {
  PutTabletRef(out, req.tablet);
  std::string pred;
  req.predicate.EncodeTo(&pred);
  PutLengthPrefixed(out, pred);
  PutLengthPrefixed(out, req.resume_token);
  PutVarint32(out, req.max_cells);
  PutVarint64(out, req.max_bytes);
}

Status DecodeScanPageRequest(std::string_view body, ScanPageRequest* req) {
  Decoder d(body);
  GetTabletRef(&d, &req->tablet);
  std::string_view pred;
  d.GetLengthPrefixed(&pred);
  d.GetLengthPrefixed(&req->resume_token, kMaxResumeTokenBytes);
  d.GetVarint32(&req->max_cells);
  d.GetVarint64(&req->max_bytes);
  RETURN_NOT_OK(d.status("ScanPage request"));
  if (pred.size() > kMaxPredicateBytes) {
    return Status::ProtocolError("ScanPage request: predicate larger than 16 MiB");
  }
  RETURN_NOT_OK_PREPEND(ScanPredicate::DecodeFrom(pred, &req->predicate),
                        "ScanPage request: malformed predicate");
  if (req->max_cells == 0 || req->max_cells > kMaxScanPageCells) {
    return Status::InvalidArgument("ScanPage request: max_cells must be 1.." +
                                   std::to_string(kMaxScanPageCells));
  }
  if (req->max_bytes == 0 || req->max_bytes > kMaxScanPageBytes) {
    return Status::InvalidArgument("ScanPage request: max_bytes must be 1.." +
                                   std::to_string(kMaxScanPageBytes));
  }
  return Status::OK();
}

void EncodeScanPageReply(const ScanPageReply& reply, std::string* out) {
  EncodeScanPageCells(reply.cells.data(), reply.cells.size(), reply.resume_token, reply.done,
                      out);
}

namespace {

// Writes varints and bytes through a pointer into memory sized beforehand.
class PageWriter {
 public:
  explicit PageWriter(char* p) : p_(p) {}
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void Varsint(int64_t v) {
    Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void Byte(bool b) { *p_++ = b ? 1 : 0; }
  void Bytes(const std::string& s) {
    Varint(s.size());
    if (!s.empty()) memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  char* pos() const { return p_; }

 private:
  char* p_;
};

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

}  // namespace

size_t ScanPageReplySize(const Cell* cells, size_t n, std::string_view resume_token) {
  size_t size = VarintLength(n);
  const std::string* prev_row = nullptr;
  for (size_t i = 0; i < n; i++) {
    const Cell& c = cells[i];
    size += 1;  // same_row
    if (prev_row == nullptr || *prev_row != c.row) size += VarintLength(c.row.size()) + c.row.size();
    size += VarintLength(c.column.size()) + c.column.size() + VarintLength(ZigZag(c.timestamp)) +
            VarintLength(c.value.size()) + c.value.size();
    prev_row = &c.row;
  }
  return size + VarintLength(resume_token.size()) + resume_token.size() + 1;
}

void EncodeScanPageCells(const Cell* cells, size_t n, std::string_view resume_token, bool done,
                         std::string* out) {
  const size_t size = ScanPageReplySize(cells, n, resume_token);
  const size_t start = out->size();
  out->resize(start + size);
  PageWriter w(&(*out)[start]);
  w.Varint(n);
  const std::string* prev_row = nullptr;
  for (size_t i = 0; i < n; i++) {
    const Cell& c = cells[i];
    bool same = prev_row != nullptr && *prev_row == c.row;
    w.Byte(same);
    if (!same) w.Bytes(c.row);
    w.Bytes(c.column);
    w.Varsint(c.timestamp);
    w.Bytes(c.value);
    prev_row = &c.row;
  }
  w.Varint(resume_token.size());
  if (!resume_token.empty()) memcpy(w.pos(), resume_token.data(), resume_token.size());
  *(w.pos() + resume_token.size()) = done ? 1 : 0;
}

Status DecodeScanPageReply(std::string_view body, ScanPageReply* reply) {
  // reply->cells is reused: existing Cells are overwritten (their strings keep
  // their capacity, so a caller that hands the same reply back allocates
  // nothing per cell) and the vector is cut to the page's cells at the end.
  std::vector<Cell>& cells = reply->cells;
  Decoder d(body);
  uint32_t n = 0;
  uint32_t got = 0;
  if (d.GetCount(&n, 4, kMaxScanPageCells)) {
    if (cells.size() < n) cells.resize(n);
    for (; got < n && d.ok(); got++) {
      bool same = false;
      if (!d.GetBool(&same)) break;
      Cell& c = cells[got];
      if (same) {
        if (got == 0) {
          cells.clear();
          return Status::ProtocolError("ScanPage reply: first cell without a row");
        }
        c.row = cells[got - 1].row;
      } else if (!d.GetLengthPrefixed(&c.row, kMaxWireKeyBytes)) {
        break;
      }
      if (!d.GetLengthPrefixed(&c.column, kMaxWireKeyBytes) || !d.GetVarsint64(&c.timestamp) ||
          !d.GetLengthPrefixed(&c.value, kMaxWireValueBytes)) {
        break;
      }
      c.erasure = false;
    }
  }
  cells.resize(got);
  d.GetLengthPrefixed(&reply->resume_token, kMaxResumeTokenBytes);
  d.GetBool(&reply->done);
  return d.status("ScanPage reply");
}

// ---- 304 GetRowRevision ------------------------------------------------------

void EncodeRowRevisionRequest(const RowRevisionRequest& req, std::string* out) {
  PutTabletRef(out, req.tablet);
  PutLengthPrefixed(out, req.row);
}

Status DecodeRowRevisionRequest(std::string_view body, RowRevisionRequest* req) {
  Decoder d(body);
  GetTabletRef(&d, &req->tablet);
  d.GetLengthPrefixed(&req->row, kMaxWireKeyBytes);
  return d.status("GetRowRevision request");
}

void EncodeRowRevisionReply(const RowRevisionReply& reply, std::string* out) {
  PutVarint64(out, reply.revision);
}

Status DecodeRowRevisionReply(std::string_view body, RowRevisionReply* reply) {
  Decoder d(body);
  d.GetVarint64(&reply->revision);
  return d.status("GetRowRevision reply");
}

}  // namespace kdi::client
