// The kdi:// client against real daemons while the cluster changes under it,
// each event caused deterministically by the test (no waiting for luck):
//   - a tablet move (the balancer moves tablets to a server started later) and
//     an ordered split: the application's next calls succeed, and the public
//     counters (Table::GetStats) show the retries and cache invalidations;
//   - one scan during which the table splits (an ordered split of the tablet
//     being read) AND the server it reads from is killed: every cell exactly
//     once, in order;
//   - a table dropped while writes are buffered: Set returns (buffered), the
//     background flush fails and Sync returns the error;
//   - every handle of a process on one cluster shares one lock session.
// The cluster is a t/mini_cluster.h MiniCluster with an admin MetaClient for
// the table meta and fsck; its daemons are always killed (RAII).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kdi/lock_client.h"
#include "kdi/table.h"
#include "lib/client/meta_client.h"
#include "lib/client/meta_layout.h"
#include "lib/client/remote_rpc_backend.h"
#include "lib/client/tablet_client.h"
#include "lib/rpc/tls.h"
#include "t/mini_cluster.h"
#include "t/tablet_connect.h"
#include "t/test_util.h"

namespace kdi {
namespace {

using test::MonoMs;

class ClientFaultTest : public ::testing::Test {
 protected:
  // One master (with master_args), `tservers` tablet servers of which the
  // first `start_tservers` are started; shared data root, quick keepAlives.
  void StartCluster(int tservers, int start_tservers, std::vector<std::string> master_args = {}) {
    test::MiniClusterOptions o;
    o.num_masters = 1;
    o.num_tablet_servers = tservers;
    o.shared_data_root = true;
    o.lease_ms = 4000;
    o.log_level = "info";
    o.master_args = {"--masterd_reconcile_interval_ms=100"};
    o.master_args.insert(o.master_args.end(), master_args.begin(), master_args.end());
    o.tabletd_args = {"--tabletd_keepalive_interval_ms=300"};
    o.start_daemons = false;
    cluster_ = std::make_unique<test::MiniCluster>(o);
    ASSERT_OK(cluster_->Start());
    ASSERT_OK(cluster_->lockd()->Start());
    ASSERT_OK(cluster_->lockd()->WaitUntilReady());
    ASSERT_OK(cluster_->master(0)->Start());
    for (int i = 0; i < start_tservers; i++) ASSERT_OK(cluster_->tablet_server(i)->Start());
    ASSERT_OK(cluster_->master(0)->WaitUntilReady());
    for (int i = 0; i < start_tservers; i++) {
      ASSERT_OK(cluster_->tablet_server(i)->WaitUntilReady());
    }
    ASSERT_OK(cluster_->WaitForTabletServers(start_tservers));
    int active = -1;
    ASSERT_OK(cluster_->WaitForActiveMaster(&active));
    ASSERT_OK(cluster_->OpenLockSession(&session_));
    server_tls_ = test::ClientTlsContext(cluster_->ServerTls());
    meta::MetaClient::Options mo;
    mo.lock_session = session_.get();
    mo.tls = test::ClientTlsContext(cluster_->AdminTls());
    mo.retry_ms = 20000;
    admin_ = std::make_unique<meta::MetaClient>(mo);
    ASSERT_OK(WaitForFsck(20000));  // META is loaded and served
  }

  void TearDown() override {
    admin_.reset();
    if (session_) (void)session_->Close();
    session_.reset();
    cluster_.reset();
  }

  Status CreateTable(const std::string& name, const std::vector<std::string>& splits) {
    meta::CreateTableRequest req;
    req.name = name;
    RETURN_NOT_OK(Schema::Parse("cf:versions=3 other", &req.schema));
    req.split_rows = splits;
    return admin_->CreateTable(req);
  }

