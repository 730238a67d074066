// META row reading for the kdi:// client (see remote_meta.h).
#include "lib/client/remote_meta.h"

#include "lib/client/location_cache.h"

namespace kdi::client {

std::string ClientMetaRowKey(std::string_view table, std::string_view end_row) {
  std::string key(table);
  key.push_back('\0');
  if (end_row.empty()) {
    key.push_back('\x02');
  } else {
    key.push_back('\x01');
    key.append(end_row);
  }
  return key;
}

namespace {

Status ParseKey(std::string_view key, MetaEntry* e) {
  size_t nul = key.find('\0');
  if (nul == std::string_view::npos || nul + 1 >= key.size()) {
    return Status::Corruption("bad META row key " + PrintableRow(key));
  }
  e->table = std::string(key.substr(0, nul));
  char tag = key[nul + 1];
  if (tag == '\x02' && nul + 2 == key.size()) {
    e->end_row.clear();
  } else if (tag == '\x01' && nul + 2 < key.size()) {
    e->end_row = std::string(key.substr(nul + 2));
  } else {
    return Status::Corruption("bad META row key " + PrintableRow(key));
  }
  return Status::OK();
}

}  // namespace

Status DecodeMetaEntries(const std::vector<Cell>& cells, std::vector<MetaEntry>* out) {
  out->clear();
  for (size_t i = 0; i < cells.size();) {
    MetaEntry e;
    RETURN_NOT_OK(ParseKey(cells[i].row, &e));
    bool have_id = false;
    size_t j = i;
    for (; j < cells.size() && cells[j].row == cells[i].row; j++) {
      const Cell& c = cells[j];
      if (c.column == "tablet:id") {
        e.tablet_id = c.value;
        have_id = true;
      } else if (c.column == "tablet:start") {
        e.start_row = c.value;
      } else if (c.column == "tablet:state") {
        e.state = c.value;
      } else if (c.column == "loc:server") {
        e.server = c.value;
      }
    }
    if (!have_id) {
      return Status::Corruption("META row " + PrintableRow(cells[i].row) + " has no tablet:id");
    }
    out->push_back(std::move(e));
    i = j;
  }
  return Status::OK();
}

}  // namespace kdi::client
