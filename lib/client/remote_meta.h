// The kdi:// client's reading of META rows (CLUSTER.md "META"):
//   key     = table + "\x00" + (end_row empty ? "\x02" : "\x01" + end_row)
//   columns   tablet:id, tablet:start, tablet:end, tablet:state, loc:server, ...
// The client only reads META; the master writes it.
//
// Pure functions; any thread.
#ifndef KDI_LIB_CLIENT_REMOTE_META_H_
#define KDI_LIB_CLIENT_REMOTE_META_H_

#include <string>
#include <string_view>
#include <vector>

#include "kdi/cell.h"
#include "kdi/status.h"

namespace kdi::client {

constexpr char kClientMetaTable[] = "META";
constexpr char kClientMetaTabletId[] = "meta0";

// The META row key of the tablet of `table` whose end row is `end_row`; also
// the search key for a row (the tablet holding r is the first META row with a
// key > ClientMetaRowKey(table, r) that belongs to the table).
std::string ClientMetaRowKey(std::string_view table, std::string_view end_row);

struct MetaEntry {
  std::string table;
  std::string tablet_id;
  std::string start_row;
  std::string end_row;
  std::string state;
  std::string server;
};

// Groups the cells of a META scan (history = 1, cell order) into one entry per
// row. Corruption for a row key that is not a META key or a row without
// tablet:id.
Status DecodeMetaEntries(const std::vector<Cell>& cells, std::vector<MetaEntry>* out);

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_REMOTE_META_H_
