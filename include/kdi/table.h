// kdi::Table: the KDI Table API, the one interface applications use for data.
//
//   std::unique_ptr<kdi::Table> t;
//   RETURN_NOT_OK(kdi::Table::Open("local:/var/tmp/mytable", &t));
//   RETURN_NOT_OK(t->Set("com.foo", "word:cat", now_us, "3"));
//   RETURN_NOT_OK(t->Sync());
//   std::unique_ptr<kdi::CellStream> s;
//   RETURN_NOT_OK(t->Scan("row ~= \"com.\" and history = 1", &s));
//   for (kdi::Cell c; s->Next(&c);) { ... }
//   RETURN_NOT_OK(s->status());
//
// URIs:
//   local:DIR   one tablet stored in DIR, opened in-process (created if missing).
//   mem:        a temporary in-process table, removed when the handle is closed.
//   kdi://HOST[:PORT]/TABLE   a table of the cluster whose lockd is HOST:PORT.
//
// Semantics:
//   - All mutations of one RowMutation are atomic: a scan sees all or none of them.
//     Mutations in a RowMutation apply in order (EraseRow then Set keeps the Set).
//   - Apply/Set/... return once the mutation is acknowledged (written to the log;
//     it survives the death of the process that applied it). Sync() returns once
//     every mutation acknowledged on this handle so far is on stable storage.
//   - ApplyIf is check-and-mutate on one row: the conditions are evaluated and the
//     mutation applied atomically; if any condition is false nothing is applied
//     and the result is Conflict.
//   - Every row has a revision: a number that grows each time a mutation of the row
//     commits (0: never written). RowRevisionIs(r) makes ApplyIf succeed only if
//     the row did not change since the caller saw revision r.
//   - Bad input (empty row, row or column > 64 KiB, value over the table's limit,
//     unknown column family) is InvalidArgument and applies nothing of its batch.
//
// Stats: GetStats() returns counters of what a handle did behind the
// application's back (retries, location lookups, cache invalidations, scan
// restarts, ...): a kdi:// table follows tablet moves, splits and server
// failures without returning an error, and these counters are how a test or a
// monitoring hook sees that it happened. local: and mem: tables report zeros.
//
// Thread safety: a Table handle is thread-safe; any number of threads may call
// any method concurrently. A CellStream belongs to one thread at a time. A
// CellStream may outlive nothing: destroy streams before their Table.
#ifndef KDI_TABLE_H_
#define KDI_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/cell.h"
#include "kdi/scan_predicate.h"
#include "kdi/schema.h"
#include "kdi/status.h"

namespace kdi {

// One change to a row.
struct Mutation {
  enum class Type : uint8_t {
    kSet = 0,          // (column, timestamp) := value
    kErase = 1,        // delete (column, timestamp)
    kEraseColumn = 2,  // delete every version of column
    kEraseRow = 3,     // delete every cell of the row
  };
  Type type = Type::kSet;
  std::string column;
  int64_t timestamp = 0;
  std::string value;

  bool operator==(const Mutation& o) const {
    return type == o.type && column == o.column && timestamp == o.timestamp &&
           value == o.value;
  }
};

// The mutations of one row, applied atomically and in order.
class RowMutation {
 public:
  RowMutation() = default;
  explicit RowMutation(std::string row) : row_(std::move(row)) {}

  RowMutation& Set(std::string_view column, int64_t timestamp, std::string_view value);
  RowMutation& Erase(std::string_view column, int64_t timestamp);
  RowMutation& EraseColumn(std::string_view column);
  RowMutation& EraseRow();
  // Set for a value cell, Erase for an erasure. REQUIRES: cell.row == row().
  RowMutation& Insert(const Cell& cell);

  const std::string& row() const { return row_; }
  void set_row(std::string row) { row_ = std::move(row); }
  const std::vector<Mutation>& mutations() const { return mutations_; }
  bool empty() const { return mutations_.empty(); }
  // Bytes of row, columns and values (for batching decisions).
  size_t ByteSize() const;

  bool operator==(const RowMutation& o) const {
    return row_ == o.row_ && mutations_ == o.mutations_;
  }

 private:
  std::string row_;
  std::vector<Mutation> mutations_;
};

// A check on the row of a conditional apply. Visibility follows the schema (expired
// and surplus versions do not exist).
struct Condition {
  enum class Type : uint8_t {
    kCellEquals = 0,     // cell (column, timestamp) exists with this value
    kCellAbsent = 1,     // cell (column, timestamp) does not exist
    kLatestEquals = 2,   // the newest version of column exists and has this value
    kColumnAbsent = 3,   // column has no version
    kRowAbsent = 4,      // the row has no cell
    kRowRevisionIs = 5,  // the row's revision is exactly `revision`
  };
  Type type = Type::kCellEquals;
  std::string column;
  int64_t timestamp = 0;
  std::string value;
  uint64_t revision = 0;

