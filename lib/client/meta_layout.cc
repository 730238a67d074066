// META row layout; see meta_layout.h.
#include "lib/client/meta_layout.h"

#include <cstdio>
#include <map>

#include "lib/util/coding.h"

namespace kdi::meta {

namespace {

constexpr size_t kMaxTableNameBytes = 128;
constexpr size_t kMaxTabletIdBytes = 64;

bool NameChar(char c, bool allow_dot) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-' || (allow_dot && c == '.');
}

}  // namespace

std::string TableSchemaPath(std::string_view table) {
  return std::string(kTablesDir) + "/" + std::string(table);
}
std::string TabletLockPath(std::string_view table, std::string_view id) {
  return std::string(kTabletLocksDir) + "/" + std::string(table) + "/" + std::string(id);
}
std::string ServerPath(std::string_view server) {
  return std::string(kServersDir) + "/" + std::string(server);
}

const char* TabletStateName(TabletState s) {
  switch (s) {
    case TabletState::kUnassigned: return "unassigned";
    case TabletState::kAssigning: return "assigning";
    case TabletState::kAssigned: return "assigned";
    case TabletState::kUnloading: return "unloading";
    case TabletState::kSplitting: return "splitting";
    case TabletState::kOffline: return "offline";
  }
  return "?";
}

Status ParseTabletState(std::string_view name, TabletState* out) {
  for (TabletState s : {TabletState::kUnassigned, TabletState::kAssigning,
                        TabletState::kAssigned, TabletState::kUnloading,
                        TabletState::kSplitting, TabletState::kOffline}) {
    if (name == TabletStateName(s)) {
      *out = s;
      return Status::OK();
    }
  }
  return Status::InvalidArgument("unknown tablet state '" + EscapeBytes(name) + "'");
}

std::string SplitIntent::Encode() const {
  std::string out;
  PutLengthPrefixed(&out, split_row);
  PutLengthPrefixed(&out, left_id);
  PutLengthPrefixed(&out, right_id);
  return out;
}

Status SplitIntent::Decode(std::string_view in, SplitIntent* out) {
  Decoder d(in);
  d.GetLengthPrefixed(&out->split_row, kMaxRowBytes);
  d.GetLengthPrefixed(&out->left_id, kMaxTabletIdBytes);
  d.GetLengthPrefixed(&out->right_id, kMaxTabletIdBytes);
  RETURN_NOT_OK(d.status("META split intent"));
  if (out->split_row.empty()) return Status::InvalidArgument("META split intent: empty split row");
  RETURN_NOT_OK_PREPEND(ValidateTabletId(out->left_id), "META split intent");
  RETURN_NOT_OK_PREPEND(ValidateTabletId(out->right_id), "META split intent");
  return Status::OK();
}

std::string MetaRowKey(std::string_view table, std::string_view end_row) {
  std::string key(table);
  key.push_back('\x00');
  if (end_row.empty()) {
    key.push_back('\x02');
  } else {
    key.push_back('\x01');
    key.append(end_row);
  }
  return key;
}

std::string MetaTablePrefix(std::string_view table) {
  std::string key(table);
  key.push_back('\x00');
  return key;
}

Status ParseMetaRowKey(std::string_view key, std::string* table, std::string* end_row) {
  size_t nul = key.find('\x00');
  if (nul == std::string_view::npos || nul == 0 || nul + 1 >= key.size()) {
    return Status::InvalidArgument("not a META row key: " + EscapeBytes(key));
  }
  char tag = key[nul + 1];
  if (tag == '\x02') {
    if (nul + 2 != key.size()) {
      return Status::InvalidArgument("not a META row key (bytes after +inf): " + EscapeBytes(key));
    }
    end_row->clear();
  } else if (tag == '\x01') {
    if (nul + 2 == key.size()) {
      return Status::InvalidArgument("not a META row key (empty end row): " + EscapeBytes(key));
    }
    end_row->assign(key.substr(nul + 2));
  } else {
    return Status::InvalidArgument("not a META row key (bad tag): " + EscapeBytes(key));
  }
  table->assign(key.substr(0, nul));
  return Status::OK();
}

std::string TabletDir(std::string_view table, std::string_view id) {
  return "tables/" + std::string(table) + "/" + std::string(id);
}

