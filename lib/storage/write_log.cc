// WriteLog: segment files, record framing, replay. Contract: write_log.h.
#include "lib/storage/write_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "lib/storage/env.h"
#include "lib/util/coding.h"
#include "lib/util/log.h"

namespace kdi::storage {

namespace {

constexpr char kPrefix[] = "wal.";
constexpr size_t kDigits = 10;
constexpr size_t kHeaderBytes = 8;
// Space written ahead of the records of a segment that is being synced.
constexpr uint64_t kPreallocateBytes = 1u << 20;

uint32_t Crc(std::string_view data) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

Status WriteAll(int fd, const std::string& path, const char* data, size_t n) {
  while (n > 0) {
    if (int e = IoFaultFor(BdbIoOp::kWrite, fd)) return ErrnoToStatus("writing " + path, e);
    ssize_t w = write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus("writing " + path, errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::OK();
}

// Writes zeros over [from, to) of fd (without moving its file offset).
Status WriteZeros(int fd, const std::string& path, uint64_t from, uint64_t to) {
  static const char kZeros[64 * 1024] = {};
  while (from < to) {
    if (int e = IoFaultFor(BdbIoOp::kWrite, fd)) return ErrnoToStatus("writing " + path, e);
    size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof(kZeros), to - from));
    ssize_t w = pwrite(fd, kZeros, n, static_cast<off_t>(from));
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus("preallocating " + path, errno);
    }
    from += static_cast<uint64_t>(w);
  }
  return Status::OK();
}

Status SyncFd(int fd, const std::string& path) {
  if (int e = IoFaultFor(BdbIoOp::kSync, fd)) return ErrnoToStatus("syncing " + path, e);
  if (fdatasync(fd) != 0) return ErrnoToStatus("syncing " + path, errno);
  return Status::OK();
}

Status SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus("opening " + dir, errno);
  Status s;
  if (fsync(fd) != 0) s = ErrnoToStatus("syncing directory " + dir, errno);
  close(fd);
  return s;
}

Status ListSegments(const std::string& dir, std::vector<uint64_t>* sequences) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return ErrnoToStatus("listing " + dir, errno);
  while (dirent* e = readdir(d)) {
    uint64_t seq = 0;
    if (WriteLog::ParseSegmentName(e->d_name, &seq)) sequences->push_back(seq);
  }
  closedir(d);
  std::sort(sequences->begin(), sequences->end());
  return Status::OK();
}

}  // namespace

struct WriteLog::Segment {
  uint64_t sequence = 0;
  std::string path;
  int fd = -1;
  uint64_t bytes = 0;      // records' bytes; written by the appending thread only
  uint64_t allocated = 0;  // file size: bytes plus zeros written ahead (appender only)
  ~Segment() {
    if (fd >= 0) close(fd);
  }
};

std::string WriteLog::SegmentName(uint64_t sequence) {
  std::string digits = std::to_string(sequence);
  if (digits.size() < kDigits) digits.insert(0, kDigits - digits.size(), '0');
  return kPrefix + digits;
}

bool WriteLog::ParseSegmentName(std::string_view name, uint64_t* sequence) {
  const size_t plen = sizeof(kPrefix) - 1;
  if (name.size() != plen + kDigits || name.substr(0, plen) != kPrefix) return false;
  uint64_t v = 0;
  for (char c : name.substr(plen)) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *sequence = v;
  return true;
}

Status WriteLog::Replay(const std::string& dir,
                        const std::function<Status(std::string_view payload)>& fn,
                        uint64_t* dropped_bytes) {
  *dropped_bytes = 0;
  std::vector<uint64_t> seqs;
  RETURN_NOT_OK(ListSegments(dir, &seqs));
  for (size_t i = 0; i < seqs.size(); ++i) {
    const bool newest = i + 1 == seqs.size();
    const std::string path = dir + "/" + SegmentName(seqs[i]);
    std::string data;
    RETURN_NOT_OK(Env::Default()->ReadFile(path, size_t{1} << 31, &data));
    size_t pos = 0;
    std::string why;
    while (pos < data.size()) {
      if (data.size() - pos < kHeaderBytes) {
        why = "a record header cut short";
        break;
      }
      const uint32_t len = DecodeFixed32(data.data() + pos);
      const uint32_t crc = DecodeFixed32(data.data() + pos + 4);
      if (len == 0) {  // records are never empty: space written ahead
        why = "an empty record";
        break;
      }
      if (len > kMaxRecordBytes || data.size() - pos - kHeaderBytes < len) {
        why = "a record longer than the file";
        break;
      }
      std::string_view payload(data.data() + pos + kHeaderBytes, len);
      if (Crc(payload) != crc) {
        why = "a record whose checksum does not match";
        break;
      }
      RETURN_NOT_OK(fn(payload));
      pos += kHeaderBytes + len;
    }
    if (pos == data.size()) continue;
    if (!newest) {
      return Status::Corruption("write-ahead log " + path + ": " + why + " at offset " +
                                std::to_string(pos) + " of a segment that was synced");
    }
    // The torn tail of the last write before a crash, or zeros written
    // ahead: nothing after it was acknowledged as durable. Cut it so the log
    // never has garbage inside.
    if (std::all_of(data.begin() + static_cast<std::ptrdiff_t>(pos), data.end(),
                    [](char c) { return c == 0; })) {
      KDI_LOG(INFO, "storage") << "write-ahead log " << path << ": cutting "
                               << data.size() - pos << " bytes of space written ahead";
    } else {
      *dropped_bytes = data.size() - pos;
      KDI_LOG(WARN, "storage") << "write-ahead log " << path << ": dropping " << *dropped_bytes
                               << " bytes after offset " << pos << " (" << why
                               << ", a write torn by a crash)";
    }
    // Synced: the next opener starts a newer segment, after which damage
    // here would count as Corruption.
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoToStatus("opening " + path, errno);
    Status cut;
    if (ftruncate(fd, static_cast<off_t>(pos)) != 0) {
      cut = ErrnoToStatus("truncating " + path, errno);
    } else {
      cut = SyncFd(fd, path);
    }
    close(fd);
    RETURN_NOT_OK(cut);
  }
  return Status::OK();
}

