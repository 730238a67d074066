// WriteLog (the tablet's write-ahead log) and WriteBuffer: framing and replay,
// torn tails cut, damage in a synced segment refused, rolling and removal of
// segments, the batch record round trip and malformed records, and the row index
// of the buffer.
#include "lib/storage/write_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "lib/storage/env.h"
#include "lib/storage/write_buffer.h"
#include "lib/util/coding.h"
#include "t/test_util.h"

namespace kdi::storage {
namespace {

using test::TempDir;

std::vector<std::string> ReplayAll(const std::string& dir, uint64_t* dropped,
                                   Status* status = nullptr) {
  std::vector<std::string> out;
  Status s = WriteLog::Replay(
      dir,
      [&](std::string_view p) {
        out.emplace_back(p);
        return Status::OK();
      },
      dropped);
  if (status != nullptr) {
    *status = s;
  } else {
    EXPECT_OK(s);
  }
  return out;
}

void AppendRaw(const std::string& path, std::string_view bytes) {
  int fd = open(path.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  close(fd);
}

void WriteAt(const std::string& path, off_t offset, std::string_view bytes) {
  int fd = open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, bytes.data(), bytes.size(), offset), static_cast<ssize_t>(bytes.size()));
  close(fd);
}

off_t FileSize(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0);
  return st.st_size;
}

TEST(WriteLogTest, RecordsComeBackInOrderAcrossSegments) {
  TempDir dir;
  std::unique_ptr<WriteLog> log;
  ASSERT_OK(WriteLog::Open(dir.path(), &log));
  ASSERT_OK(log->Append("one"));
  // An empty record would read as space written ahead: refused.
  EXPECT_TRUE(log->Append("").IsInvalidArgument());
  ASSERT_OK(log->Append("two"));
  ASSERT_OK(log->Roll());
  ASSERT_OK(log->Append(std::string(100000, 'x')));
  ASSERT_OK(log->Sync());
  EXPECT_EQ(log->segment_count(), 2u);
  log.reset();
  uint64_t dropped = 99;
  auto recs = ReplayAll(dir.path(), &dropped);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0], "one");
  EXPECT_EQ(recs[1], "two");
  EXPECT_EQ(recs[2], std::string(100000, 'x'));
  EXPECT_EQ(dropped, 0u);
  // A new opener starts after the existing segments and can remove them.
  ASSERT_OK(WriteLog::Open(dir.path(), &log));
  EXPECT_EQ(log->current_sequence(), 3u);
  EXPECT_EQ(log->segment_count(), 3u);
  ASSERT_OK(log->RemoveOldSegments());
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_TRUE(ReplayAll(dir.path(), &dropped).empty());
  ASSERT_OK(log->RemoveAll());
  std::vector<std::string> names;
  ASSERT_OK(Env::Default()->ListDir(dir.path(), &names));
  EXPECT_TRUE(names.empty());
}

TEST(WriteLogTest, ATornTailOfTheNewestSegmentIsCutAndAppendsFollowCleanly) {
  TempDir dir;
  std::unique_ptr<WriteLog> log;
  ASSERT_OK(WriteLog::Open(dir.path(), &log));
  ASSERT_OK(log->Append("kept"));
  log.reset();
  const std::string seg = dir.Join(WriteLog::SegmentName(1));
  const off_t good = FileSize(seg);
  // A header promising more bytes than were written (a crash mid-write).
  std::string torn;
  PutFixed32(&torn, 1000);
  PutFixed32(&torn, 0);
  torn += "partial";
  AppendRaw(seg, torn);
  uint64_t dropped = 0;
  auto recs = ReplayAll(dir.path(), &dropped);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0], "kept");
  EXPECT_EQ(dropped, torn.size());
  EXPECT_EQ(FileSize(seg), good);
  // A short header and a checksum mismatch are torn tails too.
  AppendRaw(seg, "abc");
  recs = ReplayAll(dir.path(), &dropped);
  EXPECT_EQ(recs.size(), 1u);
  EXPECT_EQ(dropped, 3u);
  std::string bad_crc;
  PutFixed32(&bad_crc, 2);
  PutFixed32(&bad_crc, 12345);
  bad_crc += "zz";
  AppendRaw(seg, bad_crc);
  recs = ReplayAll(dir.path(), &dropped);
  EXPECT_EQ(recs.size(), 1u);
  EXPECT_EQ(dropped, bad_crc.size());
  // The next opener appends after the good records.
  ASSERT_OK(WriteLog::Open(dir.path(), &log));
  ASSERT_OK(log->Append("after"));
  log.reset();
  recs = ReplayAll(dir.path(), &dropped);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1], "after");
}

