// WriteLog: a tablet's own write-ahead log, the durable half of its write path.
//
// A write is acknowledged once its record is in this log (a write(2) to the OS, so
// it survives kill -9 of the process); Sync() makes it survive a crash of the
// machine (fdatasync). The records are applied to the Berkeley DB B-tree later, in
// the background of the write path (see write_buffer.h and tablet.cc), and a
// segment is deleted once every record in it is applied and Berkeley DB's own log
// of those commits is on stable storage.
//
// Files: DIR/wal.NNNNNNNNNN (decimal sequence, 10 digits). The last segment is the
// one being appended to; every older segment was fdatasync'd before the next one
// was started (Roll), and a cut torn tail is synced too. So only the tail of the
// newest segment can be torn by a crash.
//
// Record framing (doc/storage_format.md):
//   record := fixed32 length  fixed32 crc32(payload)  payload[length]
// Replay stops at the first record of the newest segment whose header or crc does
// not check, or whose length is 0 (a write torn by a crash, or zeros written
// ahead; the rest of that file is ignored and the file is cut there); a bad
// record in an older segment is Corruption.
//
// Space written ahead: once the log has been synced, Append keeps the current
// segment's file zero-filled about 1 MiB beyond its last record, so that
// fdatasync need not write the inode and block map of a growing file. Roll cuts
// a segment back to its last record before syncing it.
//
// Threading: Append, Roll, RemoveOldSegments and RemoveAll are called by one
// thread at a time (the tablet's writer, under its write mutex). Sync may run
// concurrently with them: it flushes the segment that was current when it started (segments are shared
// pointers, so a segment rolled meanwhile stays open until its flush returns).
#ifndef KDI_LIB_STORAGE_WRITE_LOG_H_
#define KDI_LIB_STORAGE_WRITE_LOG_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/status.h"

namespace kdi::storage {

class WriteLog {
 public:
  // Largest record accepted (a batch's payload); bigger Append is InvalidArgument.
  static constexpr uint32_t kMaxRecordBytes = 256u << 20;

  // Reads every segment of dir in order and calls fn(payload) for each intact
  // record; fn's error stops the replay and is returned. A torn tail of the
  // newest segment is cut off (truncated, so appends never follow garbage) and
  // reported in *dropped_bytes. Corruption for a bad record in an older segment.
  static Status Replay(const std::string& dir,
                       const std::function<Status(std::string_view payload)>& fn,
                       uint64_t* dropped_bytes);

  // Opens the log of dir for appending: a new segment after the existing ones
  // (which stay until RemoveUpTo). The new segment's directory entry is synced.
  static Status Open(const std::string& dir, std::unique_ptr<WriteLog>* out);

  ~WriteLog();
  WriteLog(const WriteLog&) = delete;
  WriteLog& operator=(const WriteLog&) = delete;

  // Appends one record (non-empty: InvalidArgument otherwise) with a single
  // write(2). An error means the record may be
  // partly written: the caller must stop using the log (the tablet poisons
  // itself; reopening replays up to the torn record).
  Status Append(std::string_view payload);
  // fdatasync of the current segment (every older one is already durable).
  // From the first Sync on, appends write space ahead (see above).
  Status Sync();
  // Starts a new segment, after an fdatasync of the current one: replay may
  // then treat damage in any segment but the newest as Corruption. (Even a
  // segment whose records are all in the B-tree is synced: it is deleted
  // right after, but a crash in between would leave it to replay.)
  Status Roll();
  // Deletes every segment older than the current one (and, given a bound,
  // with a sequence number below it).
  Status RemoveOldSegments(uint64_t below_sequence = UINT64_MAX);
  // Deletes every segment, the current one included (a clean close: every
  // record is durable elsewhere). The log must not be used afterwards.
  Status RemoveAll();

  uint64_t current_bytes() const;     // bytes in the current segment
  uint64_t current_sequence() const;  // its sequence number
  size_t segment_count() const;       // segments on disk, current included

  // "wal.NNNNNNNNNN" for a sequence number, and the inverse (false if not a name
  // of a segment).
  static std::string SegmentName(uint64_t sequence);
  static bool ParseSegmentName(std::string_view name, uint64_t* sequence);

 private:
  struct Segment;
  explicit WriteLog(std::string dir);
  Status StartSegment(uint64_t sequence);

  const std::string dir_;
  mutable std::mutex mu_;                 // guards current_ and old_ (for Sync)
  std::shared_ptr<Segment> current_;      // GUARDED_BY(mu_)
  std::vector<uint64_t> old_sequences_;   // GUARDED_BY(mu_): older segments on disk
  std::atomic<bool> preallocate_{false};  // set by the first Sync
};

}  // namespace kdi::storage

#endif  // KDI_LIB_STORAGE_WRITE_LOG_H_
