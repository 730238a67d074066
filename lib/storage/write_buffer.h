// WriteBuffer: the batches a tablet has acknowledged (they are in its write-ahead
// log) but not yet applied to its Berkeley DB B-tree, oldest first, with an
// index of the rows they touch.
//
// The B-tree is the only thing readers read, so a reader that might see one of
// these rows first has the buffer applied ("drained") up to the batch; the index
// answers "does a pending batch touch this row / these rows?" and "what is this
// row's latest revision?" without a drain.
//
// Threading: Push and PopFront are called by the tablet's writer (under its write
// mutex); the queries may come from any thread. All methods take the internal
// mutex briefly; Front() returns pointers that stay valid until PopFront removes
// those batches (only the writer pops, so the writer may use them freely).
#ifndef KDI_LIB_STORAGE_WRITE_BUFFER_H_
#define KDI_LIB_STORAGE_WRITE_BUFFER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/scan_predicate.h"
#include "kdi/table.h"

namespace kdi::storage {

// One B-tree operation of a batch, encoded (cell_key.h, codec of values).
struct BatchOp {
  Mutation::Type type;
  std::string key;    // full key (kSet, kErase) or prefix (kEraseColumn, kEraseRow)
  std::string value;  // encoded value (kSet)
};

// A committed batch: its revision, its operations in order, its distinct rows.
struct PendingBatch {
  uint64_t revision = 0;
  std::vector<BatchOp> ops;
  std::vector<std::string> rows;  // sorted, distinct

  size_t MemoryBytes() const;
  // The write-ahead log payload of this batch (doc/storage_format.md):
  //   batch := fixed64 revision, varint32 nrows, nrows x lp(row),
  //            varint32 nops, nops x (u8 type, lp key, lp value)
  void EncodeTo(std::string* dst) const;
  // InvalidArgument-free decoding: Corruption naming what is wrong.
  static Status DecodeFrom(std::string_view src, PendingBatch* out);
};

class WriteBuffer {
 public:
  void Push(PendingBatch batch);
  // The oldest up to max batches (pointers valid until popped).
  std::vector<const PendingBatch*> Front(size_t max) const;
  // Removes the oldest n batches.
  void PopFront(size_t n);

  bool empty() const { return count_.load(std::memory_order_acquire) == 0; }
  size_t batches() const;
  size_t bytes() const;
  // The revision of the newest pending batch (0 if none).
  uint64_t last_revision() const;
  // The revision of the oldest pending batch (0 if none).
  uint64_t first_revision() const;

  // Whether a pending batch touches row; if so *revision (optional) receives the
  // newest such batch's revision.
  bool HasRow(std::string_view row, uint64_t* revision = nullptr) const;
  // How many pending batches touch row.
  size_t BatchesOfRow(std::string_view row) const;
  // Whether a pending batch touches a row inside rows.
  bool TouchesAny(const StringIntervalSet& rows) const;
  // Appends to *ops the operations of the pending batches touching row whose
  // key starts with key_prefix (the row's encoded prefix), oldest batch first
  // and in order within a batch; false (nothing appended) if no pending batch
  // touches row. The pointers are valid until PopFront removes those batches
  // (a tablet pops only under its B-tree lock, which its readers hold).
  bool CollectRowOps(std::string_view row, std::string_view key_prefix,
                     std::vector<const BatchOp*>* ops) const;

 private:
  struct RowEntry {
    std::deque<uint64_t> revisions;  // of the pending batches touching the row, ascending
  };
  mutable std::mutex mu_;
  std::deque<PendingBatch> queue_;                      // GUARDED_BY(mu_)
  std::map<std::string, RowEntry, std::less<>> rows_;   // GUARDED_BY(mu_)
  size_t bytes_ = 0;                                    // GUARDED_BY(mu_)
  std::atomic<size_t> count_{0};  // queue_.size(), for a lock-free empty()
};

}  // namespace kdi::storage

#endif  // KDI_LIB_STORAGE_WRITE_BUFFER_H_
