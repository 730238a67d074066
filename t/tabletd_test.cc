// End-to-end tests of tabletd: the real lockd and two real tabletd processes
// on loopback (t/mini_cluster.h), sharing one data root, driven through
// TabletClient with certificates of each role.
//
// What is checked: registration in the lock service; load/apply/scan/sync and
// conditional apply through the table interface; NotServing for tablets not
// served; role checks (only the server role may use the admin interface); bad
// input (unknown family, empty row, row > 64 KiB, value over the limit, row
// outside the range, malformed bodies and predicates, bad tablet ids); the
// tablet lock (a second server cannot load a tablet the first holds); unload
// on one server and load on the other with the data intact; migration through
// MigrateTablet; an ordered split (parent frozen, children served after the
// commit); paged scans; an automatic split reported as pending; fencing
// (jeopardy stops serving, expiry drops tablets, re-registration); and
// migration by copy between separate data roots under concurrent writes.
// (Bounded-memory scans: t/tabletd_scan_memory_test; storage faults in a
// running server: t/tabletd_fault_test; orphaned directories:
// t/tabletd_orphan_test.)
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <chrono>
#include <mutex>
#include <set>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kdi/lock_client.h"
#include "lib/client/tablet_client.h"
#include "lib/rpc/channel.h"
#include "lib/util/coding.h"
#include "t/mini_cluster.h"
#include "t/tablet_connect.h"
#include "t/test_util.h"

namespace kdi {
namespace {

using client::LoadTabletRequest;
using client::TabletClient;
using client::TabletRef;
using test::MiniCluster;
using test::MiniClusterOptions;
using test::TlsFiles;

std::unique_ptr<TabletClient> Connect(const std::string& address, const TlsFiles& f) {
  return test::ConnectTabletd(address, f, 15000);
}

Schema WordSchema() {
  Schema s;
  FamilyOptions word;
  word.name = "word";
  EXPECT_OK(s.AddFamily(word));
  FamilyOptions meta;
  meta.name = "meta";
  EXPECT_OK(s.AddFamily(meta));
  return s;
}

LoadTabletRequest Load(const std::string& table, const std::string& id,
                       const std::string& start = "", const std::string& end = "") {
  return test::LoadRequest(table, id, start, end, WordSchema());
}

std::vector<Cell> ScanAll(TabletClient* c, const TabletRef& t, uint32_t page_cells = 4096) {
  std::vector<Cell> out;
  auto stream = c->OpenScan(t, ScanPredicate(), page_cells);
  for (Cell cell; stream->Next(&cell);) out.push_back(cell);
  EXPECT_OK(stream->status());
  return out;
}

RowMutation Row(const std::string& row, const std::string& col, int64_t ts,
                const std::string& v) {
  RowMutation m(row);
  m.Set(col, ts, v);
  return m;
}

class TabletdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    MiniClusterOptions o;
    o.num_masters = 0;
    o.num_tablet_servers = 2;
    o.shared_data_root = true;
    o.lease_ms = 5000;  // generous: the test machine may be loaded
    o.log_level = "info";
    o.lockd_args = {"--lockd_lock_delay_ms=0"};
    o.tabletd_args = {"--shared-data", "--max-value-bytes=1M"};
    cluster_ = new MiniCluster(o);
    Status s = cluster_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    s = cluster_->WaitForTabletServers(2);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    for (int i = 0; i < 2; i++) {
      const std::string& addr = cluster_->tablet_server(i)->address();
      admin_[i] = Connect(addr, cluster_->ServerTls());
      client_[i] = Connect(addr, cluster_->ClientTls());
    }
  }
  void TearDown() override {
    if (HasFailure()) cluster_->DumpLogs(30);
  }

  static MiniCluster* cluster_;
  std::unique_ptr<TabletClient> admin_[2];
  std::unique_ptr<TabletClient> client_[2];
};
MiniCluster* TabletdTest::cluster_ = nullptr;