TEST(WriteLogTest, ASyncedLogWritesSpaceAheadThatReplayAndRollCut) {
  TempDir dir;
  std::unique_ptr<WriteLog> log;
  ASSERT_OK(WriteLog::Open(dir.path(), &log));
  const std::string seg1 = dir.Join(WriteLog::SegmentName(1));
  ASSERT_OK(log->Append("unsynced"));
  EXPECT_EQ(FileSize(seg1), 16);  // no space ahead before the first Sync
  ASSERT_OK(log->Sync());
  ASSERT_OK(log->Append("synced"));
  const off_t records = 16 + 14;
  EXPECT_EQ(log->current_bytes(), static_cast<uint64_t>(records));
  // 1 MiB of zeros from the end of the records when the space ran out.
  EXPECT_EQ(FileSize(seg1), 16 + (1 << 20));
  // A record larger than the space ahead gets enough.
  ASSERT_OK(log->Append(std::string(3 << 20, 'y')));
  EXPECT_GE(FileSize(seg1), static_cast<off_t>(log->current_bytes()));
  const uint64_t seg1_bytes = log->current_bytes();
  // Roll cuts the segment back to its records: an older segment has nothing
  // after them.
  ASSERT_OK(log->Roll());
  EXPECT_EQ(FileSize(seg1), static_cast<off_t>(seg1_bytes));
  const std::string seg2 = dir.Join(WriteLog::SegmentName(2));
  ASSERT_OK(log->Append("newest"));
  ASSERT_OK(log->Sync());
  EXPECT_GT(FileSize(seg2), 8 + 6);
  log.reset();  // as a crash leaves it: zeros after the newest record
  uint64_t dropped = 99;
  auto recs = ReplayAll(dir.path(), &dropped);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[1], "synced");
  EXPECT_EQ(recs[3], "newest");
  EXPECT_EQ(dropped, 0u);  // zeros are not a torn write
  EXPECT_EQ(FileSize(seg2), 8 + 6);
  // A torn record inside the space ahead is still a torn write.
  ASSERT_OK(WriteLog::Open(dir.path(), &log));
  ASSERT_OK(log->Sync());
  ASSERT_OK(log->Append("x"));
  log.reset();
  const std::string seg3 = dir.Join(WriteLog::SegmentName(3));
  std::string torn;
  PutFixed32(&torn, 1000);
  PutFixed32(&torn, 7);
  torn += "part";
  WriteAt(seg3, 9, torn);
  recs = ReplayAll(dir.path(), &dropped);
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[4], "x");
  EXPECT_EQ(dropped, static_cast<uint64_t>((1 << 20) - 9));
  EXPECT_EQ(FileSize(seg3), 9);
}

TEST(WriteLogTest, DamageInASyncedSegmentIsCorruptionNotSilentLoss) {
  TempDir dir;
  std::unique_ptr<WriteLog> log;
  ASSERT_OK(WriteLog::Open(dir.path(), &log));
  ASSERT_OK(log->Append("first"));
  ASSERT_OK(log->Append("second"));
  ASSERT_OK(log->Roll());
  ASSERT_OK(log->Append("third"));
  log.reset();
  const std::string seg = dir.Join(WriteLog::SegmentName(1));
  WriteAt(seg, 9, "X");  // inside the first payload
  uint64_t dropped = 0;
  Status s;
  ReplayAll(dir.path(), &dropped, &s);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.ToString().find("wal.0000000001"), std::string::npos) << s.ToString();
  EXPECT_EQ(FileSize(seg), 8 + 5 + 8 + 6);  // untouched: nothing cut
}

TEST(WriteLogTest, AnErrorFromTheCallbackStopsTheReplay) {
  TempDir dir;
  std::unique_ptr<WriteLog> log;
  ASSERT_OK(WriteLog::Open(dir.path(), &log));
  ASSERT_OK(log->Append("a"));
  ASSERT_OK(log->Append("b"));
  log.reset();
  int calls = 0;
  uint64_t dropped = 0;
  Status s = WriteLog::Replay(
      dir.path(),
      [&](std::string_view) {
        ++calls;
        return Status::Corruption("no");
      },
      &dropped);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_EQ(calls, 1);
}

TEST(WriteLogTest, SegmentNamesRoundTripAndOthersAreIgnored) {
  uint64_t seq = 0;
  EXPECT_EQ(WriteLog::SegmentName(42), "wal.0000000042");
  EXPECT_TRUE(WriteLog::ParseSegmentName("wal.0000000042", &seq));
  EXPECT_EQ(seq, 42u);
  EXPECT_FALSE(WriteLog::ParseSegmentName("wal.42", &seq));
  EXPECT_FALSE(WriteLog::ParseSegmentName("wal.00000000x2", &seq));
  EXPECT_FALSE(WriteLog::ParseSegmentName("log.0000000001", &seq));
}