Status ValidateTableName(std::string_view name, bool allow_meta) {
  if (name.empty() || name.size() > kMaxTableNameBytes) {
    return Status::InvalidArgument("bad table name '" + EscapeBytes(name.substr(0, 140)) +
                                   "': must be 1-128 characters of [A-Za-z0-9_.-]");
  }
  for (char c : name) {
    if (!NameChar(c, true)) {
      return Status::InvalidArgument("bad table name '" + EscapeBytes(name) +
                                     "': must be 1-128 characters of [A-Za-z0-9_.-]");
    }
  }
  if (name == "." || name == "..") {
    return Status::InvalidArgument("bad table name '" + std::string(name) + "'");
  }
  if (!allow_meta && name == kMetaTableName) {
    return Status::InvalidArgument("table name META is reserved");
  }
  return Status::OK();
}

Status ValidateTabletId(std::string_view id) {
  bool ok = !id.empty() && id.size() <= kMaxTabletIdBytes;
  for (char c : id) ok = ok && NameChar(c, false);
  if (!ok) {
    return Status::InvalidArgument("bad tablet id '" + EscapeBytes(id.substr(0, 80)) +
                                   "': must be 1-64 characters of [A-Za-z0-9_-]");
  }
  return Status::OK();
}

std::string TabletMeta::row_key() const { return MetaRowKey(table, end_row); }

bool TabletMeta::Contains(std::string_view row) const {
  return row >= std::string_view(start_row) && (end_row.empty() || row < std::string_view(end_row));
}

std::string TabletMeta::DebugString() const {
  std::string s = table + "/" + id + " [" + (start_row.empty() ? "-inf" : EscapeBytes(start_row)) +
                  ", " + (end_row.empty() ? "+inf" : EscapeBytes(end_row)) + ") " +
                  TabletStateName(state);
  if (!server.empty()) s += "@" + server;
  if (state == TabletState::kOffline && !reason.empty()) s += " (" + reason + ")";
  if (state == TabletState::kSplitting) {
    s += " split at " + EscapeBytes(split.split_row) + " -> " + split.left_id + "," +
         split.right_id;
  }
  return s;
}

bool TabletMeta::operator==(const TabletMeta& o) const {
  return table == o.table && id == o.id && start_row == o.start_row && end_row == o.end_row &&
         dir == o.dir && state == o.state && server == o.server && since_us == o.since_us &&
         reason == o.reason && (state != TabletState::kSplitting || split == o.split);
}

RowMutation EncodeTabletRow(const TabletMeta& t, int64_t ts) {
  RowMutation m(t.row_key());
  m.Set(kColId, ts, t.id);
  m.Set(kColStart, ts, t.start_row);
  m.Set(kColEnd, ts, t.end_row);
  m.Set(kColDir, ts, t.dir);
  m.Set(kColState, ts, TabletStateName(t.state));
  m.Set(kColServer, ts, t.server);
  m.Set(kColSince, ts, std::to_string(t.since_us));
  if (t.state == TabletState::kSplitting) {
    m.Set(kColSplit, ts, t.split.Encode());
  } else {
    m.EraseColumn(kColSplit);
  }
  if (t.state == TabletState::kOffline) {
    m.Set(kColReason, ts, t.reason);
  } else {
    m.EraseColumn(kColReason);
  }
  return m;
}

