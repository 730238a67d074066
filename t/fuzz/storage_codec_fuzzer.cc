// Fuzz target for the on-disk and wire encodings of cells (lib/storage):
// cell keys and values as stored in a tablet's Berkeley DB B-tree
// (cell_key.h), the cell/mutation/condition wire codec (codec.h) and the scan
// resume token a client sends back (tablet_impl.h ScanCursorState). Bytes read
// back from a tablet file are outside input too: a corrupt page must give an
// error, never a crash. Invariants: a decoded key re-encodes to the same bytes
// (one key per cell) and sorts inside its row's key range; a decoded value
// re-encodes, with or without zlib, to the same value; cells, batches,
// conditions and tokens survive decode -> encode -> decode.
#include <string>
#include <string_view>
#include <vector>

#include "kdi/cell.h"
#include "lib/storage/cell_key.h"
#include "lib/storage/codec.h"
#include "lib/storage/tablet_impl.h"
#include "lib/util/coding.h"
#include "t/fuzz/fuzz_targets.h"
#include "t/fuzz/round_trip.h"

namespace kdi::fuzz {

namespace {
constexpr size_t kMaxValue = 1u << 20;

void CheckKey(std::string_view in) {
  std::string row, column;
  int64_t ts = 0;
  bool ok = storage::DecodeCellKey(in, &row, &column, &ts);
  std::string row_only;
  bool row_ok = storage::DecodeKeyRow(in, &row_only);
  if (!ok) return;
  KDI_FUZZ_CHECK(row_ok && row_only == row);
  std::string key;
  storage::EncodeCellKey(row, column, ts, &key);
  KDI_FUZZ_CHECK(key == in);
  std::string prefix, after_row, col_prefix, after_col;
  storage::EncodeRowPrefix(row, &prefix);
  storage::EncodeColumnPrefix(row, column, &col_prefix);
  storage::EncodeAfterRow(row, &after_row);
  storage::EncodeAfterColumn(row, column, &after_col);
  KDI_FUZZ_CHECK(in.substr(0, prefix.size()) == prefix);
  KDI_FUZZ_CHECK(in.substr(0, col_prefix.size()) == col_prefix);
  KDI_FUZZ_CHECK(std::string_view(after_row) > in);
  KDI_FUZZ_CHECK(std::string_view(after_col) > in);
  KDI_FUZZ_CHECK(after_col <= after_row);
  KDI_FUZZ_CHECK(storage::DecodeTimestamp(storage::EncodeTimestamp(ts)) == ts);
}

void CheckValue(std::string_view in) {
  storage::ValueType type;
  std::string value;
  Status s = storage::DecodeCellValue(in, kMaxValue, &type, &value);
  if (!s.ok()) {
    KDI_FUZZ_CHECK(s.IsCorruption());
    return;
  }
  KDI_FUZZ_CHECK(value.size() <= kMaxValue);
  for (Compression c : {Compression::kNone, Compression::kZlib}) {
    std::string stored;
    storage::EncodeCellValue(type, value, c, &stored);
    storage::ValueType type2;
    std::string value2;
    KDI_FUZZ_CHECK(storage::DecodeCellValue(stored, kMaxValue, &type2, &value2).ok());
    KDI_FUZZ_CHECK(type2 == type && value2 == value);
  }
}

Status DecodeCellsSmall(std::string_view in, std::vector<Cell>* cells) {
  return storage::DecodeCells(in, cells, kMaxValue);
}
Status DecodeBatchSmall(std::string_view in, std::vector<RowMutation>* batch) {
  return storage::DecodeBatch(in, batch, kMaxValue);
}
Status DecodeConditionsAll(std::string_view in, std::vector<Condition>* c) {
  Decoder d(in);
  if (!storage::DecodeConditions(&d, c, kMaxValue)) return Status::InvalidArgument("conditions");
  return d.status("conditions");
}
Status DecodeToken(std::string_view in, storage::ScanCursorState* t) {
  return t->DecodeFrom(in) ? Status::OK() : Status::InvalidArgument("token");
}
void EncodeToken(const storage::ScanCursorState& t, std::string* out) { t.EncodeTo(out); }
}  // namespace

int StorageCodecTarget(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  CheckKey(in);
  CheckValue(in);
  std::vector<Cell> cells;
  if (CheckRoundTrip(in, DecodeCellsSmall, storage::EncodeCells, &cells)) {
    for (const Cell& c : cells) {
      KDI_FUZZ_CHECK(c.row.size() <= kMaxRowBytes && c.column.size() <= kMaxColumnBytes);
      KDI_FUZZ_CHECK(c.value.size() <= kMaxValue);
    }
  }
  std::vector<RowMutation> batch;
  CheckRoundTrip(in, DecodeBatchSmall, storage::EncodeBatch, &batch);
  std::vector<Condition> conditions;
  CheckRoundTrip(in, DecodeConditionsAll, storage::EncodeConditions, &conditions);
  storage::ScanCursorState token;
  CheckRoundTrip(in, DecodeToken, EncodeToken, &token);
  return 0;
}

}  // namespace kdi::fuzz

#ifdef KDI_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kdi::fuzz::StorageCodecTarget(data, size);
}
#endif