  static Condition CellEquals(std::string_view column, int64_t ts, std::string_view value);
  static Condition CellAbsent(std::string_view column, int64_t ts);
  static Condition LatestEquals(std::string_view column, std::string_view value);
  static Condition ColumnAbsent(std::string_view column);
  static Condition RowAbsent();
  static Condition RowRevisionIs(uint64_t revision);

  bool operator==(const Condition& o) const {
    return type == o.type && column == o.column && timestamp == o.timestamp &&
           value == o.value && revision == o.revision;
  }
};

// A forward iterator over scan results, in cell order, fetched in bounded pages.
class CellStream {
 public:
  virtual ~CellStream() = default;
  // Fills *cell and returns true, or returns false at the end or on error; then
  // status() says which.
  virtual bool Next(Cell* cell) = 0;
  virtual Status status() const = 0;
};

struct TableOptions {
  // local:/mem: only. Without a schema a new table accepts any family; with one, a
  // new table gets it and an existing table's stored schema is replaced by it.
  std::optional<Schema> schema;
  // local: only: fail with NotFound instead of creating a missing table.
  bool create_if_missing = true;
  // Berkeley DB cache of the tablet (local:/mem:).
  size_t cache_bytes = 256 * 1024;
  size_t max_value_bytes = kDefaultMaxValueBytes;
  // Scan page limits (cells, bytes) used by CellStream; rows that fit in a page
  // are returned atomically.
  size_t scan_page_cells = 4096;
  size_t scan_page_bytes = 4 * 1024 * 1024;
};

// Counters of one Table handle since it was opened (see GetStats). Values only
// grow. Only kdi:// tables count; local: and mem: tables report zeros.
struct TableStats {
  uint64_t retries = 0;              // attempts repeated after a retryable error
  uint64_t meta_lookups = 0;         // META reads (location cache misses)
  uint64_t root_lookups = 0;         // reads of /kdi/root (where META is served)
  uint64_t cache_invalidations = 0;  // cached locations dropped (NotServing & co.)
  uint64_t batches_sent = 0;         // Apply requests sent to tablet servers
  uint64_t rows_sent = 0;            // RowMutations in those requests
  uint64_t flushes = 0;              // write-buffer flushes (size, time, Sync, ...)
  uint64_t syncs_sent = 0;           // Sync requests sent to tablet servers
  uint64_t scan_pages = 0;           // scan pages received
  uint64_t scan_restarts = 0;        // scans resumed from their last cell after an error
};

class Table {
 public:
  static Status Open(const std::string& uri, std::unique_ptr<Table>* table);
  static Status Open(const std::string& uri, const TableOptions& options,
                     std::unique_ptr<Table>* table);

  virtual ~Table() = default;

  // Convenience single-cell mutations (each is one atomic RowMutation).
  Status Set(std::string_view row, std::string_view column, int64_t timestamp,
             std::string_view value);
  Status Erase(std::string_view row, std::string_view column, int64_t timestamp);
  Status Insert(const Cell& cell);
  Status EraseRow(std::string_view row);
  Status Apply(const RowMutation& mutation);

  // Each RowMutation is atomic; rows of a batch may become visible separately (a
  // local: table applies the whole batch atomically, a kdi:// table per tablet).
  // On error, rows of the batch may or may not have been applied, except that a
  // validation error (InvalidArgument) applies nothing.
  virtual Status ApplyBatch(const std::vector<RowMutation>& batch) = 0;

  // Applies `mutation` iff every condition holds on mutation.row(), atomically;
  // otherwise Conflict naming the failed condition. On success *revision (if not
  // null) receives the row's new revision.
  virtual Status ApplyIf(const std::vector<Condition>& conditions,
                         const RowMutation& mutation, uint64_t* revision) = 0;

  // The row's current revision (0 if it was never written).
  virtual Status GetRowRevision(std::string_view row, uint64_t* revision) = 0;

  // Blocks until every mutation acknowledged on this handle is durable.
  virtual Status Sync() = 0;

  virtual Status Scan(const ScanPredicate& predicate, std::unique_ptr<CellStream>* out) = 0;
  // Parses predicate_text first (InvalidArgument pointing at the bad token).
  Status Scan(std::string_view predicate_text, std::unique_ptr<CellStream>* out);

  // The table's schema.
  virtual Status GetSchema(Schema* schema) = 0;

  // A snapshot of the handle's counters (all zero for local: and mem:).
  virtual TableStats GetStats() const { return TableStats(); }

  // Flushes (Sync) and releases resources; later calls fail. The destructor closes
  // too, ignoring errors.
  virtual Status Close() = 0;
};

}  // namespace kdi

#endif  // KDI_TABLE_H_