TEST_F(TabletdTest, RegistersInLockService) {
  std::unique_ptr<lock::LockSession> session;
  ASSERT_OK(cluster_->OpenLockSession(&session));
  for (int i = 0; i < 2; i++) {
    const std::string addr = cluster_->tablet_server(i)->address();
    std::unique_ptr<lock::LockHandle> h;
    ASSERT_OK(session->Open("/kdi/servers/" + addr, lock::kRead, 0, &h));
    std::string contents;
    lock::NodeStat st;
    ASSERT_OK(h->GetContents(&contents, &st));
    EXPECT_EQ(contents.rfind(addr + " ", 0), 0u) << contents;
    EXPECT_NE(contents.find(" shared"), std::string::npos) << contents;
    EXPECT_TRUE(st.ephemeral);
    EXPECT_EQ(st.lock_mode, lock::LockMode::kExclusive);
  }
  (void)session->Close();
}

TEST_F(TabletdTest, LoadApplyScanSync) {
  const TabletRef t{"web", "basic1"};
  client::TabletStatusInfo info;
  ASSERT_OK(admin_[0]->LoadTablet(Load("web", "basic1"), &info));
  EXPECT_EQ(info.state, client::TabletState::kServing);
  // Loading again with the same descriptor is idempotent.
  ASSERT_OK(admin_[0]->LoadTablet(Load("web", "basic1")));

  uint64_t rev = 0;
  RowMutation a("com.foo");
  a.Set("word:cat", 10, "1").Set("word:dog", 10, "2");
  ASSERT_OK(client_[0]->Apply(t, {a, Row("com.bar", "meta:x", 5, "y")}, &rev));
  EXPECT_GT(rev, 0u);
  ASSERT_OK(client_[0]->Apply(t, {Row("com.foo", "word:cat", 20, "3")}));
  ASSERT_OK(client_[0]->Sync(t));

  std::vector<Cell> cells = ScanAll(client_[0].get(), t);
  ASSERT_EQ(cells.size(), 4u);
  EXPECT_EQ(cells[0], Cell("com.bar", "meta:x", 5, "y"));
  EXPECT_EQ(cells[1], Cell("com.foo", "word:cat", 20, "3"));  // newest first
  EXPECT_EQ(cells[2], Cell("com.foo", "word:cat", 10, "1"));
  EXPECT_EQ(cells[3], Cell("com.foo", "word:dog", 10, "2"));

  // A predicate is evaluated in the server.
  ScanPredicate p;
  ASSERT_OK(ScanPredicate::Parse("row = \"com.foo\" and history = 1", &p));
  std::vector<Cell> latest;
  auto stream = client_[0]->OpenScan(t, p);
  for (Cell c; stream->Next(&c);) latest.push_back(c);
  ASSERT_OK(stream->status());
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest[0].value, "3");

  // Conditional apply: the row revision check.
  uint64_t row_rev = 0;
  ASSERT_OK(client_[0]->GetRowRevision(t, "com.foo", &row_rev));
  EXPECT_GT(row_rev, 0u);
  RowMutation c("com.foo");
  c.Set("word:eel", 1, "e");
  Status s = client_[0]->ConditionalApply(t, {Condition::RowRevisionIs(row_rev + 1000)}, c);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  ASSERT_OK(client_[0]->ConditionalApply(t, {Condition::RowRevisionIs(row_rev)}, c));
  ASSERT_OK(client_[0]->ConditionalApply(t, {Condition::RowAbsent()}, Row("new", "word:a", 1, "n")));
  s = client_[0]->ConditionalApply(t, {Condition::RowAbsent()}, Row("new", "word:a", 2, "m"));
  EXPECT_TRUE(s.IsConflict()) << s.ToString();

  ASSERT_OK(admin_[0]->TabletStatus(t, &info));
  EXPECT_GE(info.applies, 4u);
  EXPECT_GE(info.scans, 2u);
  client::ServerStatusInfo ss;
  ASSERT_OK(admin_[0]->ServerStatus(&ss));
  EXPECT_EQ(ss.address, cluster_->tablet_server(0)->address());
  EXPECT_TRUE(ss.serving);
  EXPECT_EQ(ss.session_state, "safe");
  EXPECT_GT(ss.rss_bytes, 0u);
  bool found = false;
  for (const auto& ts : ss.tablets) found |= ts.desc.tablet == t;
  EXPECT_TRUE(found);
  ASSERT_OK(admin_[0]->UnloadTablet(t));
}

