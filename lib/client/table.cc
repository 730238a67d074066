// Table::Open: the single dispatch point from a URI to an implementation, and the
// convenience methods every Table shares.
#include "kdi/table.h"

#include "lib/client/local_table.h"
#include "lib/client/remote_table.h"

namespace kdi {

Status Table::Open(const std::string& uri, std::unique_ptr<Table>* table) {
  return Open(uri, TableOptions(), table);
}

Status Table::Open(const std::string& uri, const TableOptions& options,
                   std::unique_ptr<Table>* table) {
  if (uri.rfind("local:", 0) == 0) {
    std::string dir = uri.substr(6);
    if (dir.empty()) return Status::InvalidArgument("table URI local: needs a directory");
    return client::LocalTable::Open(dir, options, table);
  }
  if (uri == "mem:") return client::LocalTable::Open("", options, table);
  if (uri.rfind("kdi://", 0) == 0) {
    return client::RemoteTable::Open(uri, options, table);
  }
  return Status::InvalidArgument("unknown table URI '" + uri +
                                 "' (expected kdi://HOST[:PORT]/TABLE, local:DIR or mem:)");
}

Status Table::Set(std::string_view row, std::string_view column, int64_t timestamp,
                  std::string_view value) {
  RowMutation m{std::string(row)};
  m.Set(column, timestamp, value);
  return ApplyBatch({m});
}

Status Table::Erase(std::string_view row, std::string_view column, int64_t timestamp) {
  RowMutation m{std::string(row)};
  m.Erase(column, timestamp);
  return ApplyBatch({m});
}

Status Table::Insert(const Cell& cell) {
  RowMutation m{cell.row};
  m.Insert(cell);
  return ApplyBatch({m});
}

Status Table::EraseRow(std::string_view row) {
  RowMutation m{std::string(row)};
  m.EraseRow();
  return ApplyBatch({m});
}

Status Table::Apply(const RowMutation& mutation) { return ApplyBatch({mutation}); }

Status Table::Scan(std::string_view predicate_text, std::unique_ptr<CellStream>* out) {
  ScanPredicate p;
  RETURN_NOT_OK(ScanPredicate::Parse(predicate_text, &p));
  return Scan(p, out);
}

}  // namespace kdi
