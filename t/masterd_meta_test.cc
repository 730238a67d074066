// Tests of the META row layout (lib/client/meta_layout.h) and the 2a message
// encodings (lib/client/meta_protocol.h): key order, row round trips, coverage
// checks (including a split caught half-way), and decoders refusing bad input.
#include <string>
#include <vector>

#include "lib/client/meta_layout.h"
#include "lib/client/meta_protocol.h"
#include "t/test_util.h"

namespace kdi::meta {
namespace {

TabletMeta Tablet(const std::string& table, const std::string& id, const std::string& start,
                  const std::string& end) {
  TabletMeta t;
  t.table = table;
  t.id = id;
  t.start_row = start;
  t.end_row = end;
  t.dir = TabletDir(table, id);
  t.state = TabletState::kAssigned;
  t.server = "127.0.0.1:7402";
  t.since_us = 1234567;
  return t;
}

std::vector<Cell> ToCells(const RowMutation& m) {
  std::vector<Cell> cells;
  for (const Mutation& mu : m.mutations()) {
    if (mu.type == Mutation::Type::kSet) cells.emplace_back(m.row(), mu.column, mu.timestamp, mu.value);
  }
  return cells;
}

TEST(MetaLayoutTest, KeysSortByEndRowWithLastTabletLast) {
  std::vector<std::string> keys = {MetaRowKey("t", "a"), MetaRowKey("t", "b"),
                                   MetaRowKey("t", "b\xff"), MetaRowKey("t", ""),
                                   MetaRowKey("t.x", ""), MetaRowKey("u", "")};
  for (size_t i = 1; i < keys.size(); i++) EXPECT_LT(keys[i - 1], keys[i]) << i;
  // The lookup rule: first key > MetaRowKey(T, r).
  EXPECT_LT(MetaLookupKey("t", "a"), MetaRowKey("t", "b"));
  EXPECT_GT(MetaLookupKey("t", "b"), MetaRowKey("t", "a"));
  std::string table, end;
  ASSERT_OK(ParseMetaRowKey(MetaRowKey("web", std::string("row\x00z", 5)), &table, &end));
  EXPECT_EQ("web", table);
  EXPECT_EQ(std::string("row\x00z", 5), end);
  ASSERT_OK(ParseMetaRowKey(MetaRowKey("web", ""), &table, &end));
  EXPECT_EQ("", end);
  EXPECT_TRUE(ParseMetaRowKey("web", &table, &end).IsInvalidArgument());
  EXPECT_TRUE(ParseMetaRowKey(std::string("web\x00\x03", 5), &table, &end).IsInvalidArgument());
  EXPECT_TRUE(ParseMetaRowKey(std::string("web\x00\x01", 5), &table, &end).IsInvalidArgument());
}

TEST(MetaLayoutTest, NamesAreValidated) {
  EXPECT_OK(ValidateTableName("web_pages-2.v1"));
  EXPECT_TRUE(ValidateTableName("").IsInvalidArgument());
  EXPECT_TRUE(ValidateTableName("a/b").IsInvalidArgument());
  EXPECT_TRUE(ValidateTableName(std::string(129, 'a')).IsInvalidArgument());
  EXPECT_OK(ValidateTableName(std::string(128, 'a')));
  EXPECT_TRUE(ValidateTableName("META").IsInvalidArgument());
  EXPECT_OK(ValidateTableName("META", true));
  EXPECT_TRUE(ValidateTableName("..").IsInvalidArgument());
  EXPECT_OK(ValidateTabletId("t0001-ab"));
  EXPECT_TRUE(ValidateTabletId("a.b").IsInvalidArgument());
}

TEST(MetaLayoutTest, RowRoundTripsEveryState) {
  for (TabletState st : {TabletState::kUnassigned, TabletState::kAssigning,
                         TabletState::kAssigned, TabletState::kUnloading,
                         TabletState::kSplitting, TabletState::kOffline}) {
    TabletMeta t = Tablet("web", "t1", "a", std::string("m\x00", 2));
    t.state = st;
    if (st == TabletState::kOffline) t.reason = "server gone, data local";
    if (st == TabletState::kSplitting) t.split = SplitIntent{"g", "t2", "t3"};
    RowMutation m = EncodeTabletRow(t, 99);
    TabletMeta back;
    ASSERT_OK(DecodeTabletRow(m.row(), ToCells(m), &back));
    EXPECT_EQ(t, back) << back.DebugString();
  }
}

TEST(MetaLayoutTest, NewestVersionWinsAndBadRowsAreCorruption) {
  TabletMeta t = Tablet("web", "t1", "", "");
  std::vector<Cell> cells = ToCells(EncodeTabletRow(t, 10));
  cells.emplace_back(t.row_key(), kColState, 20, "unassigned");
  TabletMeta back;
  ASSERT_OK(DecodeTabletRow(t.row_key(), cells, &back));
  EXPECT_EQ(TabletState::kUnassigned, back.state);

  std::vector<Cell> bad = cells;
  bad.emplace_back(t.row_key(), kColState, 30, "flying");
  EXPECT_TRUE(DecodeTabletRow(t.row_key(), bad, &back).IsCorruption());
  bad = cells;
  bad.emplace_back(t.row_key(), kColEnd, 30, "zzz");
  EXPECT_TRUE(DecodeTabletRow(t.row_key(), bad, &back).IsCorruption());
  std::vector<Cell> missing;
  for (const Cell& c : cells) if (c.column != kColId) missing.push_back(c);
  EXPECT_TRUE(DecodeTabletRow(t.row_key(), missing, &back).IsCorruption());
}

TEST(MetaLayoutTest, CoverageFindsGapsOverlapsAndAcceptsHalfRecordedSplit) {
  std::vector<TabletMeta> ok = {Tablet("t", "a", "", "g"), Tablet("t", "b", "g", "p"),
                                Tablet("t", "c", "p", "")};
  EXPECT_OK(CheckCoverage(ok));
  EXPECT_EQ(0, FindTabletForRow(ok, ""));
  EXPECT_EQ(0, FindTabletForRow(ok, "f"));
  EXPECT_EQ(1, FindTabletForRow(ok, "g"));
  EXPECT_EQ(2, FindTabletForRow(ok, "zzz"));

  std::vector<TabletMeta> gap = {Tablet("t", "a", "", "g"), Tablet("t", "c", "h", "")};
  Status s = CheckCoverage(gap);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(std::string::npos, s.message().find("gap")) << s.ToString();
  std::vector<TabletMeta> overlap = {Tablet("t", "a", "", "g"), Tablet("t", "c", "f", "")};
  s = CheckCoverage(overlap);
  EXPECT_NE(std::string::npos, s.message().find("overlap")) << s.ToString();
  EXPECT_TRUE(CheckCoverage({Tablet("t", "a", "", "g")}).IsCorruption());
  EXPECT_TRUE(CheckCoverage({}).IsCorruption());

  // Split of [g, p) at k: left row written, parent row not yet rewritten.
  TabletMeta parent = Tablet("t", "b", "g", "p");
  parent.state = TabletState::kSplitting;
  parent.split = SplitIntent{"k", "b1", "b2"};
  std::vector<TabletMeta> half = {Tablet("t", "a", "", "g"), Tablet("t", "b1", "g", "k"), parent,
                                  Tablet("t", "c", "p", "")};
  EXPECT_OK(CheckCoverage(half));
  // Before the left row exists the splitting parent covers its whole range.
  std::vector<TabletMeta> before = {Tablet("t", "a", "", "g"), parent, Tablet("t", "c", "p", "")};
  EXPECT_OK(CheckCoverage(before));
}

TEST(MetaProtocolTest, RequestsRoundTrip) {
  CreateTableRequest c;
  c.name = "web";
  ASSERT_OK(Schema::Parse("word:versions=3:compress=zlib meta:ttl=60", &c.schema));
  c.split_rows = {"g", "p"};
  std::string body;
  EncodeCreateTableRequest(c, &body);
  CreateTableRequest c2;
  ASSERT_OK(DecodeCreateTableRequest(body, &c2));
  EXPECT_EQ(c.name, c2.name);
  EXPECT_EQ(c.schema, c2.schema);
  EXPECT_EQ(c.split_rows, c2.split_rows);
  for (size_t cut = 0; cut < body.size(); cut++) {
    EXPECT_FALSE(DecodeCreateTableRequest(body.substr(0, cut), &c2).ok()) << cut;
  }

  AlterTableRequest a;
  a.name = "web";
  a.force = true;
  AlterOp add;
  ASSERT_OK(FamilyOptions::Parse("new:versions=2", &add.family));
  AlterOp rm;
  rm.kind = AlterOp::Kind::kRemoveFamily;
  rm.family.name = "meta";
  a.ops = {add, rm};
  body.clear();
  EncodeAlterTableRequest(a, &body);
  AlterTableRequest a2;
  ASSERT_OK(DecodeAlterTableRequest(body, &a2));
  ASSERT_EQ(2u, a2.ops.size());
  EXPECT_TRUE(a2.force);
  EXPECT_EQ(add.family, a2.ops[0].family);
  EXPECT_EQ(AlterOp::Kind::kRemoveFamily, a2.ops[1].kind);
  Schema s = c.schema;
  ASSERT_OK(ApplyAlterOps(a2.ops, &s));
  EXPECT_EQ("word:versions=3:compress=zlib new:versions=2", s.ToString());
  EXPECT_TRUE(ApplyAlterOps({rm}, &s).IsNotFound());
  body[body.size() - 6] = 7;  // an unknown op kind or a broken spec
  EXPECT_FALSE(DecodeAlterTableRequest(body, &a2).ok());
}

TEST(MetaProtocolTest, RepliesRoundTripAndHugeCountsAreRefused) {
  TabletList tl;
  TabletInfo ti;
  ti.meta = Tablet("web", "t1", "a", "b");
  ti.meta.state = TabletState::kSplitting;
  ti.meta.split = SplitIntent{"ab", "x", "y"};
  ti.size_bytes = 1 << 20;
  tl.tablets.push_back(ti);
  std::string body;
  EncodeTabletList(tl, &body);
  TabletList tl2;
  ASSERT_OK(DecodeTabletList(body, &tl2));
  ASSERT_EQ(1u, tl2.tablets.size());
  EXPECT_EQ(ti.meta, tl2.tablets[0].meta);
  EXPECT_EQ(ti.size_bytes, tl2.tablets[0].size_bytes);

  ServerList sl;
  sl.servers.push_back(ServerInfo{"127.0.0.1:1", true, true, "/d", 3, 10, 20, 30, 40});
  body.clear();
  EncodeServerList(sl, &body);
  ServerList sl2;
  ASSERT_OK(DecodeServerList(body, &sl2));
  ASSERT_EQ(1u, sl2.servers.size());
  EXPECT_EQ(3u, sl2.servers[0].tablets);
  EXPECT_EQ(40, sl2.servers[0].last_keepalive_us);

  FsckReply fr{2, 1, {"gap in t", "repaired x"}};
  body.clear();
  EncodeFsckReply(fr, &body);
  FsckReply fr2;
  ASSERT_OK(DecodeFsckReply(body, &fr2));
  EXPECT_EQ(fr.lines, fr2.lines);
  EXPECT_EQ(2u, fr2.problems);

  // A count of 2^31 with no items behind it: refused before allocating.
  std::string huge = "\xff\xff\xff\xff\x07";
  TableList names;
  EXPECT_FALSE(DecodeTableList(huge, &names).ok());
  EXPECT_FALSE(DecodeTabletList(huge, &tl2).ok());
  EXPECT_FALSE(DecodeServerList(huge, &sl2).ok());
}

}  // namespace
}  // namespace kdi::meta
