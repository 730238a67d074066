// BulkCursor: bulk (DB_MULTIPLE_KEY) reads served from a buffer; see bulk_cursor.h.
//
// Buffer layout written by Berkeley DB (db.h, "Macros for bulk operations"): the
// pairs' bytes from the front; from the back, per pair i, four u_int32_t slots
// key offset, key length, data offset, data length, growing downwards and ended
// by a key offset of (u_int32_t)-1.
#include "lib/storage/bulk_cursor.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace kdi::storage {

namespace {
constexpr u_int32_t kEnd = static_cast<u_int32_t>(-1);
// The largest buffer grown for one pair: a value at the 64 MiB default limit,
// its key and some slack, rounded by Reserve.
constexpr size_t kMaxPairBuffer = (64u << 20) + (1u << 20);

size_t RoundUp1024(size_t n) { return (n + 1023) & ~size_t{1023}; }

// One spare buffer per thread (at most kMaxBuffer bytes), so that a scan does
// not allocate a buffer per page: buffers above malloc's mmap threshold would
// otherwise cost an mmap, page faults and an munmap every page.
struct SpareBuffer {
  char* data = nullptr;
  size_t size = 0;
  ~SpareBuffer() { free(data); }
};
thread_local SpareBuffer t_spare;
}  // namespace

BulkCursor::BulkCursor(DBC* cursor, size_t single_pairs)
    : cursor_(cursor), single_left_(single_pairs) {
  memset(&data_, 0, sizeof(data_));
  memset(&seek_key_, 0, sizeof(seek_key_));
  seek_key_.flags = DB_DBT_REALLOC;
  memset(&one_value_, 0, sizeof(one_value_));
  one_value_.flags = DB_DBT_REALLOC;
  u_int32_t page = 0;
  if (cursor_->dbp == nullptr || cursor_->dbp->get_pagesize(cursor_->dbp, &page) != 0) page = 0;
  // At least one page (Berkeley DB's minimum for a bulk buffer).
  fetch_size_ = RoundUp1024(std::max<size_t>(page, 4096));
  buf_ = t_spare.data;
  cap_ = t_spare.size;
  t_spare.data = nullptr;
  t_spare.size = 0;
}

BulkCursor::~BulkCursor() {
  if (buf_ != nullptr && cap_ <= kMaxBuffer && cap_ > t_spare.size) {
    std::swap(buf_, t_spare.data);
    std::swap(cap_, t_spare.size);
  }
  free(buf_);
  free(seek_key_.data);
  free(one_value_.data);
}

bool BulkCursor::SeedKey(std::string_view target) {
  // The search key goes in the key DBT; Berkeley DB writes the found key back
  // into it (DB_DBT_REALLOC).
  void* p = realloc(seek_key_.data, target.size() + 1);
  if (p == nullptr) return false;
  seek_key_.data = p;
  memcpy(p, target.data(), target.size());
  seek_key_.size = static_cast<u_int32_t>(target.size());
  return true;
}

int BulkCursor::FetchOne(u_int32_t op, std::string_view target) {
  valid_ = false;
  count_ = 0;
  key_ = value_ = std::string_view();
  if (op == DB_SET_RANGE && !SeedKey(target)) return ENOMEM;
  ++fetches_;
  int rc = cursor_->get(cursor_, &seek_key_, &one_value_, op);
  if (rc != 0) return rc;
  --single_left_;
  key_ = std::string_view(static_cast<const char*>(seek_key_.data), seek_key_.size);
  value_ = std::string_view(static_cast<const char*>(one_value_.data), one_value_.size);
  return 0;
}

bool BulkCursor::Reserve(size_t bytes) {
  bytes = RoundUp1024(bytes);
  if (bytes <= cap_) return true;
  // malloc's alignment suits the u_int32_t slots; contents need not survive.
  char* p = static_cast<char*>(malloc(bytes));
  if (p == nullptr) return false;
  free(buf_);
  buf_ = p;
  cap_ = bytes;
  return true;
}

std::string_view BulkCursor::PairKey(size_t i) const {
  const u_int32_t* slot =
      reinterpret_cast<const u_int32_t*>(buf_ + data_.ulen) - 1 - 4 * i;
  return std::string_view(buf_ + slot[0], slot[-1]);
}

void BulkCursor::Load(size_t i) {
  const u_int32_t* slot =
      reinterpret_cast<const u_int32_t*>(buf_ + data_.ulen) - 1 - 4 * i;
  key_ = std::string_view(buf_ + slot[0], slot[-1]);
  value_ = std::string_view(buf_ + slot[-2], slot[-3]);
  pos_ = i;
  valid_ = true;
}

int BulkCursor::Fetch(u_int32_t op, std::string_view target) {
  valid_ = false;
  count_ = 0;
  key_ = value_ = std::string_view();
  if (!Reserve(fetch_size_)) return ENOMEM;
  for (;;) {
    if (op == DB_SET_RANGE && !SeedKey(target)) return ENOMEM;
    memset(&data_, 0, sizeof(data_));
    data_.data = buf_;
    data_.ulen = static_cast<u_int32_t>(fetch_size_);
    data_.flags = DB_DBT_USERMEM;
    ++fetches_;
    int rc = cursor_->get(cursor_, &seek_key_, &data_, op | DB_MULTIPLE_KEY);
    if (rc == DB_BUFFER_SMALL) {
      // One pair does not fit: grow to what Berkeley DB asks for (the cursor
      // has not moved) and retry.
      size_t want = RoundUp1024(
          std::max<size_t>(static_cast<size_t>(data_.size) + 1024, 2 * fetch_size_));
      if (want > 2 * kMaxPairBuffer || !Reserve(want)) return ENOMEM;
      fetch_size_ = want;
      continue;
    }
    if (rc != 0) return rc;
    const u_int32_t* slot = reinterpret_cast<const u_int32_t*>(buf_ + data_.ulen) - 1;
    const u_int32_t* floor = reinterpret_cast<const u_int32_t*>(buf_);
    while (slot >= floor + 3 && *slot != kEnd) {
      ++count_;
      slot -= 4;
    }
    if (count_ == 0) return DB_NOTFOUND;
    Load(0);
    return 0;
  }
}

int BulkCursor::Next() {
  if (valid_ && pos_ + 1 < count_) {
    Load(pos_ + 1);
    return 0;
  }
  if (single_left_ > 0) return FetchOne(DB_NEXT, std::string_view());
  // The cursor sits on the last pair read: continue after it, with a larger
  // buffer each time (a long scan).
  fetch_size_ = std::max(fetch_size_, std::min(kMaxBuffer, 2 * fetch_size_));
  return Fetch(DB_NEXT, std::string_view());
}

int BulkCursor::Seek(std::string_view target) {
  if (valid_ && target > key_ && PairKey(count_ - 1) >= target) {
    // In the buffer: the first pair after pos_ with key >= target.
    size_t lo = pos_ + 1, hi = count_ - 1;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (PairKey(mid) < target) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    Load(lo);
    return 0;
  }
  if (single_left_ > 0) return FetchOne(DB_SET_RANGE, target);
  return Fetch(DB_SET_RANGE, target);
}

}  // namespace kdi::storage
