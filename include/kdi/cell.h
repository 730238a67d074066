// kdi::Cell: one entry of KDI's sorted, sparse, versioned map
// (row, column, timestamp) -> value.
//
// - row and column are arbitrary bytes; the column is "family:qualifier" and its
//   family is the part before the first ':' (the whole column when it has none).
// - timestamp is an int64 count of microseconds (any value is allowed; by
//   convention microseconds since the Unix epoch, UTC).
// - An *erasure* is a cell that deletes exactly (row, column, timestamp); its value
//   is empty. Erasures are accepted by Table::Insert; scans never return them.
//
// Cells sort by row ascending, column ascending, timestamp DESCENDING (newest
// first): CompareCellKeys. Two cells with the same key are the same cell.
//
// Cell is a plain value type; distinct objects may be used from different threads.
#ifndef KDI_CELL_H_
#define KDI_CELL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace kdi {

// Limits enforced on every mutation (InvalidArgument beyond them). The value
// limit is a default; tables and tablets may configure a different one.
constexpr size_t kMaxRowBytes = 64 * 1024;
constexpr size_t kMaxColumnBytes = 64 * 1024;
constexpr size_t kDefaultMaxValueBytes = 64 * 1024 * 1024;

struct Cell {
  std::string row;
  std::string column;
  int64_t timestamp = 0;
  std::string value;
  bool erasure = false;

  Cell() = default;
  Cell(std::string r, std::string c, int64_t ts, std::string v)
      : row(std::move(r)), column(std::move(c)), timestamp(ts), value(std::move(v)) {}

  // "row" "column" @ts = "value" with non-printable bytes escaped (for logs/tests).
  std::string DebugString() const;
};

// <0, 0, >0 as a's key sorts before, equal to, after b's key (row asc, column asc,
// timestamp desc). Values and erasure flags are not compared.
int CompareCellKeys(const Cell& a, const Cell& b);

inline bool CellKeyLess(const Cell& a, const Cell& b) { return CompareCellKeys(a, b) < 0; }

// All fields equal.
bool operator==(const Cell& a, const Cell& b);
inline bool operator!=(const Cell& a, const Cell& b) { return !(a == b); }

// The family of a column: the bytes before the first ':' (the whole column if it
// has no ':').
std::string_view ColumnFamily(std::string_view column);

}  // namespace kdi

#endif  // KDI_CELL_H_