TEST(WriteLogTest, IoFaultsOnTheLogAreReported) {
  TempDir dir;
  std::unique_ptr<WriteLog> log;
  ASSERT_OK(WriteLog::Open(dir.path(), &log));
  SetBdbIoFaultRules({BdbIoFaultRule{BdbIoOp::kWrite, ENOSPC, 1, "wal."}});
  Status s = log->Append("x");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("wal.0000000001"), std::string::npos) << s.ToString();
  SetBdbIoFaultRules({BdbIoFaultRule{BdbIoOp::kSync, EIO, 1, "wal."}});
  EXPECT_FALSE(log->Sync().ok());
  SetBdbIoFaultRules({});
  EXPECT_OK(log->Append("y"));
  EXPECT_OK(log->Sync());
}

PendingBatch MakeBatch(uint64_t rev, std::vector<std::string> rows) {
  PendingBatch b;
  b.revision = rev;
  b.rows = std::move(rows);
  for (const std::string& r : b.rows) {
    b.ops.push_back(BatchOp{Mutation::Type::kSet, "k" + r, "v" + r});
  }
  b.ops.push_back(BatchOp{Mutation::Type::kEraseRow, "p", ""});
  return b;
}

TEST(WriteBufferTest, BatchRecordsRoundTripAndMalformedOnesAreCorruption) {
  PendingBatch b = MakeBatch(7, {"a", std::string("b\0c", 3)});
  std::string enc;
  b.EncodeTo(&enc);
  PendingBatch d;
  ASSERT_OK(PendingBatch::DecodeFrom(enc, &d));
  EXPECT_EQ(d.revision, 7u);
  EXPECT_EQ(d.rows, b.rows);
  ASSERT_EQ(d.ops.size(), 3u);
  EXPECT_EQ(d.ops[1].key, "k" + std::string("b\0c", 3));
  EXPECT_EQ(d.ops[2].type, Mutation::Type::kEraseRow);
  for (size_t cut = 0; cut < enc.size(); ++cut) {
    EXPECT_TRUE(PendingBatch::DecodeFrom(enc.substr(0, cut), &d).IsCorruption()) << cut;
  }
  std::string bad_type = enc;
  bad_type[bad_type.size() - 3] = 9;  // the last op's type byte
  EXPECT_TRUE(PendingBatch::DecodeFrom(bad_type, &d).IsCorruption());
  EXPECT_TRUE(PendingBatch::DecodeFrom(enc + "x", &d).IsCorruption());
}

TEST(WriteBufferTest, RowIndexFollowsPushesAndPops) {
  WriteBuffer buf;
  EXPECT_TRUE(buf.empty());
  buf.Push(MakeBatch(1, {"apple", "kiwi"}));
  buf.Push(MakeBatch(2, {"kiwi"}));
  EXPECT_EQ(buf.batches(), 2u);
  EXPECT_GT(buf.bytes(), 0u);
  EXPECT_EQ(buf.last_revision(), 2u);
  uint64_t rev = 0;
  EXPECT_TRUE(buf.HasRow("kiwi", &rev));
  EXPECT_EQ(rev, 2u);
  EXPECT_TRUE(buf.HasRow("apple", &rev));
  EXPECT_EQ(rev, 1u);
  EXPECT_FALSE(buf.HasRow("pear"));
  EXPECT_TRUE(buf.TouchesAny(StringIntervalSet::All()));
  EXPECT_TRUE(buf.TouchesAny(StringIntervalSet::Range("b", "l")));
  EXPECT_FALSE(buf.TouchesAny(StringIntervalSet::Range("b", "kiwi")));  // [b, kiwi)
  EXPECT_TRUE(buf.TouchesAny(StringIntervalSet::Prefix("app")));
  EXPECT_FALSE(buf.TouchesAny(StringIntervalSet::AtLeast("l")));
  auto front = buf.Front(10);
  ASSERT_EQ(front.size(), 2u);
  EXPECT_EQ(front[0]->revision, 1u);
  buf.PopFront(1);
  EXPECT_FALSE(buf.HasRow("apple"));
  EXPECT_TRUE(buf.HasRow("kiwi", &rev));
  EXPECT_EQ(rev, 2u);
  buf.PopFront(1);
  EXPECT_TRUE(buf.empty());
  EXPECT_EQ(buf.bytes(), 0u);
  EXPECT_FALSE(buf.TouchesAny(StringIntervalSet::All()));
}

}  // namespace
}  // namespace kdi::storage
