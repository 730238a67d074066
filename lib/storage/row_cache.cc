// RowCache and RowCacheCursor. Contract: row_cache.h.
#include "lib/storage/row_cache.h"

#include <db.h>

#include <algorithm>

namespace kdi::storage {

std::shared_ptr<const RowCache::Entry> RowCache::Lookup(std::string_view row,
                                                        uint64_t generation) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = index_.find(row);
  if (it == index_.end() || it->second->second->generation != generation) {
    misses_++;
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);  // iterators stay valid
  if (it->second->second->too_big) {
    misses_++;  // the caller reads the B-tree
  } else {
    hits_++;
  }
  return it->second->second;
}

size_t RowCache::Charge(std::string_view row,
                        const std::vector<std::pair<std::string, std::string>>& pairs) {
  size_t bytes = kRowOverhead + row.size();
  for (const auto& [k, v] : pairs) bytes += k.size() + v.size() + kPairOverhead;
  return bytes;
}

void RowCache::Insert(std::string_view row, std::shared_ptr<Entry> entry) {
  size_t data = 0;
  for (const auto& [k, v] : entry->pairs) data += k.size() + v.size();
  if (entry->too_big || entry->pairs.size() > kMaxRowPairs || data > kMaxRowBytes) {
    entry->too_big = true;
    entry->pairs.clear();
    entry->pairs.shrink_to_fit();
  }
  entry->bytes = Charge(row, entry->pairs);
  if (entry->bytes > capacity_) return;
  std::lock_guard<std::mutex> l(mu_);
  auto it = index_.find(row);
  if (it != index_.end()) {
    // Keep the newer of the two (a reader that filled from an older B-tree may
    // come after one that filled from the current one).
    if (it->second->second->generation > entry->generation) return;
    bytes_ -= it->second->second->bytes;
    Lru::iterator node = it->second;
    index_.erase(it);
    lru_.erase(node);
  }
  bytes_ += entry->bytes;
  lru_.emplace_front(std::string(row), std::move(entry));
  index_.emplace(lru_.front().first, lru_.begin());
  EvictLocked();
}

void RowCache::Erase(std::string_view row) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = index_.find(row);
  if (it == index_.end()) return;
  Lru::iterator node = it->second;
  bytes_ -= node->second->bytes;
  index_.erase(it);
  lru_.erase(node);
}

void RowCache::EvictLocked() {
  while (bytes_ > capacity_ && !lru_.empty()) {
    Lru::iterator last = std::prev(lru_.end());
    bytes_ -= last->second->bytes;
    index_.erase(last->first);
    lru_.erase(last);
  }
}

size_t RowCache::bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return bytes_;
}

size_t RowCache::rows() const {
  std::lock_guard<std::mutex> l(mu_);
  return lru_.size();
}

uint64_t RowCache::hits() const {
  std::lock_guard<std::mutex> l(mu_);
  return hits_;
}

uint64_t RowCache::misses() const {
  std::lock_guard<std::mutex> l(mu_);
  return misses_;
}

int RowCacheCursor::Seek(std::string_view target) {
  const auto& pairs = entry_->pairs;
  auto it = std::lower_bound(pairs.begin(), pairs.end(), target,
                             [](const std::pair<std::string, std::string>& p,
                                std::string_view t) { return std::string_view(p.first) < t; });
  pos_ = static_cast<size_t>(it - pairs.begin());
  return pos_ < pairs.size() ? 0 : DB_NOTFOUND;
}

int RowCacheCursor::Next() {
  if (pos_ < entry_->pairs.size()) pos_++;
  return pos_ < entry_->pairs.size() ? 0 : DB_NOTFOUND;
}

}  // namespace kdi::storage
