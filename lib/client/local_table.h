// LocalTable: the Table API over one in-process Tablet (URIs local:DIR and mem:).
//
// local:DIR opens the tablet stored in DIR (creating it when missing unless
// options.create_if_missing is false); the tablet covers every row. mem: creates
// a tablet in a fresh temporary directory (under $TMPDIR or /tmp) that is removed
// when the table is closed or destroyed.
//
// Every mutation call is applied and acknowledged before it returns (no client
// buffering); ApplyBatch is one transaction. Thread-safe, like every Table.
#ifndef KDI_LIB_CLIENT_LOCAL_TABLE_H_
#define KDI_LIB_CLIENT_LOCAL_TABLE_H_

#include <memory>
#include <string>

#include "kdi/table.h"
#include "lib/storage/tablet.h"

namespace kdi::client {

class LocalTable : public Table {
 public:
  // dir empty: mem: (temporary directory).
  static Status Open(const std::string& dir, const TableOptions& options,
                     std::unique_ptr<Table>* out);
  ~LocalTable() override;

  Status ApplyBatch(const std::vector<RowMutation>& batch) override;
  Status ApplyIf(const std::vector<Condition>& conditions, const RowMutation& mutation,
                 uint64_t* revision) override;
  Status GetRowRevision(std::string_view row, uint64_t* revision) override;
  Status Sync() override;
  Status Scan(const ScanPredicate& predicate, std::unique_ptr<CellStream>* out) override;
  Status GetSchema(Schema* schema) override;
  Status Close() override;

 private:
  LocalTable(std::unique_ptr<storage::Tablet> tablet, const TableOptions& options,
             std::string temp_dir);
  std::unique_ptr<storage::Tablet> tablet_;
  TableOptions options_;
  std::string temp_dir_;  // mem: only; removed on Close
};

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_LOCAL_TABLE_H_
