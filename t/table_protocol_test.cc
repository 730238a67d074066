// Tests of the table (3a), admin (3b), migration (3c) and master-session (600s)
// codecs: round trips of every message, and that truncated, garbage or
// over-limit bodies are refused with ProtocolError/InvalidArgument (never a
// crash or an allocation beyond the input).
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "lib/client/admin_protocol.h"
#include "lib/client/table_protocol.h"
#include "lib/util/coding.h"
#include "t/test_util.h"

namespace kdi::client {
namespace {

ApplyRequest SampleApply() {
  ApplyRequest req;
  req.tablet = {"web", "t-01"};
  RowMutation a("com.foo");
  a.Set("word:cat", 17, "3").Erase("word:dog", -5).EraseColumn("meta:x");
  RowMutation b(std::string("row\0with\xffnul", 13));
  b.EraseRow().Set("word:", 0, std::string(1000, 'v'));
  req.rows = {a, b};
  return req;
}

ScanPageReply SampleScanReply() {
  ScanPageReply r;
  r.cells.push_back(Cell("a", "f:1", 3, "x"));
  r.cells.push_back(Cell("a", "f:1", 2, ""));
  r.cells.push_back(Cell("b", "f:2", -1, std::string(300, 'z')));
  r.resume_token = "tok\x01";
  r.done = false;
  return r;
}

SplitInfo SampleSplit() {
  SplitInfo s;
  s.parent = {{"web", "p"}, "", "", "tables/web/p"};
  s.left = {{"web", "l"}, "", "m", "tables/web/l"};
  s.right = {{"web", "r"}, "m", "", "tables/web/r"};
  s.server = "127.0.0.1:7402";
  s.split_time_us = 1234567;
  return s;
}

// Every proper prefix of a valid body must fail to decode, cleanly.
template <typename T, typename Fn>
void ExpectPrefixesFail(const std::string& body, Fn decode) {
  for (size_t n = 0; n < body.size(); n++) {
    T out;
    Status s = decode(std::string_view(body.data(), n), &out);
    EXPECT_FALSE(s.ok()) << "prefix of " << n << " of " << body.size() << " bytes decoded";
  }
}

TEST(TableProtocolTest, ApplyRoundTrip) {
  ApplyRequest req = SampleApply();
  std::string body;
  EncodeApplyRequest(req, &body);
  ApplyRequest out;
  ASSERT_OK(DecodeApplyRequest(body, &out));
  EXPECT_EQ(out.tablet, req.tablet);
  ASSERT_EQ(out.rows.size(), 2u);
  EXPECT_TRUE(out.rows[0] == req.rows[0]);
  EXPECT_TRUE(out.rows[1] == req.rows[1]);
  ExpectPrefixesFail<ApplyRequest>(body, DecodeApplyRequest);
  // Trailing garbage is an error too.
  body.push_back('x');
  EXPECT_TRUE(DecodeApplyRequest(body, &out).code() == Status::Code::kProtocolError);
}

TEST(TableProtocolTest, ApplyWithFlagsRoundTrip) {
  for (bool sync : {true, false}) {
    ApplyRequest req = SampleApply();
    req.sync = sync;
    std::string body;
    EncodeApplyWithFlagsRequest(req, &body);
    ApplyRequest out;
    out.sync = !sync;
    ASSERT_OK(DecodeApplyWithFlagsRequest(body, &out));
    EXPECT_EQ(out.sync, sync);
    EXPECT_EQ(out.tablet, req.tablet);
    ASSERT_EQ(out.rows.size(), 2u);
    EXPECT_TRUE(out.rows[0] == req.rows[0]);
    EXPECT_TRUE(out.rows[1] == req.rows[1]);
    ExpectPrefixesFail<ApplyRequest>(body, DecodeApplyWithFlagsRequest);
    body.push_back('x');
    EXPECT_EQ(DecodeApplyWithFlagsRequest(body, &out).code(), Status::Code::kProtocolError);
  }
  // A plain Apply body never carries the flag.
  ApplyRequest req = SampleApply();
  req.sync = true;
  std::string body;
  EncodeApplyRequest(req, &body);
  ApplyRequest out;
  ASSERT_OK(DecodeApplyRequest(body, &out));
  EXPECT_FALSE(out.sync);
  EXPECT_STREQ(TableMessageName(kMsgApplyWithFlags), "ApplyWithFlags");
}

TEST(TableProtocolTest, ApplyWithUnknownFlagsIsInvalidArgument) {
  ApplyRequest req = SampleApply();
  for (uint32_t flags : {2u, 3u, 0x80u, 0xffffffffu}) {
    std::string body;
    PutTabletRef(&body, req.tablet);
    PutVarint32(&body, flags);
    std::string rows;
    EncodeApplyRequest(req, &rows);
    std::string ref;
    PutTabletRef(&ref, req.tablet);
    body += rows.substr(ref.size());  // the rows part of a plain Apply body
    ApplyRequest out;
    Status s = DecodeApplyWithFlagsRequest(body, &out);
    EXPECT_TRUE(s.IsInvalidArgument()) << flags << ": " << s.ToString();
    EXPECT_NE(s.message().find("unknown flags"), std::string::npos) << s.ToString();
  }
  // An overlong flags varint is malformed, not unknown.
  std::string body;
  PutTabletRef(&body, req.tablet);
  body += std::string(6, '\x80');
  ApplyRequest out;
  EXPECT_EQ(DecodeApplyWithFlagsRequest(body, &out).code(), Status::Code::kProtocolError);
}

TEST(TableProtocolTest, ConditionalApplyRoundTrip) {
  ConditionalApplyRequest req;
  req.tablet = {"t", "x"};
  req.conditions = {Condition::CellEquals("f:a", 5, "v"), Condition::RowAbsent(),
                    Condition::RowRevisionIs(99), Condition::LatestEquals("f:b", "w")};
  req.mutation = RowMutation("r");
  req.mutation.Set("f:a", 6, "new");
  std::string body;
  EncodeConditionalApplyRequest(req, &body);
  ConditionalApplyRequest out;
  ASSERT_OK(DecodeConditionalApplyRequest(body, &out));
  EXPECT_EQ(out.tablet, req.tablet);
  EXPECT_TRUE(out.conditions == req.conditions);
  EXPECT_TRUE(out.mutation == req.mutation);
  ExpectPrefixesFail<ConditionalApplyRequest>(body, DecodeConditionalApplyRequest);
}

TEST(TableProtocolTest, ScanPageRoundTrip) {
  ScanPageRequest req;
  req.tablet = {"t", "x"};
  ASSERT_OK(ScanPredicate::Parse("row ~= \"com.\" and history = 2", &req.predicate));
  req.resume_token = "abc";
  req.max_cells = 10;
  req.max_bytes = 1000;
  std::string body;
  EncodeScanPageRequest(req, &body);
  ScanPageRequest out;
  ASSERT_OK(DecodeScanPageRequest(body, &out));
  EXPECT_TRUE(out.predicate == req.predicate);
  EXPECT_EQ(out.resume_token, "abc");
  EXPECT_EQ(out.max_cells, 10u);
  EXPECT_EQ(out.max_bytes, 1000u);
  ExpectPrefixesFail<ScanPageRequest>(body, DecodeScanPageRequest);

  ScanPageReply reply = SampleScanReply();
  std::string rbody;
  EncodeScanPageReply(reply, &rbody);
  ScanPageReply rout;
  ASSERT_OK(DecodeScanPageReply(rbody, &rout));
  ASSERT_EQ(rout.cells.size(), 3u);
  for (size_t i = 0; i < 3; i++) EXPECT_TRUE(rout.cells[i] == reply.cells[i]) << i;
  EXPECT_EQ(rout.resume_token, reply.resume_token);
  EXPECT_FALSE(rout.done);
  ExpectPrefixesFail<ScanPageReply>(rbody, DecodeScanPageReply);
}

// The tabletd encodes straight from the engine's cells: the same bytes as the
// ScanPageReply encoder, appended to what *out holds, in exactly the size
// ScanPageReplySize announces.
TEST(TableProtocolTest, ScanPageReplyFromCellsIsTheSameBytesSizedExactly) {
  ScanPageReply reply = SampleScanReply();
  reply.cells.push_back(Cell(std::string(200, 'r'), "f:3", INT64_MIN, std::string(5000, 'v')));
  reply.cells.push_back(Cell(std::string(200, 'r'), "f:4", INT64_MAX, ""));
  for (bool done : {false, true}) {
    reply.done = done;
    std::string want;
    EncodeScanPageReply(reply, &want);
    std::string got = "prefix";
    EncodeScanPageCells(reply.cells.data(), reply.cells.size(), reply.resume_token, done, &got);
    EXPECT_EQ(got.size(),
              6 + ScanPageReplySize(reply.cells.data(), reply.cells.size(), reply.resume_token));
    EXPECT_EQ(got, "prefix" + want);
  }
  std::string empty;
  EncodeScanPageCells(nullptr, 0, "", true, &empty);
  EXPECT_EQ(empty.size(), ScanPageReplySize(nullptr, 0, ""));
  ScanPageReply out;
  ASSERT_OK(DecodeScanPageReply(empty, &out));
  EXPECT_TRUE(out.cells.empty());
  EXPECT_TRUE(out.done);
}

// Decoding page after page into one reply overwrites its Cells in place: the
// strings keep their buffers (no allocation per cell), and a shorter page
// leaves no cell of the longer one behind.
TEST(TableProtocolTest, ScanPageDecodeReusesTheReplysCells) {
  auto page = [](int n, char fill) {
    ScanPageReply r;
    for (int i = 0; i < n; i++) {
      r.cells.push_back(Cell("row-" + std::string(30, fill) + std::to_string(i / 3),
                             "f:" + std::to_string(i % 3), i, std::string(100, fill)));
    }
    r.resume_token = std::string(1, fill);
    return r;
  };
  ScanPageReply a = page(30, 'a'), b = page(12, 'b');
  std::string abody, bbody;
  EncodeScanPageReply(a, &abody);
  EncodeScanPageReply(b, &bbody);
  ScanPageReply out;
  ASSERT_OK(DecodeScanPageReply(abody, &out));
  ASSERT_EQ(out.cells.size(), 30u);
  std::vector<const char*> buffers;
  for (Cell& c : out.cells) {
    buffers.push_back(c.value.data());
    c.erasure = true;  // must not survive the next decode
  }
  ASSERT_OK(DecodeScanPageReply(bbody, &out));
  ASSERT_EQ(out.cells.size(), 12u);
  for (size_t i = 0; i < 12; i++) {
    EXPECT_TRUE(out.cells[i] == b.cells[i]) << i;
    EXPECT_FALSE(out.cells[i].erasure) << i;
    EXPECT_EQ(out.cells[i].value.data(), buffers[i]) << "cell " << i << " reallocated";
  }
  EXPECT_EQ(out.resume_token, "b");
  ASSERT_OK(DecodeScanPageReply(abody, &out));
  ASSERT_EQ(out.cells.size(), 30u);
  for (size_t i = 0; i < 30; i++) EXPECT_TRUE(out.cells[i] == a.cells[i]) << i;
  // A truncated body into a used reply fails cleanly.
  EXPECT_FALSE(DecodeScanPageReply(std::string_view(abody.data(), abody.size() / 2), &out).ok());
  ASSERT_OK(DecodeScanPageReply(bbody, &out));
  for (size_t i = 0; i < 12; i++) EXPECT_TRUE(out.cells[i] == b.cells[i]) << i;
}

TEST(TableProtocolTest, ScanPageLimitsAndBadPredicate) {
  ScanPageRequest req;
  req.tablet = {"t", "x"};
  req.max_cells = 0;
  std::string body;
  EncodeScanPageRequest(req, &body);
  ScanPageRequest out;
  EXPECT_TRUE(DecodeScanPageRequest(body, &out).IsInvalidArgument());

  // A predicate whose bytes are garbage.
  body.clear();
  PutTabletRef(&body, req.tablet);
  PutLengthPrefixed(&body, "\xff\xff\xff garbage");
  PutLengthPrefixed(&body, "");
  PutVarint32(&body, 10);
  PutVarint64(&body, 100);
  Status s = DecodeScanPageRequest(body, &out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("predicate"), std::string::npos) << s.ToString();
}

TEST(TableProtocolTest, FirstScanCellMustCarryRow) {
  std::string body;
  PutVarint32(&body, 1);
  PutBool(&body, true);  // same_row on the first cell
  PutLengthPrefixed(&body, "f:a");
  PutVarsint64(&body, 1);
  PutLengthPrefixed(&body, "v");
  PutLengthPrefixed(&body, "");
  PutBool(&body, true);
  ScanPageReply out;
  EXPECT_EQ(DecodeScanPageReply(body, &out).code(), Status::Code::kProtocolError);
}

TEST(TableProtocolTest, HugeCountsAreRefusedBeforeAllocating) {
  std::string body;
  PutTabletRef(&body, {"t", "x"});
  PutVarint32(&body, 0xfffffff0u);  // claims billions of rows
  ApplyRequest out;
  EXPECT_EQ(DecodeApplyRequest(body, &out).code(), Status::Code::kProtocolError);

  std::string row_body;
  PutTabletRef(&row_body, {"t", "x"});
  PutVarint32(&row_body, 1);
  PutVarint64(&row_body, 1ull << 40);  // a row claiming 1 TiB
  EXPECT_EQ(DecodeApplyRequest(row_body, &out).code(), Status::Code::kProtocolError);

  // Unknown mutation type.
  std::string bad_type;
  PutTabletRef(&bad_type, {"t", "x"});
  PutVarint32(&bad_type, 1);
  PutLengthPrefixed(&bad_type, "r");
  PutVarint32(&bad_type, 1);
  PutVarint32(&bad_type, 9);
  PutLengthPrefixed(&bad_type, "f:a");
  PutVarsint64(&bad_type, 0);
  PutLengthPrefixed(&bad_type, "");
  EXPECT_EQ(DecodeApplyRequest(bad_type, &out).code(), Status::Code::kProtocolError);
}

TEST(TableProtocolTest, TabletRefRules) {
  EXPECT_TRUE(IsValidTabletId("meta0"));
  EXPECT_TRUE(IsValidTabletId("a-b_C9"));
  EXPECT_FALSE(IsValidTabletId(""));
  EXPECT_FALSE(IsValidTabletId("a/b"));
  EXPECT_FALSE(IsValidTabletId(std::string(65, 'a')));
  EXPECT_TRUE(IsValidTableName("META"));
  EXPECT_FALSE(IsValidTableName("a/b"));
  EXPECT_FALSE(IsValidTableName(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidTableName(".."));
  EXPECT_TRUE(CheckTabletRef({"web", "x y"}).IsInvalidArgument());
  EXPECT_OK(CheckTabletRef({"web", "t1"}));
}

TEST(AdminProtocolTest, LoadTabletRoundTrip) {
  LoadTabletRequest req;
  req.desc = {{"web", "t1"}, "a", "m", "tables/web/t1"};
  FamilyOptions f;
  f.name = "word";
  f.max_versions = 3;
  f.compression = Compression::kZlib;
  ASSERT_OK(req.schema.AddFamily(f));
  req.create_if_missing = true;
  std::string body;
  EncodeLoadTabletRequest(req, &body);
  LoadTabletRequest out;
  ASSERT_OK(DecodeLoadTabletRequest(body, &out));
  EXPECT_TRUE(out.desc == req.desc);
  EXPECT_TRUE(out.schema == req.schema);
  EXPECT_TRUE(out.create_if_missing);
  ExpectPrefixesFail<LoadTabletRequest>(body, DecodeLoadTabletRequest);
}

TEST(AdminProtocolTest, SplitAndServerStatusRoundTrip) {
  SplitInfo s = SampleSplit();
  std::string body;
  EncodeSplitInfo(s, &body);
  SplitInfo out;
  ASSERT_OK(DecodeSplitInfo(body, &out));
  EXPECT_TRUE(out.parent == s.parent);
  EXPECT_TRUE(out.left == s.left);
  EXPECT_TRUE(out.right == s.right);
  EXPECT_EQ(out.server, s.server);
  EXPECT_EQ(out.split_time_us, s.split_time_us);
  ExpectPrefixesFail<SplitInfo>(body, DecodeSplitInfo);

  ServerStatusInfo st;
  st.address = "h:1";
  st.start_time_us = 5;
  st.data_root = "/d";
  st.shared_data = true;
  st.session_state = "safe";
  st.rss_bytes = 1 << 20;
  st.applies_per_sec = 7;
  TabletStatusInfo t;
  t.desc = s.left;
  t.state = TabletState::kFrozen;
  t.size_bytes = 99;
  t.applies = 3;
  st.tablets = {t, t};
  st.pending_splits = {s};
  std::string sb;
  EncodeServerStatusInfo(st, &sb);
  ServerStatusInfo sout;
  ASSERT_OK(DecodeServerStatusInfo(sb, &sout));
  EXPECT_EQ(sout.address, "h:1");
  EXPECT_TRUE(sout.shared_data);
  ASSERT_EQ(sout.tablets.size(), 2u);
  EXPECT_EQ(sout.tablets[1].state, TabletState::kFrozen);
  EXPECT_EQ(sout.tablets[1].size_bytes, 99u);
  ASSERT_EQ(sout.pending_splits.size(), 1u);
  EXPECT_TRUE(sout.pending_splits[0].right == s.right);
  ExpectPrefixesFail<ServerStatusInfo>(sb, DecodeServerStatusInfo);
}

TEST(AdminProtocolTest, SmallMessagesRoundTrip) {
  std::string b;
  EncodeUnloadTabletRequest({{"t", "x"}, true}, &b);
  UnloadTabletRequest u;
  ASSERT_OK(DecodeUnloadTabletRequest(b, &u));
  EXPECT_TRUE(u.destroy);

  b.clear();
  EncodeMigrateTabletRequest({{"t", "x"}, "h:2"}, &b);
  MigrateTabletRequest m;
  ASSERT_OK(DecodeMigrateTabletRequest(b, &m));
  EXPECT_EQ(m.target_address, "h:2");

  b.clear();
  KeepAliveReply ka;
  ka.orders = {{7, "x"}, {8, ""}};
  EncodeKeepAliveReply(ka, &b);
  KeepAliveReply kout;
  ASSERT_OK(DecodeKeepAliveReply(b, &kout));
  ASSERT_EQ(kout.orders.size(), 2u);
  EXPECT_EQ(kout.orders[0].type, 7u);
  EXPECT_EQ(kout.orders[0].body, "x");
}

TEST(AdminProtocolTest, MigrationCopyMessagesRoundTrip) {
  ListTabletFilesReply files;
  files.files = {{"cells.db", 300000, {1, 2}}, {"log.0000000001", 5, {}}};
  std::string b;
  EncodeListTabletFilesReply(files, &b);
  ListTabletFilesReply fout;
  ASSERT_OK(DecodeListTabletFilesReply(b, &fout));
  ASSERT_EQ(fout.files.size(), 2u);
  EXPECT_EQ(fout.files[0].name, "cells.db");
  EXPECT_EQ(fout.files[0].chunk_crcs, (std::vector<uint32_t>{1, 2}));
  ExpectPrefixesFail<ListTabletFilesReply>(b, DecodeListTabletFilesReply);

  // A file name with a path in it is refused on both sides.
  files.files = {{"../../etc/passwd", 1, {}}};
  b.clear();
  EncodeListTabletFilesReply(files, &b);
  EXPECT_FALSE(DecodeListTabletFilesReply(b, &fout).ok());
  b.clear();
  EncodeReadTabletChunkRequest({{"t", "x"}, "../x", 0, 10}, &b);
  ReadTabletChunkRequest rc;
  EXPECT_TRUE(DecodeReadTabletChunkRequest(b, &rc).IsInvalidArgument());
  b.clear();
  EncodeReadTabletChunkRequest({{"t", "x"}, "cells.db", 7, kMaxChunkBytes + 1}, &b);
  EXPECT_TRUE(DecodeReadTabletChunkRequest(b, &rc).IsInvalidArgument());
  b.clear();
  EncodeReadTabletChunkRequest({{"t", "x"}, "cells.db", 7, 100}, &b);
  ASSERT_OK(DecodeReadTabletChunkRequest(b, &rc));
  EXPECT_EQ(rc.offset, 7u);

  CopyTabletRequest cr;
  cr.load.desc = {{"t", "x"}, "", "", "tables/t/x"};
  cr.source_address = "h:9";
  b.clear();
  EncodeCopyTabletRequest(cr, &b);
  CopyTabletRequest cout_;
  ASSERT_OK(DecodeCopyTabletRequest(b, &cout_));
  EXPECT_TRUE(cout_.load.desc == cr.load.desc);
  EXPECT_EQ(cout_.source_address, "h:9");
  ExpectPrefixesFail<CopyTabletRequest>(b, DecodeCopyTabletRequest);
}

// Random bytes and random mutations of valid bodies never crash a decoder.
TEST(TableProtocolTest, GarbageNeverCrashes) {
  std::mt19937 rng(42);
  std::vector<std::string> seeds;
  {
    std::string b;
    EncodeApplyRequest(SampleApply(), &b);
    seeds.push_back(b);
    b.clear();
    EncodeScanPageReply(SampleScanReply(), &b);
    seeds.push_back(b);
    b.clear();
    EncodeSplitInfo(SampleSplit(), &b);
    seeds.push_back(b);
  }
  for (int i = 0; i < 3000; i++) {
    std::string b = seeds[i % seeds.size()];
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips && !b.empty(); f++) b[rng() % b.size()] = static_cast<char>(rng());
    if (i % 7 == 0) b.resize(rng() % (b.size() + 1));
    ApplyRequest a;
    (void)DecodeApplyRequest(b, &a);
    ScanPageReply r;
    (void)DecodeScanPageReply(b, &r);
    ScanPageRequest q;
    (void)DecodeScanPageRequest(b, &q);
    SplitInfo s;
    (void)DecodeSplitInfo(b, &s);
    ServerStatusInfo st;
    (void)DecodeServerStatusInfo(b, &st);
    LoadTabletRequest l;
    (void)DecodeLoadTabletRequest(b, &l);
    ConditionalApplyRequest c;
    (void)DecodeConditionalApplyRequest(b, &c);
    (void)DecodeApplyWithFlagsRequest(b, &a);
  }
  SUCCEED();
}

}  // namespace
}  // namespace kdi::client
