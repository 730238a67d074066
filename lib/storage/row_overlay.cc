// RowOverlay and OverlayCursor. Contract: row_overlay.h.
#include "lib/storage/row_overlay.h"

namespace kdi::storage {

RowOverlay::RowOverlay(const std::vector<const BatchOp*>& ops) {
  for (const BatchOp* op : ops) {
    switch (op->type) {
      case Mutation::Type::kSet:
        entries_[op->key] = Entry{op->value, false};
        break;
      case Mutation::Type::kErase:
        entries_[op->key] = Entry{std::string_view(), true};
        break;
      case Mutation::Type::kEraseColumn:
      case Mutation::Type::kEraseRow: {
        // Earlier pending sets under the prefix go; later ones come after
        // this operation and stay.
        const std::string_view prefix = op->key;
        auto it = entries_.lower_bound(prefix);
        while (it != entries_.end() && it->first.substr(0, prefix.size()) == prefix) {
          it = entries_.erase(it);
        }
        erased_prefixes_.push_back(prefix);
        break;
      }
    }
  }
}

bool RowOverlay::HidesStored(std::string_view key) const {
  for (std::string_view prefix : erased_prefixes_) {
    if (key.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

int OverlayCursor::Seek(std::string_view target) {
  stored_rc_ = stored_->Seek(target);
  it_ = overlay_->entries().lower_bound(target);
  return Settle();
}

int OverlayCursor::Next() {
  if (on_stored_) {
    stored_rc_ = stored_->Next();
  } else {
    ++it_;
  }
  return Settle();
}

int OverlayCursor::Settle() {
  const auto end = overlay_->entries().end();
  for (;;) {
    if (stored_rc_ != 0 && stored_rc_ != DB_NOTFOUND) return stored_rc_;
    const bool have_stored = stored_rc_ == 0;
    const bool have_overlay = it_ != end;
    if (!have_stored && !have_overlay) return DB_NOTFOUND;
    if (have_stored && overlay_->HidesStored(stored_->key())) {
      stored_rc_ = stored_->Next();
      continue;
    }
    const int cmp = !have_stored ? 1 : !have_overlay ? -1 : stored_->key().compare(it_->first);
    if (cmp == 0) {  // the overlay's state of this key replaces the stored one
      stored_rc_ = stored_->Next();
      continue;
    }
    if (cmp < 0) {
      on_stored_ = true;
      return 0;
    }
    if (it_->second.erased) {
      ++it_;
      continue;
    }
    on_stored_ = false;
    return 0;
  }
}

}  // namespace kdi::storage