TEST_F(TabletdTest, PagedScanReturnsEverythingInOrder) {
  const TabletRef t{"web", "paged"};
  ASSERT_OK(admin_[0]->LoadTablet(Load("web", "paged")));
  std::vector<RowMutation> batch;
  for (int i = 0; i < 2000; i++) {
    char row[16];
    snprintf(row, sizeof(row), "r%05d", i);
    RowMutation m(row);
    m.Set("word:a", 1, "x").Set("word:b", 1, std::to_string(i));
    batch.push_back(m);
  }
  ASSERT_OK(client_[0]->Apply(t, batch));
  std::vector<Cell> cells = ScanAll(client_[0].get(), t, 77);
  ASSERT_EQ(cells.size(), 4000u);
  for (size_t i = 1; i < cells.size(); i++) {
    ASSERT_LT(CompareCellKeys(cells[i - 1], cells[i]), 0) << i;
  }
  EXPECT_EQ(cells.back().value, "1999");
  ASSERT_OK(admin_[0]->UnloadTablet(t));
}

TEST_F(TabletdTest, NotServingForUnknownTablet) {
  const TabletRef t{"web", "never-loaded"};
  Status s = client_[0]->Apply(t, {Row("a", "word:x", 1, "v")});
  EXPECT_TRUE(s.IsNotServing()) << s.ToString();
  EXPECT_NE(s.message().find("web/never-loaded"), std::string::npos) << s.ToString();
  client::ScanPageRequest req;
  req.tablet = t;
  client::ScanPageReply reply;
  s = client_[0]->ScanPage(req, &reply);
  EXPECT_TRUE(s.IsNotServing()) << s.ToString();
  EXPECT_TRUE(client_[0]->Sync(t).IsNotServing());
  client::TabletStatusInfo info;
  EXPECT_TRUE(admin_[0]->TabletStatus(t, &info).IsNotServing());
}

TEST_F(TabletdTest, OnlyServerRoleMayAdminister) {
  auto admin_role = Connect(cluster_->tablet_server(0)->address(), cluster_->AdminTls());
  Status s = client_[0]->LoadTablet(Load("web", "roles"));
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  s = admin_role->LoadTablet(Load("web", "roles"));
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  client::ServerStatusInfo ss;
  EXPECT_TRUE(client_[0]->ServerStatus(&ss).IsPermissionDenied());
  EXPECT_TRUE(client_[0]->UnloadTablet({"web", "roles"}).IsPermissionDenied());
  client::TabletStatusInfo info;
  // The tablet was never loaded: the refused calls had no effect.
  EXPECT_TRUE(admin_[0]->TabletStatus({"web", "roles"}, &info).IsNotServing());
  // The admin role may use the table interface (its NotServing proves it got through).
  EXPECT_TRUE(admin_role->Sync({"web", "roles"}).IsNotServing());
}

