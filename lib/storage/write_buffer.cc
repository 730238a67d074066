// WriteBuffer and the write-ahead log form of a batch. Contract: write_buffer.h.
#include "lib/storage/write_buffer.h"

#include <algorithm>

#include "lib/util/coding.h"

namespace kdi::storage {

size_t PendingBatch::MemoryBytes() const {
  size_t n = sizeof(PendingBatch);
  for (const BatchOp& op : ops) n += sizeof(BatchOp) + op.key.size() + op.value.size();
  for (const std::string& r : rows) n += sizeof(std::string) + r.size() + 48;  // + index
  return n;
}

void PendingBatch::EncodeTo(std::string* dst) const {
  PutFixed64(dst, revision);
  PutVarint32(dst, static_cast<uint32_t>(rows.size()));
  for (const std::string& r : rows) PutLengthPrefixed(dst, r);
  PutVarint32(dst, static_cast<uint32_t>(ops.size()));
  for (const BatchOp& op : ops) {
    dst->push_back(static_cast<char>(op.type));
    PutLengthPrefixed(dst, op.key);
    PutLengthPrefixed(dst, op.value);
  }
}

Status PendingBatch::DecodeFrom(std::string_view src, PendingBatch* out) {
  Decoder in(src);
  uint32_t nrows = 0, nops = 0;
  in.GetFixed64(&out->revision);
  in.GetCount(&nrows, 1);
  out->rows.clear();
  out->rows.reserve(in.ok() ? nrows : 0);
  for (uint32_t i = 0; in.ok() && i < nrows; ++i) {
    std::string_view r;
    if (in.GetLengthPrefixed(&r)) out->rows.emplace_back(r);
  }
  in.GetCount(&nops, 3);
  out->ops.clear();
  out->ops.reserve(in.ok() ? nops : 0);
  for (uint32_t i = 0; in.ok() && i < nops; ++i) {
    std::string_view type, key, value;
    if (!in.GetBytes(1, &type) || !in.GetLengthPrefixed(&key) || !in.GetLengthPrefixed(&value)) {
      break;
    }
    const auto t = static_cast<Mutation::Type>(static_cast<uint8_t>(type[0]));
    if (t != Mutation::Type::kSet && t != Mutation::Type::kErase &&
        t != Mutation::Type::kEraseColumn && t != Mutation::Type::kEraseRow) {
      return Status::Corruption("write-ahead log record: unknown operation type " +
                                std::to_string(static_cast<uint8_t>(type[0])));
    }
    out->ops.push_back(BatchOp{t, std::string(key), std::string(value)});
  }
  Status s = in.status("write-ahead log record");
  if (!s.ok()) return Status::Corruption(s.message());
  if (out->revision == 0) return Status::Corruption("write-ahead log record: revision 0");
  return Status::OK();
}

void WriteBuffer::Push(PendingBatch batch) {
  std::lock_guard<std::mutex> l(mu_);
  for (const std::string& r : batch.rows) rows_[r].revisions.push_back(batch.revision);
  bytes_ += batch.MemoryBytes();
  queue_.push_back(std::move(batch));
  count_.store(queue_.size(), std::memory_order_release);
}

std::vector<const PendingBatch*> WriteBuffer::Front(size_t max) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<const PendingBatch*> out;
  for (size_t i = 0; i < queue_.size() && i < max; ++i) out.push_back(&queue_[i]);
  return out;
}

void WriteBuffer::PopFront(size_t n) {
  std::lock_guard<std::mutex> l(mu_);
  for (size_t i = 0; i < n && !queue_.empty(); ++i) {
    const PendingBatch& b = queue_.front();
    for (const std::string& r : b.rows) {
      auto it = rows_.find(r);
      if (it == rows_.end()) continue;
      // The oldest batch goes first, so it is the front of each of its rows' lists.
      std::deque<uint64_t>& revs = it->second.revisions;
      if (!revs.empty()) revs.pop_front();
      if (revs.empty()) rows_.erase(it);
    }
    bytes_ -= std::min(bytes_, b.MemoryBytes());
    queue_.pop_front();
  }
  count_.store(queue_.size(), std::memory_order_release);
}

size_t WriteBuffer::batches() const {
  std::lock_guard<std::mutex> l(mu_);
  return queue_.size();
}

size_t WriteBuffer::bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return bytes_;
}

uint64_t WriteBuffer::last_revision() const {
  std::lock_guard<std::mutex> l(mu_);
  return queue_.empty() ? 0 : queue_.back().revision;
}

uint64_t WriteBuffer::first_revision() const {
  std::lock_guard<std::mutex> l(mu_);
  return queue_.empty() ? 0 : queue_.front().revision;
}

bool WriteBuffer::HasRow(std::string_view row, uint64_t* revision) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = rows_.find(row);
  if (it == rows_.end()) return false;
  if (revision != nullptr) *revision = it->second.revisions.back();
  return true;
}

size_t WriteBuffer::BatchesOfRow(std::string_view row) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = rows_.find(row);
  return it == rows_.end() ? 0 : it->second.revisions.size();
}

bool WriteBuffer::CollectRowOps(std::string_view row, std::string_view key_prefix,
                                std::vector<const BatchOp*>* ops) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = rows_.find(row);
  if (it == rows_.end()) return false;
  for (uint64_t rev : it->second.revisions) {
    // Revisions increase along the queue: find the batch by binary search.
    auto b = std::lower_bound(queue_.begin(), queue_.end(), rev,
                              [](const PendingBatch& p, uint64_t r) { return p.revision < r; });
    if (b == queue_.end() || b->revision != rev) continue;  // cannot happen
    for (const BatchOp& op : b->ops) {
      if (op.key.compare(0, key_prefix.size(), key_prefix) == 0) ops->push_back(&op);
    }
  }
  return true;
}

bool WriteBuffer::TouchesAny(const StringIntervalSet& rows) const {
  std::lock_guard<std::mutex> l(mu_);
  if (rows_.empty()) return false;
  for (const StringInterval& iv : rows.intervals()) {
    auto it = rows_.lower_bound(iv.lower);
    if (it == rows_.end()) continue;
    if (iv.upper_unbounded || it->first < iv.upper) return true;
  }
  return false;
}

}  // namespace kdi::storage
