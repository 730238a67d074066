// RowOverlay and OverlayCursor: reading one row as the B-tree holds it with the
// row's pending (acknowledged, not yet applied) batches laid over it, so that a
// point read of a row with pending writes need not apply the write buffer first.
//
// RowOverlay is built from the row's pending operations, oldest first (from
// WriteBuffer::CollectRowOps): the cells they set, the exact cells they erase,
// and the column/row prefixes they erase. Applying those operations to the
// B-tree would give: every key the overlay sets or erases replaced by the
// overlay's state; every other stored key hidden if an erased prefix covers it.
//
// OverlayCursor merges a BulkCursor over the B-tree with an overlay, with the
// same Seek/Next/key/value contract as BulkCursor (what the scan engine reads),
// in key order. The scan engine's version limits, time filters and history then
// apply to the merged cells as they would after the drain.
//
// Lifetime: an overlay views the operations' strings (valid while their
// batches are pending: the tablet pops batches only under its B-tree lock,
// which the reader holds). key()/value() of the cursor are valid until its next
// Seek/Next. Threading: one thread at a time.
#ifndef KDI_LIB_STORAGE_ROW_OVERLAY_H_
#define KDI_LIB_STORAGE_ROW_OVERLAY_H_

#include <map>
#include <string_view>
#include <vector>

#include "lib/storage/bulk_cursor.h"
#include "lib/storage/write_buffer.h"

namespace kdi::storage {

class RowOverlay {
 public:
  struct Entry {
    std::string_view value;  // the encoded cell value (when not erased)
    bool erased = false;
  };

  // ops: the row's pending operations, oldest first.
  explicit RowOverlay(const std::vector<const BatchOp*>& ops);

  const std::map<std::string_view, Entry>& entries() const { return entries_; }
  // Whether a key stored in the B-tree is hidden by an erasure of its column or
  // row (keys the overlay itself sets after such an erasure are in entries()).
  bool HidesStored(std::string_view key) const;

 private:
  std::map<std::string_view, Entry> entries_;
  std::vector<std::string_view> erased_prefixes_;
};

class OverlayCursor {
 public:
  OverlayCursor(BulkCursor* stored, const RowOverlay* overlay)
      : stored_(stored), overlay_(overlay), it_(overlay->entries().end()) {}

  // 0 (positioned), DB_NOTFOUND (no such key) or the B-tree cursor's error.
  int Seek(std::string_view target);
  int Next();

  std::string_view key() const { return on_stored_ ? stored_->key() : it_->first; }
  std::string_view value() const { return on_stored_ ? stored_->value() : it_->second.value; }

 private:
  // Positions on the smaller of the two sides, skipping stored keys the
  // overlay hides or replaces and keys the overlay erases.
  int Settle();

  BulkCursor* stored_;
  const RowOverlay* overlay_;
  int stored_rc_ = DB_NOTFOUND;  // of the last Seek/Next of stored_
  std::map<std::string_view, RowOverlay::Entry>::const_iterator it_;
  bool on_stored_ = false;
};

}  // namespace kdi::storage

#endif  // KDI_LIB_STORAGE_ROW_OVERLAY_H_
