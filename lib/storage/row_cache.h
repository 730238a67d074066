// RowCache: the stored key/value pairs of recently read small rows of one
// tablet, so that a point read of a hot row is served from memory instead of a
// B-tree search plus one Berkeley DB call per cell (a read of a 10-cell row
// made 11 such calls, about a third of the tabletd's CPU per read).
//
// Staleness: the tablet changes its B-tree only while holding rw_mu
// exclusively, and readers look up and fill while holding it shared. A drain
// changes only the rows of the batches it applies, and erases exactly those
// rows from the cache (Erase) before it releases rw_mu. Anything else that
// changes the B-tree (a compaction step) bumps the tablet's B-tree generation:
// every entry carries the generation it was read at, and an entry of an older
// one is stale. So an entry found holds exactly what the B-tree holds for its
// row. What is cached is the raw B-tree content (every version, erasure
// markers, expired cells): the scan engine applies the predicate, the schema's
// version limits and TTL to it on every read, as it does to the B-tree.
//
// Only rows of at most kMaxRowPairs pairs and kMaxRowBytes bytes are cached;
// the cache holds at most capacity_bytes (keys, values and a fixed overhead per
// pair and row), evicting the least recently used rows.
//
// Threading: thread-safe (one mutex); entries are immutable and shared, so a
// reader keeps using one it looked up after it was evicted or replaced.
#ifndef KDI_LIB_STORAGE_ROW_CACHE_H_
#define KDI_LIB_STORAGE_ROW_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kdi::storage {

class RowCache {
 public:
  static constexpr size_t kMaxRowPairs = 64;
  static constexpr size_t kMaxRowBytes = 16 * 1024;
  // Bytes counted per pair and per row on top of their keys and values.
  static constexpr size_t kPairOverhead = 2 * sizeof(std::string);
  static constexpr size_t kRowOverhead = 160;

  // One row's pairs in key order, as read from the B-tree at `generation`.
  struct Entry {
    uint64_t generation = 0;
    // The row exceeds the limits: not cached (pairs empty), and not read again
    // to find that out until the generation changes.
    bool too_big = false;
    std::vector<std::pair<std::string, std::string>> pairs;
    size_t bytes = 0;  // as counted against the capacity
  };

  explicit RowCache(size_t capacity_bytes) : capacity_(capacity_bytes) {}
  RowCache(const RowCache&) = delete;
  RowCache& operator=(const RowCache&) = delete;

  // The entry of row read at `generation`, or null (absent or stale). A
  // too_big entry counts as a miss.
  std::shared_ptr<const Entry> Lookup(std::string_view row, uint64_t generation);
  // Stores entry for row (replacing an older one); an entry over the limits
  // above is stored as too_big, without its pairs. Evicts least recently used
  // rows.
  void Insert(std::string_view row, std::shared_ptr<Entry> entry);
  // Forgets row (its B-tree content is changing).
  void Erase(std::string_view row);
  // Bytes an entry with these pairs counts for.
  static size_t Charge(std::string_view row,
                       const std::vector<std::pair<std::string, std::string>>& pairs);

  size_t bytes() const;
  size_t rows() const;
  uint64_t hits() const;
  uint64_t misses() const;

 private:
  using Lru = std::list<std::pair<std::string, std::shared_ptr<const Entry>>>;
  void EvictLocked();

  const size_t capacity_;
  mutable std::mutex mu_;
  Lru lru_;  // GUARDED_BY(mu_): most recently used first
  std::unordered_map<std::string_view, Lru::iterator> index_;  // GUARDED_BY(mu_): keys view lru_
  size_t bytes_ = 0;    // GUARDED_BY(mu_)
  uint64_t hits_ = 0;   // GUARDED_BY(mu_)
  uint64_t misses_ = 0;  // GUARDED_BY(mu_)
};

// The scan engine's cursor over one cached row (the interface of BulkCursor:
// Seek to the first key >= target, Next; 0 or DB_NOTFOUND). Keys outside the
// row do not exist for it: a seek past the row's pairs is DB_NOTFOUND.
class RowCacheCursor {
 public:
  explicit RowCacheCursor(const RowCache::Entry* entry) : entry_(entry) {}
  int Seek(std::string_view target);
  int Next();
  std::string_view key() const { return entry_->pairs[pos_].first; }
  std::string_view value() const { return entry_->pairs[pos_].second; }

 private:
  const RowCache::Entry* entry_;
  size_t pos_ = 0;
};

}  // namespace kdi::storage

#endif  // KDI_LIB_STORAGE_ROW_CACHE_H_