  // Polls fsck until it reports no problem.
  Status WaitForFsck(int64_t timeout_ms) {
    int64_t deadline = MonoMs() + timeout_ms;
    for (;;) {
      meta::FsckReply r;
      Status s = admin_->Fsck(false, &r);
      if (s.ok() && r.problems == 0) return s;
      if (MonoMs() >= deadline) {
        return s.ok() ? Status::Aborted(std::to_string(r.problems) + " fsck problems") : s;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // Tablets of `table` per server address (from META).
  std::map<std::string, int> TabletsPerServer(const std::string& table) {
    std::map<std::string, int> out;
    std::vector<meta::TabletInfo> tablets;
    if (!admin_->ListTablets(table, &tablets).ok()) return out;
    for (const auto& t : tablets) out[t.meta.server]++;
    return out;
  }


  // kdi:// URI of `table` for the application (client-role certificate).
  std::string Uri(const std::string& table, const std::string& extra = "") {
    test::TlsFiles c = cluster_->ClientTls();
    return "kdi://" + cluster_->lockd_address() + "/" + table + "?tls_ca_file=" + c.ca_file +
           "&tls_cert_file=" + c.cert_file + "&tls_key_file=" + c.key_file +
           "&timeout_ms=60000" + extra;
  }

  static std::vector<Cell> ScanAll(Table* t, const std::string& pred = "") {
    std::unique_ptr<CellStream> s;
    EXPECT_OK(t->Scan(pred, &s));
    std::vector<Cell> out;
    if (s == nullptr) return out;
    for (Cell c; s->Next(&c);) out.push_back(c);
    EXPECT_OK(s->status());
    return out;
  }

  // The tablet of `table` holding `row`, from META.
  Status TabletOf(const std::string& table, const std::string& row, meta::TabletMeta* out) {
    std::vector<meta::TabletInfo> tablets;
    RETURN_NOT_OK(admin_->ListTablets(table, &tablets));
    for (const auto& t : tablets) {
      if (t.meta.Contains(row)) {
        *out = t.meta;
        return Status::OK();
      }
    }
    return Status::NotFound("no tablet holds " + row);
  }

  // Orders the tablet holding split_row's range to split at split_row (as the
  // tabletd would by itself when it grows), then waits until META records
  // both children as assigned and fsck passes.
  void SplitAt(const std::string& table, const std::string& split_row) {
    meta::TabletMeta parent;
    ASSERT_OK(TabletOf(table, split_row, &parent));
    client::TabletClient::Options to;
    to.address = parent.server;
    to.tls = server_tls_;
    client::TabletClient tc(to);
    client::SplitTabletRequest req;
    req.tablet = client::TabletRef{table, parent.id};
    req.split_row = split_row;
    client::SplitInfo info;
    ASSERT_OK(tc.SplitTablet(req, &info));
    int64_t deadline = MonoMs() + 30000;
    for (;;) {
      meta::TabletMeta right;
      if (TabletOf(table, split_row, &right).ok() && right.start_row == split_row &&
          right.state == meta::TabletState::kAssigned && WaitForFsck(1000).ok()) {
        break;
      }
      ASSERT_LT(MonoMs(), deadline) << "the split of " << parent.DebugString()
                                    << " was never recorded";
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // Live lock-service sessions of the application's principal.
  int ClientSessions() {
    std::vector<lock::SessionInfo> sessions;
    EXPECT_OK(session_->ListSessions(&sessions));
    int n = 0;
    for (const auto& s : sessions) n += s.principal == "test-client";
    return n;
  }

  std::unique_ptr<test::MiniCluster> cluster_;
  std::unique_ptr<lock::LockSession> session_;
  std::shared_ptr<rpc::TlsContext> server_tls_;
  std::unique_ptr<meta::MetaClient> admin_;
};

std::vector<std::string> Rows(const std::string& letters, int per_letter) {
  std::vector<std::string> rows;
  char buf[16];
  for (char c : letters) {
    for (int i = 0; i < per_letter; i++) {
      snprintf(buf, sizeof(buf), "%c%03d", c, i);
      rows.push_back(buf);
    }
  }
  return rows;
}

const char kLetters[] = "abcdefghijklmnopqrstuvwxyz";

// Issue 6, location cache: after a tablet moves or splits, the next calls
// succeed with no error visible to the application; the counters show the
// client noticed (stale location dropped, call retried).
TEST_F(ClientFaultTest, LocationCacheFollowsMovesAndSplits) {
  // One master with a fast balancer; two tablet servers, only the first started.
  StartCluster(2, /*start_tservers=*/1,
               {"--masterd_balance=true", "--masterd_balance_interval_ms=300"});
  ASSERT_OK(CreateTable("moving", {"e", "j", "o", "t"}));
  ASSERT_OK(WaitForFsck(20000));
  const std::string first_server = cluster_->tablet_server(0)->address();
  ASSERT_EQ(TabletsPerServer("moving")[first_server], 5);

  std::unique_ptr<Table> t;
  ASSERT_OK(Table::Open(Uri("moving"), &t));
  std::vector<std::string> rows = Rows(kLetters, 8);
  for (const auto& r : rows) ASSERT_OK(t->Set(r, "cf:v", 1, "before"));
  ASSERT_OK(t->Sync());
  ASSERT_EQ(ScanAll(t.get()).size(), rows.size());
  TableStats before_move = t->GetStats();

  // Move: a second server joins; the balancer migrates tablets to it.
  ASSERT_OK(cluster_->tablet_server(1)->Start());
  ASSERT_OK(cluster_->tablet_server(1)->WaitUntilReady());
  const std::string second_server = cluster_->tablet_server(1)->address();
  int64_t deadline = MonoMs() + 40000;
  while (TabletsPerServer("moving")[second_server] < 2 || !WaitForFsck(1000).ok()) {
    ASSERT_LT(MonoMs(), deadline) << "the balancer moved no tablet";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (const auto& r : rows) ASSERT_OK(t->Set(r, "cf:v", 2, "moved"));
  ASSERT_OK(t->Sync());
  std::vector<Cell> all = ScanAll(t.get(), "history = 1");
  ASSERT_EQ(all.size(), rows.size());
  for (const Cell& c : all) ASSERT_EQ(c.value, "moved") << c.DebugString();
  TableStats after_move = t->GetStats();
  EXPECT_GT(after_move.cache_invalidations, before_move.cache_invalidations);
  EXPECT_GT(after_move.retries, before_move.retries);
  EXPECT_GT(after_move.meta_lookups, before_move.meta_lookups);

  // Split: the tablet [j, o) splits at "m" (ordered; automatic splits take
  // the same path). The cache still names the parent.
  SplitAt("moving", "m");
  uint64_t reads_before = after_move.scan_pages;
  for (const auto& r : rows) {
    if (r >= "j" && r < "o") ASSERT_OK(t->Set(r, "cf:v", 3, "split"));
  }
  ASSERT_OK(t->Sync());
  all = ScanAll(t.get(), "history = 1 and row >= \"j\" and row < \"o\"");
  ASSERT_EQ(all.size(), 5u * 8);
  for (const Cell& c : all) ASSERT_EQ(c.value, "split") << c.DebugString();
  TableStats after_split = t->GetStats();
  EXPECT_GT(after_split.cache_invalidations, after_move.cache_invalidations);
  EXPECT_GT(after_split.retries, after_move.retries);
  EXPECT_GT(after_split.scan_pages, reads_before);
  RecordProperty("retries", static_cast<int>(after_split.retries));
  RecordProperty("cache_invalidations", static_cast<int>(after_split.cache_invalidations));
  ASSERT_OK(t->Close());
}

// Issue 6, scan continuity: during ONE scan the tablet being read splits and
// then the server it is read from is killed; the scan returns every cell
// exactly once, in order, and its counters show both restarts.
TEST_F(ClientFaultTest, ScanSurvivesASplitAndAServerDeathInOneScan) {
  StartCluster(3, 3);
  ASSERT_OK(CreateTable("scan", {"g", "p"}));
  ASSERT_OK(WaitForFsck(20000));
  std::vector<std::string> rows = Rows(kLetters, 30);
  std::vector<Cell> want;
  {
    std::unique_ptr<Table> w;
    ASSERT_OK(Table::Open(Uri("scan"), &w));
    for (const auto& r : rows) {
      RowMutation m(r);
      m.Set("cf:v", 2, "new-" + r).Set("cf:v", 1, "old-" + r).Set("other:x", 7, "x");
      ASSERT_OK(w->Apply(m));
    }
    ASSERT_OK(w->Sync());
    want = ScanAll(w.get());
    ASSERT_OK(w->Close());
  }
  ASSERT_EQ(want.size(), rows.size() * 3);
  std::vector<meta::TabletInfo> tablets;
  ASSERT_OK(admin_->ListTablets("scan", &tablets));
  const size_t tablets_before = tablets.size();

  TableOptions small;
  small.scan_page_cells = 20;
  std::unique_ptr<Table> reader;
  ASSERT_OK(Table::Open(Uri("scan"), small, &reader));
  std::unique_ptr<CellStream> s;
  ASSERT_OK(reader->Scan("", &s));
  std::vector<Cell> got;
  bool split = false, killed = false;
  std::string victim_address;
  Cell c;
  while (s->Next(&c)) {
    got.push_back(c);
    if (!split && c.row >= "h") {
      // Inside [g, p): split it ahead of the reader, while the reader holds
      // a resume token of the parent.
      SplitAt("scan", "k");
      if (HasFatalFailure()) return;
      split = true;
    }
    if (split && !killed && c.row >= "l") {
      // Inside the right child [k, p): kill the server the reader reads from.
      meta::TabletMeta m;
      ASSERT_OK(TabletOf("scan", c.row, &m));
      int victim = cluster_->TabletServerIndex(m.server);
      ASSERT_GE(victim, 0);
      victim_address = m.server;
      ASSERT_OK(cluster_->tablet_server(victim)->Kill());
      killed = true;
    }
  }
  ASSERT_OK(s->status());
  ASSERT_TRUE(split && killed);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); i++) ASSERT_EQ(got[i], want[i]) << i;
  TableStats st = reader->GetStats();
  EXPECT_GE(st.scan_restarts, 2u) << "one restart for the split, one for the dead server";
  ASSERT_OK(WaitForFsck(30000));
  ASSERT_OK(admin_->ListTablets("scan", &tablets));
  EXPECT_EQ(tablets.size(), tablets_before + 1);
  for (const auto& t : tablets) EXPECT_NE(t.meta.server, victim_address) << t.meta.DebugString();
  RecordProperty("scan_restarts", static_cast<int>(st.scan_restarts));
}

// Issue 6, buffered writes: Set returns once buffered; when the table is
// dropped before the background flush, that flush fails and the error is
// returned by the next Sync (or, without a Sync, by a later write).
TEST_F(ClientFaultTest, ErrorOfABackgroundFlushIsReturnedBySync) {
  StartCluster(1, 1);
  ASSERT_OK(CreateTable("gone", {"m"}));
  ASSERT_OK(WaitForFsck(20000));
  std::unique_ptr<Table> t;
  ASSERT_OK(Table::Open(Uri("gone", "&flush_interval_ms=50"), &t));
  ASSERT_OK(t->Set("a", "cf:v", 1, "v"));
  ASSERT_OK(t->Set("z", "cf:v", 1, "v"));
  ASSERT_OK(t->Sync());

  ASSERT_OK(admin_->DeleteTable("gone"));
  uint64_t flushes = t->GetStats().flushes;
  ASSERT_OK(t->Set("b", "cf:v", 2, "lost"));  // buffered: the error comes later
  int64_t deadline = MonoMs() + 20000;
  while (t->GetStats().flushes == flushes) {
    ASSERT_LT(MonoMs(), deadline) << "no background flush";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Status s = t->Sync();
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find("earlier buffered write failed"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("gone"), std::string::npos) << s.ToString();

  // Without a Sync: a later write returns it.
  ASSERT_OK(t->Set("c", "cf:v", 2, "lost"));
  Status w;
  while (w.ok()) {
    ASSERT_LT(MonoMs(), deadline + 20000) << "the error never surfaced";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    w = t->Set("d", "cf:v", 2, "lost");
  }
  EXPECT_TRUE(w.IsNotFound()) << w.ToString();
  EXPECT_NE(w.message().find("earlier buffered write failed"), std::string::npos) << w.ToString();
  // (Close may or may not fail: it depends on whether a Set got buffered
  // after the failed flush had taken the buffer.)
  Status closed = t->Close();
  (void)closed;
}

// One lock-service session per process and cluster, shared by every handle
// (reference-counted: closed with the last handle).
TEST_F(ClientFaultTest, HandlesShareOneLockSession) {
  StartCluster(1, 1);
  ASSERT_OK(CreateTable("one", {}));
  ASSERT_OK(CreateTable("two", {"m"}));
  ASSERT_OK(WaitForFsck(20000));
  ASSERT_EQ(ClientSessions(), 0);
  ASSERT_EQ(client::SharedRpcBackendCount(), 0u);
  std::vector<std::unique_ptr<Table>> handles(4);
  ASSERT_OK(Table::Open(Uri("one"), &handles[0]));
  ASSERT_OK(Table::Open(Uri("one"), &handles[1]));
  ASSERT_OK(Table::Open(Uri("two"), &handles[2]));
  ASSERT_OK(Table::Open(Uri("two", "&flush_interval_ms=0"), &handles[3]));
  for (size_t i = 0; i < handles.size(); i++) {
    ASSERT_OK(handles[i]->Set("r" + std::to_string(i), "cf:v", 1, "v"));
    ASSERT_OK(handles[i]->Sync());
  }
  EXPECT_EQ(ClientSessions(), 1);
  EXPECT_EQ(client::SharedRpcBackendCount(), 1u);
  EXPECT_EQ(ScanAll(handles[1].get()).size(), 2u);
  EXPECT_EQ(ScanAll(handles[3].get()).size(), 2u);

  // Other credentials or timeouts get their own session.
  std::unique_ptr<Table> other;
  ASSERT_OK(Table::Open(Uri("one", "&rpc_timeout_ms=5000"), &other));
  EXPECT_EQ(ClientSessions(), 2);
  EXPECT_EQ(client::SharedRpcBackendCount(), 2u);
  other.reset();
  EXPECT_EQ(client::SharedRpcBackendCount(), 1u);

  // The shared session lives until its last handle is closed.
  for (size_t i = 0; i + 1 < handles.size(); i++) handles[i].reset();
  EXPECT_EQ(client::SharedRpcBackendCount(), 1u);
  ASSERT_OK(handles[3]->Set("last", "cf:v", 1, "v"));
  ASSERT_OK(handles[3]->Sync());
  EXPECT_EQ(ClientSessions(), 1);
  handles[3].reset();
  EXPECT_EQ(client::SharedRpcBackendCount(), 0u);
  int64_t deadline = MonoMs() + 5000;
  while (ClientSessions() != 0 && MonoMs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(ClientSessions(), 0) << "closing the last handle closes the session";
}

}  // namespace
}  // namespace kdi