TEST_F(TabletdTest, BadInputGetsClearErrors) {
  const TabletRef t{"web", "bad"};
  ASSERT_OK(admin_[0]->LoadTablet(Load("web", "bad", "b", "m")));
  auto expect_invalid = [&](const RowMutation& m, const std::string& words) {
    Status s = client_[0]->Apply(t, {m});
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    EXPECT_NE(s.message().find(words), std::string::npos) << s.ToString();
  };
  expect_invalid(Row("c", "nosuch:x", 1, "v"), "unknown column family");
  expect_invalid(Row("", "word:x", 1, "v"), "empty row");
  expect_invalid(Row("c" + std::string(70000, 'r'), "word:x", 1, "v"), "limit");
  expect_invalid(Row("c", "word:x", 1, std::string((1 << 20) + 1, 'v')), "limit");
  expect_invalid(Row("z", "word:x", 1, "v"), "outside");
  expect_invalid(Row("a", "word:x", 1, "v"), "outside");
  // Nothing of a batch with one bad row is applied.
  Status s = client_[0]->Apply(t, {Row("c", "word:ok", 1, "v"), Row("d", "bad:x", 1, "v")});
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_TRUE(ScanAll(client_[0].get(), t).empty());

  // Bad tablet id.
  s = client_[0]->Apply({"web", "bad id!"}, {Row("c", "word:x", 1, "v")});
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();

  // Malformed bodies, straight on the channel.
  std::string reply;
  s = client_[0]->channel()->Call(client::kMsgApply, "\x03garbage", &reply);
  EXPECT_EQ(s.code(), Status::Code::kProtocolError) << s.ToString();
  std::string body;
  client::PutTabletRef(&body, t);
  PutLengthPrefixed(&body, "\x07\xff\xff not a predicate");
  PutLengthPrefixed(&body, "");
  PutVarint32(&body, 10);
  PutVarint64(&body, 1000);
  s = client_[0]->channel()->Call(client::kMsgScanPage, body, &reply);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("predicate"), std::string::npos) << s.ToString();

  // Bad loads.
  LoadTabletRequest l = Load("web", "evil");
  l.desc.dir = "../../etc";
  s = admin_[0]->LoadTablet(l);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  l = Load("web", "backwards", "z", "a");
  s = admin_[0]->LoadTablet(l);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  // The same directory loaded under another range is refused.
  ASSERT_OK(admin_[0]->UnloadTablet(t));
  l = Load("web", "bad", "b", "q");
  s = admin_[0]->LoadTablet(l);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();

  // The server survived all of it.
  ASSERT_OK(admin_[0]->Ping());
}

TEST_F(TabletdTest, TabletLockAndHandoffBetweenServers) {
  const TabletRef t{"web", "handoff"};
  ASSERT_OK(admin_[0]->LoadTablet(Load("web", "handoff")));
  ASSERT_OK(client_[0]->Apply(t, {Row("k1", "word:a", 1, "v1"), Row("k2", "word:a", 1, "v2")}));
  ASSERT_OK(client_[0]->Sync(t));

  // The other server cannot take it while the first holds its lock.
  Status s = admin_[1]->LoadTablet(Load("web", "handoff"));
  EXPECT_TRUE(s.IsConflict()) << s.ToString();

  ASSERT_OK(admin_[0]->UnloadTablet(t));
  s = client_[0]->Apply(t, {Row("k3", "word:a", 1, "v3")});
  EXPECT_TRUE(s.IsNotServing()) << s.ToString();

  LoadTabletRequest l = Load("web", "handoff");
  l.create_if_missing = false;
  ASSERT_OK(admin_[1]->LoadTablet(l));
  std::vector<Cell> cells = ScanAll(client_[1].get(), t);
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[1].value, "v2");

  // Migration back to server 0 through MigrateTablet (shared data root).
  ASSERT_OK(client_[1]->Apply(t, {Row("k3", "word:a", 1, "v3")}));
  client::MigrateTabletReply mr;
  ASSERT_OK(admin_[1]->MigrateTablet({t, cluster_->tablet_server(0)->address()}, &mr));
  std::printf("migration unavailability: %.3f ms\n", mr.unavailable_us / 1000.0);
  EXPECT_GE(mr.unavailable_us, 0);
  EXPECT_TRUE(client_[1]->Apply(t, {Row("k4", "word:a", 1, "v")}).IsNotServing());
  cells = ScanAll(client_[0].get(), t);
  ASSERT_EQ(cells.size(), 3u);
  EXPECT_EQ(cells[2].value, "v3");
  ASSERT_OK(admin_[0]->UnloadTablet(t));
}

