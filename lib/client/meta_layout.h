// The layout of the META table: how a tablet's row key and columns are encoded.
// Shared by masterd (the only writer) and the kdi:// client (a reader), so both
// use exactly this code. See doc/masterd.md for the assignment state machine
// and the crash-convergence argument that these columns support.
//
// Row key of a tablet (CLUSTER.md):
//   MetaRowKey(table, end_row) = table "\x00" ( "\x02"            if end_row is +inf
//                                               | "\x01" end_row  otherwise )
// so a table's rows sort by end row and its last tablet sorts last. The tablet
// holding row r of table T is the first META row whose key is > MetaRowKey(T, r)
// and still starts with T "\x00" (MetaLookupKey / MetaRowCovers).
//
// Columns (one version matters: the newest):
//   tablet:id     tablet id                  tablet:start  start row (bytes)
//   tablet:end    end row ("" = +inf)        tablet:dir    "tables/T/ID"
//   tablet:state  see TabletState            loc:server    HOST:PORT or ""
//   loc:since     decimal microseconds of the assignment
//   tablet:split  split in progress (only in state "splitting"): the encoded
//                 SplitIntent (split row, left id, right id), see below
//   loc:reason    why the tablet is offline (state "offline"), free text
//
// Pure functions and value types; thread-compatible.
#ifndef KDI_LIB_CLIENT_META_LAYOUT_H_
#define KDI_LIB_CLIENT_META_LAYOUT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/cell.h"
#include "kdi/schema.h"
#include "kdi/status.h"
#include "kdi/table.h"

namespace kdi::meta {

constexpr char kMetaTableName[] = "META";
constexpr char kMetaTabletId[] = "meta0";

constexpr char kColId[] = "tablet:id";
constexpr char kColStart[] = "tablet:start";
constexpr char kColEnd[] = "tablet:end";
constexpr char kColDir[] = "tablet:dir";
constexpr char kColState[] = "tablet:state";
constexpr char kColSplit[] = "tablet:split";
constexpr char kColServer[] = "loc:server";
constexpr char kColSince[] = "loc:since";
constexpr char kColReason[] = "loc:reason";

// Lock-service paths (DESIGN.md §3).
constexpr char kMasterLockPath[] = "/kdi/master";
constexpr char kRootPath[] = "/kdi/root";
constexpr char kServersDir[] = "/kdi/servers";
constexpr char kTablesDir[] = "/kdi/tables";
constexpr char kTabletLocksDir[] = "/kdi/tablets";
std::string TableSchemaPath(std::string_view table);                  // /kdi/tables/T
std::string TabletLockPath(std::string_view table, std::string_view id);  // /kdi/tablets/T/ID
std::string ServerPath(std::string_view server);                      // /kdi/servers/S

enum class TabletState {
  kUnassigned,  // nobody should serve it; the master will assign it
  kAssigning,   // the master asked loc:server to load it (or is about to)
  kAssigned,    // loc:server serves it
  kUnloading,   // the master asked loc:server to unload it (move or delete)
  kSplitting,   // a reported split is being recorded (tablet:split says how)
  kOffline,     // its server is gone and its data is local to it (loc:reason)
};
const char* TabletStateName(TabletState s);
// InvalidArgument for an unknown name.
Status ParseTabletState(std::string_view name, TabletState* out);

// A split being recorded in META (state kSplitting of the parent row).
struct SplitIntent {
  std::string split_row;  // the left child is [start, split_row), the right [split_row, end)
  std::string left_id;
  std::string right_id;
  bool operator==(const SplitIntent& o) const {
    return split_row == o.split_row && left_id == o.left_id && right_id == o.right_id;
  }
  // lp split_row, lp left_id, lp right_id
  std::string Encode() const;
  static Status Decode(std::string_view in, SplitIntent* out);
};

// One META row, decoded.
struct TabletMeta {
  std::string table;
  std::string id;
  std::string start_row;   // "" = -inf
  std::string end_row;     // "" = +inf
  std::string dir;         // relative to the data root
  TabletState state = TabletState::kUnassigned;
  std::string server;      // HOST:PORT, "" when none
  int64_t since_us = 0;
  std::string reason;      // offline reason
  SplitIntent split;       // meaningful in kSplitting only

  std::string row_key() const;
  // True if row lies in [start_row, end_row).
  bool Contains(std::string_view row) const;
  // "T/ID [start, end) state@server" with escaped bytes, for logs and kdicli.
  std::string DebugString() const;
  bool operator==(const TabletMeta& o) const;
};

// ---- keys ----------------------------------------------------------------------
std::string MetaRowKey(std::string_view table, std::string_view end_row);
// The smallest key of table's rows: table "\x00".
std::string MetaTablePrefix(std::string_view table);
// For looking up row r: the META row of r's tablet is the first with key > this
// (equal to MetaRowKey(table, row)).
inline std::string MetaLookupKey(std::string_view table, std::string_view row) {
  return MetaRowKey(table, row);
}
// Splits a META row key. InvalidArgument if it is not one.
Status ParseMetaRowKey(std::string_view key, std::string* table, std::string* end_row);

// Storage directory of a tablet relative to the data root.
std::string TabletDir(std::string_view table, std::string_view id);

// ---- validation ------------------------------------------------------------------
// [A-Za-z0-9_.-]{1,128}; "META" is reserved unless allow_meta.
Status ValidateTableName(std::string_view name, bool allow_meta = false);
// [A-Za-z0-9_-]{1,64}
Status ValidateTabletId(std::string_view id);

// ---- rows <-> cells ------------------------------------------------------------------
// The mutation that writes every column of t at timestamp ts (a whole-row
// rewrite; columns not used by the state, such as tablet:split, are erased).
RowMutation EncodeTabletRow(const TabletMeta& t, int64_t ts);
// Decodes one row from its cells (any order; the newest version of each column
// wins). The row key must be a META key and agree with tablet:end.
Status DecodeTabletRow(std::string_view row_key, const std::vector<Cell>& cells,
                       TabletMeta* out);
// Groups cells (in cell order, as a scan returns them) by row and decodes each.
Status DecodeTabletRows(const std::vector<Cell>& cells, std::vector<TabletMeta>* out);

// The schema of the META table: families "tablet" and "loc", one version each.
Schema MetaSchema();

// ---- coverage --------------------------------------------------------------------------
// Checks that the tablets of one table (sorted by row key, as META holds them)
// cover every row exactly once: the first starts at -inf, each starts where the
// previous ends, the last ends at +inf. Returns Corruption naming the first gap
// or overlap. An empty list is a Corruption too (a table has >= 1 tablet).
Status CheckCoverage(const std::vector<TabletMeta>& tablets);

// Finds the tablet of row in a table's sorted tablets (the lookup rule above);
// -1 if none.
int FindTabletForRow(const std::vector<TabletMeta>& tablets, std::string_view row);

// Escapes non-printable bytes for messages ("\x00" etc.).
std::string EscapeBytes(std::string_view s);

}  // namespace kdi::meta

#endif  // KDI_LIB_CLIENT_META_LAYOUT_H_
