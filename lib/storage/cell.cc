// Implementation of kdi::Cell helpers and RowMutation/Condition builders.
#include "kdi/cell.h"

#include <cstdio>

#include "kdi/table.h"

namespace kdi {

namespace {

void AppendEscaped(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c >= 0x20 && c < 0x7f) {
      out->push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out->append(buf);
    }
  }
  out->push_back('"');
}

}  // namespace

std::string Cell::DebugString() const {
  std::string out;
  AppendEscaped(&out, row);
  out.push_back(' ');
  AppendEscaped(&out, column);
  out += " @" + std::to_string(timestamp);
  if (erasure) {
    out += " ERASED";
  } else {
    out += " = ";
    AppendEscaped(&out, value);
  }
  return out;
}

int CompareCellKeys(const Cell& a, const Cell& b) {
  int c = a.row.compare(b.row);
  if (c != 0) return c < 0 ? -1 : 1;
  c = a.column.compare(b.column);
  if (c != 0) return c < 0 ? -1 : 1;
  if (a.timestamp == b.timestamp) return 0;
  return a.timestamp > b.timestamp ? -1 : 1;  // newest first
}

bool operator==(const Cell& a, const Cell& b) {
  return a.row == b.row && a.column == b.column && a.timestamp == b.timestamp &&
         a.value == b.value && a.erasure == b.erasure;
}

std::string_view ColumnFamily(std::string_view column) {
  size_t colon = column.find(':');
  return colon == std::string_view::npos ? column : column.substr(0, colon);
}

RowMutation& RowMutation::Set(std::string_view column, int64_t timestamp,
                              std::string_view value) {
  mutations_.push_back(
      Mutation{Mutation::Type::kSet, std::string(column), timestamp, std::string(value)});
  return *this;
}

RowMutation& RowMutation::Erase(std::string_view column, int64_t timestamp) {
  mutations_.push_back(Mutation{Mutation::Type::kErase, std::string(column), timestamp, ""});
  return *this;
}

RowMutation& RowMutation::EraseColumn(std::string_view column) {
  mutations_.push_back(Mutation{Mutation::Type::kEraseColumn, std::string(column), 0, ""});
  return *this;
}

RowMutation& RowMutation::EraseRow() {
  mutations_.push_back(Mutation{Mutation::Type::kEraseRow, "", 0, ""});
  return *this;
}

RowMutation& RowMutation::Insert(const Cell& cell) {
  return cell.erasure ? Erase(cell.column, cell.timestamp)
                      : Set(cell.column, cell.timestamp, cell.value);
}

size_t RowMutation::ByteSize() const {
  size_t n = row_.size();
  for (const Mutation& m : mutations_) n += m.column.size() + m.value.size() + 10;
  return n;
}

Condition Condition::CellEquals(std::string_view column, int64_t ts, std::string_view value) {
  Condition c;
  c.type = Type::kCellEquals;
  c.column = std::string(column);
  c.timestamp = ts;
  c.value = std::string(value);
  return c;
}

Condition Condition::CellAbsent(std::string_view column, int64_t ts) {
  Condition c;
  c.type = Type::kCellAbsent;
  c.column = std::string(column);
  c.timestamp = ts;
  return c;
}

Condition Condition::LatestEquals(std::string_view column, std::string_view value) {
  Condition c;
  c.type = Type::kLatestEquals;
  c.column = std::string(column);
  c.value = std::string(value);
  return c;
}

Condition Condition::ColumnAbsent(std::string_view column) {
  Condition c;
  c.type = Type::kColumnAbsent;
  c.column = std::string(column);
  return c;
}

Condition Condition::RowAbsent() {
  Condition c;
  c.type = Type::kRowAbsent;
  return c;
}

Condition Condition::RowRevisionIs(uint64_t revision) {
  Condition c;
  c.type = Type::kRowRevisionIs;
  c.revision = revision;
  return c;
}

}  // namespace kdi