TEST_F(TabletdTest, OrderedSplitFreezesThenCommits) {
  const TabletRef t{"web", "splitme"};
  ASSERT_OK(admin_[0]->LoadTablet(Load("web", "splitme")));
  std::vector<RowMutation> batch;
  for (char c = 'a'; c <= 'z'; c++) batch.push_back(Row(std::string(1, c), "word:x", 1, "v"));
  ASSERT_OK(client_[0]->Apply(t, batch));

  client::SplitTabletRequest req;
  req.tablet = t;
  req.split_row = "m";
  req.left_id = "splitme-l";
  req.right_id = "splitme-r";
  client::SplitInfo info;
  ASSERT_OK(admin_[0]->SplitTablet(req, &info));
  EXPECT_EQ(info.left.end_row, "m");
  EXPECT_EQ(info.right.start_row, "m");
  EXPECT_EQ(info.left.dir, "tables/web/splitme-l");

  // Frozen: writes wait, reads work; the split is pending in the status.
  Status s = client_[0]->Apply(t, {Row("b", "word:x", 2, "w")});
  EXPECT_TRUE(s.IsServiceUnavailable()) << s.ToString();
  EXPECT_EQ(ScanAll(client_[0].get(), t).size(), 26u);
  client::ServerStatusInfo ss;
  ASSERT_OK(admin_[0]->ServerStatus(&ss));
  ASSERT_EQ(ss.pending_splits.size(), 1u);
  EXPECT_EQ(ss.pending_splits[0].parent.tablet, t);
  EXPECT_TRUE(client_[0]->Apply({"web", "splitme-l"}, {Row("b", "word:x", 2, "w")}).IsNotServing());

  ASSERT_OK(admin_[0]->CommitSplit(t));
  ASSERT_OK(admin_[0]->CommitSplit(t));  // idempotent
  EXPECT_TRUE(client_[0]->Sync(t).IsNotServing());
  std::vector<Cell> left = ScanAll(client_[0].get(), {"web", "splitme-l"});
  std::vector<Cell> right = ScanAll(client_[0].get(), {"web", "splitme-r"});
  ASSERT_EQ(left.size(), 12u);
  ASSERT_EQ(right.size(), 14u);
  EXPECT_EQ(left.back().row, "l");
  EXPECT_EQ(right.front().row, "m");
  ASSERT_OK(client_[0]->Apply({"web", "splitme-l"}, {Row("b", "word:x", 2, "w")}));
  s = client_[0]->Apply({"web", "splitme-l"}, {Row("q", "word:x", 2, "w")});
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  ASSERT_OK(admin_[0]->ServerStatus(&ss));
  EXPECT_TRUE(ss.pending_splits.empty());
  ASSERT_OK(admin_[0]->UnloadTablet({"web", "splitme-l"}));
  ASSERT_OK(admin_[0]->UnloadTablet({"web", "splitme-r"}));
}

// A tabletd with a tiny split threshold splits on its own and keeps the split
// pending (no master in this cluster) until it is committed.
TEST(TabletdAutoSplitTest, SplitsPastThresholdAndWaitsForCommit) {
  MiniClusterOptions o;
  o.num_masters = 0;
  o.num_tablet_servers = 1;
  o.lease_ms = 5000;
  o.log_level = "info";
  o.lockd_args = {"--lockd_lock_delay_ms=0"};
  o.tabletd_args = {"--split-size-mb=1", "--tabletd_split_check_interval_ms=200",
                    "--tabletd_keepalive_interval_ms=200"};
  MiniCluster cluster(o);
  ASSERT_OK(cluster.Start());
  ASSERT_OK(cluster.WaitForTabletServers(1));
  auto admin = Connect(cluster.tablet_server(0)->address(), cluster.ServerTls());
  const TabletRef t{"big", "b0"};
  ASSERT_OK(admin->LoadTablet(Load("big", "b0")));
  std::vector<RowMutation> batch;
  for (int i = 0; i < 300; i++) {
    char row[16];
    snprintf(row, sizeof(row), "row%04d", i);
    batch.push_back(Row(row, "word:v", 1, std::string(8000, 'a' + i % 26)));
  }
  ASSERT_OK(admin->Apply(t, batch));
  ASSERT_OK(admin->Sync(t));
  // Regression: META's single tablet must never split, however big it grows
  // (the master answered "not in META" forever and writes stalled).
  const TabletRef meta_tablet{"META", "meta0"};
  ASSERT_OK(admin->LoadTablet(Load("META", "meta0")));
  ASSERT_OK(admin->Apply(meta_tablet, batch));
  ASSERT_OK(admin->Sync(meta_tablet));

  client::ServerStatusInfo ss;
  const int64_t deadline = test::MonoMs() + 15000;
  while (test::MonoMs() < deadline) {
    ASSERT_OK(admin->ServerStatus(&ss));
    if (!ss.pending_splits.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(ss.pending_splits.size(), 1u) << "no automatic split within 15 s";
  // Several more split checks pass; META still has not split.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ASSERT_OK(admin->ServerStatus(&ss));
  for (const auto& p : ss.pending_splits) EXPECT_NE(p.parent.tablet.table, "META");
  client::SplitInfo split = ss.pending_splits[0];
  EXPECT_EQ(split.parent.tablet, t);
  EXPECT_FALSE(split.left.end_row.empty());
  EXPECT_EQ(split.left.end_row, split.right.start_row);

  ASSERT_OK(admin->CommitSplit(t));
  std::vector<Cell> left = ScanAll(admin.get(), split.left.tablet);
  std::vector<Cell> right = ScanAll(admin.get(), split.right.tablet);
  EXPECT_EQ(left.size() + right.size(), 300u);
  EXPECT_FALSE(left.empty());
  EXPECT_FALSE(right.empty());
  if (!left.empty() && !right.empty()) {
    EXPECT_LT(left.back().row, right.front().row);
  }
}

}  // namespace
}  // namespace kdi

