// Fuzz target for the META row layout (lib/client/meta_layout.h): what masterd
// and every kdi:// client decode from the cells of the META table. A META row
// written by an older or buggy master, or damaged on disk, must give an error
// (Corruption naming the row), never a crash or a wrong tablet.
//
// Input: one selector byte, then text. Selector 0..1: the text is a META row,
// first line the row key, each further line "COLUMN=VALUE" one cell (timestamp =
// line number, so later lines are newer). Selector 2: the text is a row key;
// 3: an encoded split intent; 4: a tablet state, table name or tablet id.
// Invariants: a decoded row re-encodes (EncodeTabletRow) to cells that decode to
// the same tablet, under the same key; a decoded key, intent or state
// re-encodes to the same bytes; a single tablet covering everything is found
// for every row.
#include <string>
#include <string_view>
#include <vector>

#include "lib/client/meta_layout.h"
#include "t/fuzz/fuzz_targets.h"

namespace kdi::fuzz {

namespace {
std::vector<Cell> CellsOf(const RowMutation& m) {
  std::vector<Cell> cells;
  for (const Mutation& x : m.mutations()) {
    if (x.type == Mutation::Type::kSet) cells.emplace_back(m.row(), x.column, x.timestamp, x.value);
  }
  return cells;
}

bool SameTablet(const meta::TabletMeta& a, const meta::TabletMeta& b) {
  return a.table == b.table && a.id == b.id && a.start_row == b.start_row &&
         a.end_row == b.end_row && a.dir == b.dir && a.state == b.state &&
         a.server == b.server && a.since_us == b.since_us;
}

void CheckRow(std::string_view text) {
  size_t nl = text.find('\n');
  std::string key(text.substr(0, nl));
  std::vector<Cell> cells;
  int64_t ts = 1;
  size_t pos = nl == std::string_view::npos ? text.size() : nl + 1;
  while (pos < text.size() && cells.size() < 64) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    size_t eq = line.find('=');
    if (eq != std::string_view::npos) {
      cells.emplace_back(key, std::string(line.substr(0, eq)), ts++,
                         std::string(line.substr(eq + 1)));
    }
    pos = end + 1;
  }
  meta::TabletMeta t;
  Status s = meta::DecodeTabletRow(key, cells, &t);
  std::vector<meta::TabletMeta> rows;
  Status rs = meta::DecodeTabletRows(cells, &rows);
  if (!cells.empty()) KDI_FUZZ_CHECK(rs.ok() == s.ok());
  if (!s.ok()) {
    KDI_FUZZ_CHECK(s.IsCorruption() || s.IsInvalidArgument());
    return;
  }
  KDI_FUZZ_CHECK(t.row_key() == key);
  (void)t.DebugString();
  meta::TabletMeta t2;
  s = meta::DecodeTabletRow(key, CellsOf(meta::EncodeTabletRow(t, 7)), &t2);
  if (!s.ok()) fprintf(stderr, "re-decode: %s\n", s.ToString().c_str());
  KDI_FUZZ_CHECK(s.ok());
  KDI_FUZZ_CHECK(SameTablet(t, t2));
  meta::TabletMeta t3;
  KDI_FUZZ_CHECK(meta::DecodeTabletRow(key, CellsOf(meta::EncodeTabletRow(t2, 8)), &t3).ok());
  KDI_FUZZ_CHECK(t3 == t2);
  // A lone tablet covers every row exactly when it spans (-inf, +inf).
  std::vector<meta::TabletMeta> one{t};
  bool covers = meta::CheckCoverage(one).ok();
  KDI_FUZZ_CHECK(covers == (t.start_row.empty() && t.end_row.empty()));
  if (covers) {
    KDI_FUZZ_CHECK(meta::FindTabletForRow(one, key) == 0);
    KDI_FUZZ_CHECK(meta::FindTabletForRow(one, t.id) == 0);
  }
  if (t.Contains(t.start_row) && !t.start_row.empty()) {
    KDI_FUZZ_CHECK(t.end_row.empty() || t.start_row < t.end_row);
  }
}
}  // namespace

int MetaLayoutTarget(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
    case 1:
      CheckRow(text);
      break;
    case 2: {
      std::string table, end_row;
      if (meta::ParseMetaRowKey(text, &table, &end_row).ok()) {
        KDI_FUZZ_CHECK(meta::MetaRowKey(table, end_row) == text);
        KDI_FUZZ_CHECK(text.substr(0, table.size() + 1) == meta::MetaTablePrefix(table));
      }
      (void)meta::EscapeBytes(text);
      break;
    }
    case 3: {
      meta::SplitIntent si;
      if (meta::SplitIntent::Decode(text, &si).ok()) {
        meta::SplitIntent si2;
        KDI_FUZZ_CHECK(meta::SplitIntent::Decode(si.Encode(), &si2).ok());
        KDI_FUZZ_CHECK(si2 == si);
      }
      break;
    }
    case 4: {
      meta::TabletState st;
      if (meta::ParseTabletState(text, &st).ok()) {
        KDI_FUZZ_CHECK(meta::TabletStateName(st) == text);
      }
      if (meta::ValidateTableName(text, true).ok()) {
        KDI_FUZZ_CHECK(!text.empty() && text.find('\0') == std::string_view::npos);
        (void)meta::TableSchemaPath(text);
      }
      if (meta::ValidateTabletId(text).ok()) {
        KDI_FUZZ_CHECK(!text.empty() && text.size() <= 64);
        (void)meta::TabletDir("T", text);
        (void)meta::TabletLockPath("T", text);
      }
      break;
    }
  }
  return 0;
}

}  // namespace kdi::fuzz

#ifdef KDI_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kdi::fuzz::MetaLayoutTarget(data, size);
}
#endif
