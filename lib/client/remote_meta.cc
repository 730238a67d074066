// META row reading for the kdi:// client (see remote_meta.h): a thin view over
// lib/client/meta_layout.h, the code the master writes META with.
#include "lib/client/remote_meta.h"

#include "lib/client/meta_layout.h"

namespace kdi::client {

std::string ClientMetaRowKey(std::string_view table, std::string_view end_row) {
  return meta::MetaRowKey(table, end_row);
}

Status DecodeMetaEntries(const std::vector<Cell>& cells, std::vector<MetaEntry>* out) {
  std::vector<meta::TabletMeta> rows;
  Status s = meta::DecodeTabletRows(cells, &rows);
  if (!s.ok()) return Status::Corruption(s.message());
  out->clear();
  for (meta::TabletMeta& t : rows) {
    MetaEntry e;
    e.table = std::move(t.table);
    e.tablet_id = std::move(t.id);
    e.start_row = std::move(t.start_row);
    e.end_row = std::move(t.end_row);
    e.state = meta::TabletStateName(t.state);
    e.server = std::move(t.server);
    out->push_back(std::move(e));
  }
  return Status::OK();
}

}  // namespace kdi::client