WriteLog::WriteLog(std::string dir) : dir_(std::move(dir)) {}

WriteLog::~WriteLog() = default;

Status WriteLog::Open(const std::string& dir, std::unique_ptr<WriteLog>* out) {
  std::unique_ptr<WriteLog> log(new WriteLog(dir));
  std::vector<uint64_t> seqs;
  RETURN_NOT_OK(ListSegments(dir, &seqs));
  log->old_sequences_ = seqs;
  RETURN_NOT_OK(log->StartSegment(seqs.empty() ? 1 : seqs.back() + 1));
  *out = std::move(log);
  return Status::OK();
}

Status WriteLog::StartSegment(uint64_t sequence) {
  auto seg = std::make_shared<Segment>();
  seg->sequence = sequence;
  seg->path = dir_ + "/" + SegmentName(sequence);
  // Not O_APPEND: records go at the file offset, zeros ahead of it by pwrite.
  seg->fd = open(seg->path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (seg->fd < 0) return ErrnoToStatus("creating " + seg->path, errno);
  // The new name must survive a crash before anything written to it counts.
  RETURN_NOT_OK(SyncDir(dir_));
  std::lock_guard<std::mutex> l(mu_);
  if (current_ != nullptr) old_sequences_.push_back(current_->sequence);
  current_ = std::move(seg);
  return Status::OK();
}

Status WriteLog::Append(std::string_view payload) {
  if (payload.empty()) {
    return Status::InvalidArgument("an empty write-ahead log record");
  }
  if (payload.size() > kMaxRecordBytes) {
    return Status::InvalidArgument("a batch of " + std::to_string(payload.size()) +
                                   " bytes exceeds the write-ahead log's record limit");
  }
  std::string rec;
  rec.reserve(kHeaderBytes + payload.size());
  PutFixed32(&rec, static_cast<uint32_t>(payload.size()));
  PutFixed32(&rec, Crc(payload));
  rec.append(payload.data(), payload.size());
  Segment* seg = current_.get();  // only this (the appending) thread replaces it
  const uint64_t end = seg->bytes + rec.size();
  if (end > seg->allocated && preallocate_.load(std::memory_order_relaxed)) {
    // Zeros ahead of the records: an fdatasync then writes only data blocks
    // (not the inode and block map of a file that grew), about half the time
    // on ext4. One fdatasync per kPreallocateBytes carries the growth.
    uint64_t to = std::max(seg->allocated, seg->bytes) + kPreallocateBytes;
    while (to < end) to += kPreallocateBytes;
    RETURN_NOT_OK(WriteZeros(seg->fd, seg->path, std::max(seg->allocated, seg->bytes), to));
    seg->allocated = to;
  }
  RETURN_NOT_OK(WriteAll(seg->fd, seg->path, rec.data(), rec.size()));
  seg->bytes = end;
  return Status::OK();
}

Status WriteLog::Sync() {
  preallocate_.store(true, std::memory_order_relaxed);
  std::shared_ptr<Segment> seg;
  {
    std::lock_guard<std::mutex> l(mu_);
    seg = current_;
  }
  return SyncFd(seg->fd, seg->path);
}

Status WriteLog::Roll() {
  // A synced segment ends at its last record (replay treats anything after
  // it in an older segment as Corruption).
  if (current_->allocated > current_->bytes &&
      ftruncate(current_->fd, static_cast<off_t>(current_->bytes)) != 0) {
    return ErrnoToStatus("truncating " + current_->path, errno);
  }
  RETURN_NOT_OK(SyncFd(current_->fd, current_->path));
  return StartSegment(current_->sequence + 1);
}

Status WriteLog::RemoveOldSegments(uint64_t below_sequence) {
  std::vector<uint64_t> old;
  {
    std::lock_guard<std::mutex> l(mu_);
    // old_sequences_ is ascending: take its prefix below the bound.
    auto end = std::lower_bound(old_sequences_.begin(), old_sequences_.end(), below_sequence);
    old.assign(old_sequences_.begin(), end);
    old_sequences_.erase(old_sequences_.begin(), end);
  }
  Status result;
  for (size_t i = 0; i < old.size(); ++i) {
    const std::string path = dir_ + "/" + SegmentName(old[i]);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      result = ErrnoToStatus("removing " + path, errno);
      std::lock_guard<std::mutex> l(mu_);
      old_sequences_.insert(old_sequences_.begin(), old.begin() + i, old.end());
      break;
    }
  }
  return result;
}

Status WriteLog::RemoveAll() {
  {
    std::lock_guard<std::mutex> l(mu_);
    old_sequences_.push_back(current_->sequence);
  }
  RETURN_NOT_OK(RemoveOldSegments());
  return SyncDir(dir_);
}

uint64_t WriteLog::current_bytes() const { return current_->bytes; }

uint64_t WriteLog::current_sequence() const { return current_->sequence; }

size_t WriteLog::segment_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return old_sequences_.size() + 1;
}

}  // namespace kdi::storage
