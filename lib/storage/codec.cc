// Wire encodings of cells, mutations and conditions; grammar in codec.h.
#include "lib/storage/codec.h"

namespace kdi::storage {

namespace {
constexpr uint8_t kMaxMutationType = static_cast<uint8_t>(Mutation::Type::kEraseRow);
constexpr uint8_t kMaxConditionType = static_cast<uint8_t>(Condition::Type::kRowRevisionIs);

bool GetByte(Decoder* in, uint8_t* b) {
  std::string_view v;
  if (!in->GetBytes(1, &v)) return false;
  *b = static_cast<uint8_t>(v[0]);
  return true;
}
}  // namespace

void EncodeCell(const Cell& cell, std::string* dst) {
  PutLengthPrefixed(dst, cell.row);
  PutLengthPrefixed(dst, cell.column);
  PutVarsint64(dst, cell.timestamp);
  dst->push_back(cell.erasure ? '\1' : '\0');
  PutLengthPrefixed(dst, cell.value);
}

bool DecodeCell(Decoder* in, Cell* cell, size_t max_value_bytes) {
  uint8_t erasure = 0;
  if (!in->GetLengthPrefixed(&cell->row, kMaxRowBytes) ||
      !in->GetLengthPrefixed(&cell->column, kMaxColumnBytes) ||
      !in->GetVarsint64(&cell->timestamp) || !GetByte(in, &erasure) || erasure > 1 ||
      !in->GetLengthPrefixed(&cell->value, max_value_bytes)) {
    return false;
  }
  cell->erasure = erasure == 1;
  return true;
}

void EncodeCells(const std::vector<Cell>& cells, std::string* dst) {
  PutVarint32(dst, static_cast<uint32_t>(cells.size()));
  for (const Cell& c : cells) EncodeCell(c, dst);
}

Status DecodeCells(std::string_view src, std::vector<Cell>* cells, size_t max_value_bytes) {
  Decoder d(src);
  uint32_t n = 0;
  if (!d.GetCount(&n, 5)) return Status::InvalidArgument("cells: bad count");
  cells->clear();
  cells->reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    Cell c;
    if (!DecodeCell(&d, &c, max_value_bytes)) {
      return Status::InvalidArgument("cells: malformed cell " + std::to_string(i));
    }
    cells->push_back(std::move(c));
  }
  if (!d.empty()) return Status::InvalidArgument("cells: trailing bytes");
  return Status::OK();
}

void EncodeRowMutation(const RowMutation& m, std::string* dst) {
  PutLengthPrefixed(dst, m.row());
  PutVarint32(dst, static_cast<uint32_t>(m.mutations().size()));
  for (const Mutation& x : m.mutations()) {
    dst->push_back(static_cast<char>(x.type));
    PutLengthPrefixed(dst, x.column);
    PutVarsint64(dst, x.timestamp);
    PutLengthPrefixed(dst, x.value);
  }
}

bool DecodeRowMutation(Decoder* in, RowMutation* m, size_t max_value_bytes) {
  std::string row;
  uint32_t n = 0;
  if (!in->GetLengthPrefixed(&row, kMaxRowBytes) || !in->GetCount(&n, 4)) return false;
  RowMutation out(std::move(row));
  for (uint32_t i = 0; i < n; ++i) {
    uint8_t type = 0;
    std::string column, value;
    int64_t ts = 0;
    if (!GetByte(in, &type) || type > kMaxMutationType ||
        !in->GetLengthPrefixed(&column, kMaxColumnBytes) || !in->GetVarsint64(&ts) ||
        !in->GetLengthPrefixed(&value, max_value_bytes)) {
      return false;
    }
    switch (static_cast<Mutation::Type>(type)) {
      case Mutation::Type::kSet: out.Set(column, ts, value); break;
      case Mutation::Type::kErase: out.Erase(column, ts); break;
      case Mutation::Type::kEraseColumn: out.EraseColumn(column); break;
      case Mutation::Type::kEraseRow: out.EraseRow(); break;
    }
  }
  *m = std::move(out);
  return true;
}

void EncodeBatch(const std::vector<RowMutation>& batch, std::string* dst) {
  PutVarint32(dst, static_cast<uint32_t>(batch.size()));
  for (const RowMutation& m : batch) EncodeRowMutation(m, dst);
}

Status DecodeBatch(std::string_view src, std::vector<RowMutation>* batch,
                   size_t max_value_bytes) {
  Decoder d(src);
  uint32_t n = 0;
  if (!d.GetCount(&n, 2)) return Status::InvalidArgument("batch: bad count");
  batch->clear();
  batch->reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    RowMutation m;
    if (!DecodeRowMutation(&d, &m, max_value_bytes)) {
      return Status::InvalidArgument("batch: malformed row mutation " + std::to_string(i));
    }
    batch->push_back(std::move(m));
  }
  if (!d.empty()) return Status::InvalidArgument("batch: trailing bytes");
  return Status::OK();
}

void EncodeConditions(const std::vector<Condition>& conditions, std::string* dst) {
  PutVarint32(dst, static_cast<uint32_t>(conditions.size()));
  for (const Condition& c : conditions) {
    dst->push_back(static_cast<char>(c.type));
    PutLengthPrefixed(dst, c.column);
    PutVarsint64(dst, c.timestamp);
    PutLengthPrefixed(dst, c.value);
    PutVarint64(dst, c.revision);
  }
}

bool DecodeConditions(Decoder* in, std::vector<Condition>* conditions, size_t max_value_bytes) {
  uint32_t n = 0;
  if (!in->GetCount(&n, 5)) return false;
  conditions->clear();
  conditions->reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    Condition c;
    uint8_t type = 0;
    if (!GetByte(in, &type) || type > kMaxConditionType ||
        !in->GetLengthPrefixed(&c.column, kMaxColumnBytes) || !in->GetVarsint64(&c.timestamp) ||
        !in->GetLengthPrefixed(&c.value, max_value_bytes) || !in->GetVarint64(&c.revision)) {
      return false;
    }
    c.type = static_cast<Condition::Type>(type);
    conditions->push_back(std::move(c));
  }
  return true;
}

}  // namespace kdi::storage