namespace kdi {
namespace {

// Fencing: while lockd is unreachable (paused) the tabletd's session goes into
// jeopardy and every tablet answers ServiceUnavailable; once the session has
// expired the tabletd drops its tablets, registers again with a new session
// when lockd is back, and serves the tablet again after a reload, data intact.
TEST(TabletdFencingTest, JeopardyStopsServingAndExpiryDropsTablets) {
  MiniClusterOptions o;
  o.num_masters = 0;
  o.num_tablet_servers = 1;
  o.lease_ms = 3000;
  o.log_level = "info";
  o.lockd_args = {"--lockd_lock_delay_ms=0"};
  MiniCluster cluster(o);
  ASSERT_OK(cluster.Start());
  ASSERT_OK(cluster.WaitForTabletServers(1));
  const std::string addr = cluster.tablet_server(0)->address();
  auto admin = Connect(addr, cluster.ServerTls());
  const TabletRef t{"fence", "f0"};
  ASSERT_OK(admin->LoadTablet(Load("fence", "f0")));
  ASSERT_OK(admin->Apply(t, {Row("r1", "word:a", 1, "before")}));
  ASSERT_OK(admin->Sync(t));

  ASSERT_OK(cluster.lockd()->Pause());
  const int64_t paused_at = test::MonoMs();
  bool refused = false;
  while (test::MonoMs() - paused_at < 12000) {
    Status s = admin->Apply(t, {Row("r2", "word:a", 1, "during")});
    if (s.IsServiceUnavailable() || s.IsNotServing()) {
      refused = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const int64_t refused_after = test::MonoMs() - paused_at;
  EXPECT_TRUE(refused) << "tabletd kept serving with lockd unreachable for 12 s";
  // Stay unreachable past lease + grace so that the session expires.
  while (test::MonoMs() - paused_at < 8000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_OK(cluster.lockd()->Resume());
  std::printf("tabletd stopped serving %lld ms after lockd became unreachable (lease %lld ms)\n",
              static_cast<long long>(refused_after), static_cast<long long>(o.lease_ms));
  EXPECT_LT(refused_after, o.lease_ms) << "stopped serving only after the lease could be over";

  // Back: the tabletd re-registers; the tablet is served again after a reload.
  LoadTabletRequest l = Load("fence", "f0");
  l.create_if_missing = false;
  const int64_t deadline = test::MonoMs() + 30000;
  Status s;
  std::vector<Cell> cells;
  while (test::MonoMs() < deadline) {
    s = admin->LoadTablet(l);
    if (s.ok()) {
      cells = ScanAll(admin.get(), t);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_OK(s);
  ASSERT_GE(cells.size(), 1u);
  EXPECT_EQ(cells[0], Cell("r1", "word:a", 1, "before"));
  ASSERT_OK(admin->Apply(t, {Row("r3", "word:a", 1, "after")}));
  ASSERT_OK(cluster.WaitForTabletServers(1));
  client::ServerStatusInfo ss;
  ASSERT_OK(admin->ServerStatus(&ss));
  EXPECT_EQ(ss.session_state, "safe");
}

}  // namespace
}  // namespace kdi

namespace kdi {
namespace {

// Migration between separate data roots under concurrent writes: the target
// copies the tablet while the source serves, the source stops and closes it,
// the target catches up and takes over. No acknowledged write is lost.
TEST(TabletdCopyMigrationTest, SeparateRootsUnderConcurrentWrites) {
  MiniClusterOptions o;
  o.num_masters = 0;
  o.num_tablet_servers = 2;
  o.shared_data_root = false;
  o.lease_ms = 5000;
  o.log_level = "info";
  o.lockd_args = {"--lockd_lock_delay_ms=0"};
  MiniCluster cluster(o);
  ASSERT_OK(cluster.Start());
  ASSERT_OK(cluster.WaitForTabletServers(2));
  ASSERT_NE(cluster.tablet_data_root(0), cluster.tablet_data_root(1));
  std::unique_ptr<TabletClient> admin[2], cl[2];
  for (int i = 0; i < 2; i++) {
    admin[i] = Connect(cluster.tablet_server(i)->address(), cluster.ServerTls());
    cl[i] = Connect(cluster.tablet_server(i)->address(), cluster.ClientTls());
  }
  const TabletRef t{"mig", "m0"};
  ASSERT_OK(admin[0]->LoadTablet(Load("mig", "m0")));
  // Some bulk so that the copy while serving has something to do.
  std::vector<RowMutation> bulk;
  for (int i = 0; i < 400; i++) {
    bulk.push_back(Row("bulk" + std::to_string(i), "word:v", 1, std::string(4000, 'b')));
  }
  ASSERT_OK(cl[0]->Apply(t, bulk));

  std::mutex mu;
  std::vector<int> acked;
  std::atomic<bool> stop{false};
  std::atomic<int> refused{0};
  std::thread writer([&] {
    int server = 0;
    for (int i = 0; !stop.load(); i++) {
      Status s = cl[server]->Apply(t, {Row("w" + std::to_string(i), "word:v", 1, "x")});
      if (s.ok()) {
        std::lock_guard<std::mutex> l(mu);
        acked.push_back(i);
      } else {
        refused++;
        if (s.IsNotServing()) server = 1 - server;  // moved: try the other one
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  });
  struct JoinGuard {
    std::atomic<bool>* stop;
    std::thread* thread;
    ~JoinGuard() {
      stop->store(true);
      if (thread->joinable()) thread->join();
    }
  } guard{&stop, &writer};

  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  client::MigrateTabletReply mr;
  ASSERT_OK(admin[0]->MigrateTablet({t, cluster.tablet_server(1)->address()}, &mr));
  std::printf("separate-roots migration: tablet unavailable for %.3f ms\n",
              mr.unavailable_us / 1000.0);
  EXPECT_EQ(mr.target_status.desc.tablet, t);
  // The source removed its stale copy (regression: it used to stay for ever).
  struct stat st;
  EXPECT_NE(stat((cluster.tablet_data_root(0) + "/tables/mig/m0").c_str(), &st), 0)
      << "the source's directory is still there after the move";
  EXPECT_NE(stat((cluster.tablet_data_root(0) + "/tables/mig/m0.retired").c_str(), &st), 0);
  EXPECT_EQ(stat((cluster.tablet_data_root(1) + "/tables/mig/m0").c_str(), &st), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  writer.join();

  EXPECT_TRUE(cl[0]->Sync(t).IsNotServing());
  std::vector<Cell> cells = ScanAll(cl[1].get(), t);
  std::set<std::string> rows;
  for (const Cell& c : cells) rows.insert(c.row);
  std::lock_guard<std::mutex> l(mu);
  std::printf("writes acknowledged: %zu, refused during the move: %d\n", acked.size(),
              refused.load());
  EXPECT_GT(acked.size(), 0u);
  for (int i = 0; i < 400; i++) ASSERT_EQ(rows.count("bulk" + std::to_string(i)), 1u) << i;
  for (int i : acked) ASSERT_EQ(rows.count("w" + std::to_string(i)), 1u) << "lost write " << i;
  // The copy is the tablet now: writes to it work on the target.
  ASSERT_OK(cl[1]->Apply(t, {Row("after", "word:v", 1, "x")}));
  ASSERT_OK(cl[1]->Sync(t));
}

}  // namespace
}  // namespace kdi

namespace kdi {
namespace {

// Small applies and conditional applies are answered on the RPC I/O thread
// when the tablet's locks are free, and go to a worker when they are not
// (here: big batches, which always run on workers, hold them). Whichever path
// a write takes: compare-and-set increments by several threads add up
// exactly, every acknowledged write is there, and a Sync makes them durable
// across an unload and a load on the other server.
TEST_F(TabletdTest, InlineAndWorkerWritesInterleaveWithoutLoss) {
  const TabletRef t{"web", "inline1"};
  ASSERT_OK(admin_[0]->LoadTablet(Load("web", "inline1")));
  ASSERT_OK(client_[0]->Apply(t, {Row("counter", "word:n", 1, "0")}));
  constexpr int kThreads = 4;
  constexpr int kIncrements = 40;
  std::atomic<bool> stop{false};
  std::atomic<int> big_batches{0};
  std::thread batcher([&] {
    // Batches of 200 rows x 1 KiB: bodies over the inline limit.
    std::string value(1024, 'v');
    for (int b = 0; !stop.load(); b++) {
      std::vector<RowMutation> rows;
      for (int i = 0; i < 200; i++) {
        rows.push_back(Row("big" + std::to_string(b) + "-" + std::to_string(i), "meta:v", 1,
                           value));
      }
      ASSERT_OK(client_[0]->Apply(t, rows));
      big_batches++;
    }
  });
  std::vector<std::thread> threads;
  for (int k = 0; k < kThreads; k++) {
    threads.emplace_back([&, k] {
      for (int done = 0; done < kIncrements;) {
        ScanPredicate p;
        ASSERT_OK(ScanPredicate::Parse("row = \"counter\" and history = 1", &p));
        std::vector<Cell> cells;
        auto stream = client_[0]->OpenScan(t, p);
        for (Cell c; stream->Next(&c);) cells.push_back(c);
        ASSERT_OK(stream->status());
        ASSERT_EQ(cells.size(), 1u);
        int n = std::stoi(cells[0].value);
        Status s = client_[0]->ConditionalApply(
            t, {Condition::LatestEquals("word:n", cells[0].value)},
            Row("counter", "word:n", cells[0].timestamp + 1, std::to_string(n + 1)));
        if (s.IsConflict()) continue;
        ASSERT_OK(s);
        done++;
        ASSERT_OK(client_[0]->Apply(
            t, {Row("w" + std::to_string(k) + "-" + std::to_string(done), "word:x", 1, "x")}));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  stop = true;
  batcher.join();
  ASSERT_OK(client_[0]->Sync(t));
  ASSERT_OK(admin_[0]->UnloadTablet(t));
  ASSERT_OK(admin_[1]->LoadTablet(Load("web", "inline1")));
  std::vector<Cell> cells = ScanAll(client_[1].get(), t);
  size_t small = 0, big = 0;
  std::string counter;
  for (const Cell& c : cells) {
    if (c.row.rfind("w", 0) == 0) small++;
    if (c.row.rfind("big", 0) == 0) big++;
    if (c.row == "counter" && counter.empty()) counter = c.value;  // newest first
  }
  EXPECT_EQ(counter, std::to_string(kThreads * kIncrements));
  EXPECT_EQ(small, static_cast<size_t>(kThreads * kIncrements));
  EXPECT_EQ(big, static_cast<size_t>(big_batches.load()) * 200);
  ASSERT_OK(admin_[1]->UnloadTablet(t, true));
}

}  // namespace
}  // namespace kdi
