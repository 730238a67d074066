// BulkCursor: a forward-only reader over a Berkeley DB B-tree cursor that fetches
// key/value pairs in bulk (DB_MULTIPLE_KEY into a buffer it owns) and serves
// Seek/Next from that buffer, so the scan engine pays one Berkeley DB call (page
// latch, lock, copy) per buffer instead of per cell.
//
// Contract: key() and value() view the buffer and stay valid until the next
// Seek/Next. Seek(target) positions at the first key >= target: when the target
// lies inside the buffer fetched last it is found there (binary search), else
// the cursor seeks (DB_SET_RANGE). The data must not change while a BulkCursor
// reads it (the tablet's rw_mu excludes commits during a scan page), because the
// buffer is a copy.
//
// Buffer size: the first fetch uses about one database page; each fetch by Next
// doubles it up to kMaxBuffer (long scans); a single pair larger than the
// buffer grows it to fit (DB_BUFFER_SMALL).
//
// single_pairs: the first that many pairs are read one Berkeley DB call each
// (no bulk). A bulk fetch fills its buffer past the end of what a point read
// needs, i.e. into the next B-tree page, which costs a page read when that
// page is not cached; point reads therefore start with single pairs and switch
// to bulk only for a long row.
//
// Ownership: does not own the DBC (the caller closes it after the BulkCursor
// is gone). The buffer is kept per thread between BulkCursors (one of at most
// kMaxBuffer bytes), so a long scan does not allocate one per page.
// Threading: one thread at a time.
#ifndef KDI_LIB_STORAGE_BULK_CURSOR_H_
#define KDI_LIB_STORAGE_BULK_CURSOR_H_

#include <db.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kdi::storage {

class BulkCursor {
 public:
  static constexpr size_t kMaxBuffer = 256 * 1024;

  explicit BulkCursor(DBC* cursor, size_t single_pairs = 0);
  ~BulkCursor();
  BulkCursor(const BulkCursor&) = delete;
  BulkCursor& operator=(const BulkCursor&) = delete;

  // Each returns 0 (positioned), DB_NOTFOUND (no such key) or a Berkeley DB
  // error / ENOMEM.
  int Seek(std::string_view target);
  int Next();

  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }

  // Berkeley DB calls made (for tests: proves the bulk path is taken).
  uint64_t fetches() const { return fetches_; }

 private:
  // Fills the buffer with `op | DB_MULTIPLE_KEY` (growing it on DB_BUFFER_SMALL)
  // and positions at its first pair.
  int Fetch(u_int32_t op, std::string_view seek_target);
  // One pair with `op` (DB_SET_RANGE or DB_NEXT), without bulk.
  int FetchOne(u_int32_t op, std::string_view seek_target);
  // Seeds seek_key_ with target (for DB_SET_RANGE).
  bool SeedKey(std::string_view target);
  void Load(size_t i);  // key_/value_ := pair i of the buffer
  std::string_view PairKey(size_t i) const;
  bool Reserve(size_t bytes);

  DBC* cursor_;
  char* buf_ = nullptr;  // malloc'ed, aligned for u_int32_t
  size_t cap_ = 0;       // bytes allocated (may exceed fetch_size_: a reused buffer)
  size_t fetch_size_ = 0;  // bytes asked of Berkeley DB per fetch (multiple of 1 KiB)
  DBT data_;
  DBT seek_key_;         // DB_DBT_REALLOC, seeded with the seek target
  size_t count_ = 0;     // pairs in the buffer
  size_t pos_ = 0;       // current pair
  bool valid_ = false;   // positioned on pos_ of the bulk buffer
  size_t single_left_ = 0;  // pairs still to read one at a time
  DBT one_value_;        // DB_DBT_REALLOC, value of a single-pair read
  std::string_view key_, value_;
  uint64_t fetches_ = 0;
};

}  // namespace kdi::storage

#endif  // KDI_LIB_STORAGE_BULK_CURSOR_H_