Status DecodeTabletRow(std::string_view row_key, const std::vector<Cell>& cells,
                       TabletMeta* out) {
  std::string where = "META row " + EscapeBytes(row_key);
  TabletMeta t;
  std::string key_end;
  RETURN_NOT_OK_PREPEND(ParseMetaRowKey(row_key, &t.table, &key_end), where);
  // Newest version of each column.
  std::map<std::string, const Cell*> latest;
  for (const Cell& c : cells) {
    if (c.row != row_key || c.erasure) continue;
    auto it = latest.find(c.column);
    if (it == latest.end() || it->second->timestamp < c.timestamp) latest[c.column] = &c;
  }
  auto get = [&](const char* col, bool required, std::string* v) -> Status {
    auto it = latest.find(col);
    if (it == latest.end()) {
      if (required) return Status::Corruption(where + ": missing column " + col);
      v->clear();
      return Status::OK();
    }
    *v = it->second->value;
    return Status::OK();
  };
  std::string state, since, split;
  RETURN_NOT_OK(get(kColId, true, &t.id));
  RETURN_NOT_OK(get(kColStart, true, &t.start_row));
  RETURN_NOT_OK(get(kColEnd, false, &t.end_row));
  RETURN_NOT_OK(get(kColDir, true, &t.dir));
  RETURN_NOT_OK(get(kColState, true, &state));
  RETURN_NOT_OK(get(kColServer, false, &t.server));
  RETURN_NOT_OK(get(kColSince, false, &since));
  RETURN_NOT_OK(get(kColReason, false, &t.reason));
  RETURN_NOT_OK(get(kColSplit, false, &split));
  if (t.end_row != key_end) {
    return Status::Corruption(where + ": tablet:end " + EscapeBytes(t.end_row) +
                              " disagrees with the key");
  }
  if (!ValidateTabletId(t.id).ok()) {
    return Status::Corruption(where + ": bad tablet:id " + EscapeBytes(t.id));
  }
  Status s = ParseTabletState(state, &t.state);
  if (!s.ok()) return Status::Corruption(where + ": " + s.message());
  if (!since.empty()) {
    char* endp = nullptr;
    t.since_us = strtoll(since.c_str(), &endp, 10);
    if (endp == nullptr || *endp != '\0') {
      return Status::Corruption(where + ": bad loc:since " + EscapeBytes(since));
    }
  }
  if (t.state == TabletState::kSplitting) {
    s = SplitIntent::Decode(split, &t.split);
    if (!s.ok()) return Status::Corruption(where + ": " + s.message());
  }
  *out = std::move(t);
  return Status::OK();
}

Status DecodeTabletRows(const std::vector<Cell>& cells, std::vector<TabletMeta>* out) {
  size_t i = 0;
  while (i < cells.size()) {
    size_t j = i;
    std::vector<Cell> row;
    while (j < cells.size() && cells[j].row == cells[i].row) row.push_back(cells[j++]);
    TabletMeta t;
    RETURN_NOT_OK(DecodeTabletRow(cells[i].row, row, &t));
    out->push_back(std::move(t));
    i = j;
  }
  return Status::OK();
}

Schema MetaSchema() {
  Schema s;
  for (const char* f : {"tablet", "loc"}) {
    FamilyOptions fo;
    fo.name = f;
    fo.max_versions = 1;
    (void)s.AddFamily(fo);
  }
  return s;
}

Status CheckCoverage(const std::vector<TabletMeta>& tablets) {
  if (tablets.empty()) return Status::Corruption("table has no tablets");
  const std::string& table = tablets.front().table;
  std::string expect_start;  // -inf
  for (size_t i = 0; i < tablets.size(); i++) {
    const TabletMeta& t = tablets[i];
    // A split being recorded: once its left child's row is written, the parent
    // row (not yet rewritten as the right child) effectively starts at the split
    // row, since lookups go by end-row keys (doc/masterd.md).
    std::string_view start = t.start_row;
    if (t.state == TabletState::kSplitting && i > 0 && tablets[i - 1].id == t.split.left_id &&
        tablets[i - 1].end_row == t.split.split_row) {
      start = t.split.split_row;
    }
    if (start != std::string_view(expect_start)) {
      bool gap = i > 0 && start > std::string_view(expect_start);
      return Status::Corruption(
          std::string(gap ? "gap" : "overlap") + " in table " + table + " at tablet " + t.id +
          ": starts at " + (start.empty() ? "-inf" : EscapeBytes(start)) +
          ", previous tablet ends at " + (expect_start.empty() ? "-inf" : EscapeBytes(expect_start)));
    }
    if (t.end_row.empty()) {
      if (i + 1 != tablets.size()) {
        return Status::Corruption("table " + table + ": tablet " + t.id +
                                  " ends at +inf but is not the last");
      }
      return Status::OK();
    }
    if (t.end_row <= start) {
      return Status::Corruption("table " + table + ": tablet " + t.id + " has an empty range");
    }
    expect_start = t.end_row;
  }
  return Status::Corruption("table " + table + ": no tablet reaches +inf (gap after " +
                            EscapeBytes(expect_start) + ")");
}

int FindTabletForRow(const std::vector<TabletMeta>& tablets, std::string_view row) {
  for (size_t i = 0; i < tablets.size(); i++) {
    const TabletMeta& t = tablets[i];
    if (t.end_row.empty() || row < std::string_view(t.end_row)) {
      return t.start_row <= row ? static_cast<int>(i) : -1;
    }
  }
  return -1;
}

std::string EscapeBytes(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace kdi::meta
