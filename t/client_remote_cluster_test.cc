// Application-level tests of kdi:// tables against a real cluster started by
// the test (t/mini_cluster.h: lockd, masterd, tabletds on loopback): an
// application links libkdi, creates a table through the master, and does
// set/sync/scan/erase through kdi::Table; then a tablet server is killed and
// the application's next calls succeed without an error (the retry counter
// shows the client noticed); a scan running across the failure returns every
// cell exactly once.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <string>
#include <vector>

#include "kdi/table.h"
#include "lib/client/meta_client.h"
#include "lib/client/remote_table.h"
#include "lib/rpc/tls.h"
#include "t/mini_cluster.h"
#include "t/test_util.h"

namespace kdi {
namespace {

class RemoteClusterTest : public ::testing::Test {
 protected:
  void StartCluster(int tablet_servers, std::vector<std::string> tabletd_args = {},
                    std::vector<std::string> master_args = {}) {
    test::MiniClusterOptions o;
    o.tabletd_args = std::move(tabletd_args);
    o.master_args = std::move(master_args);
    o.num_tablet_servers = tablet_servers;
    o.shared_data_root = true;
    o.log_level = "info";
    o.lease_ms = 6000;  // a loaded 2-core machine makes short leases flap
    cluster_ = std::make_unique<test::MiniCluster>(o);
    ASSERT_OK(cluster_->Start());
    ASSERT_OK(cluster_->WaitForTabletServers(tablet_servers));
    int master;
    ASSERT_OK(cluster_->WaitForActiveMaster(&master));
  }

  void CreateTable(const std::string& name, const std::vector<std::string>& splits) {
    std::unique_ptr<lock::LockSession> session;
    ASSERT_OK(cluster_->OpenLockSession(&session));
    test::TlsFiles admin = cluster_->AdminTls();
    rpc::TlsOptions t{admin.ca_file, admin.cert_file, admin.key_file};
    std::shared_ptr<rpc::TlsContext> tls;
    ASSERT_OK(rpc::TlsContext::CreateClient(t, &tls));
    meta::MetaClient::Options mo;
    mo.lock_session = session.get();
    mo.tls = tls;
    meta::MetaClient mc(mo);
    meta::CreateTableRequest req;
    req.name = name;
    ASSERT_OK(Schema::Parse("w", &req.schema));
    req.split_rows = splits;
    ASSERT_OK(mc.CreateTable(req));
  }

  std::string Uri(const std::string& table, const std::string& extra = "") {
    test::TlsFiles c = cluster_->ClientTls();
    return "kdi://" + cluster_->lockd_address() + "/" + table + "?tls_ca_file=" + c.ca_file +
           "&tls_cert_file=" + c.cert_file + "&tls_key_file=" + c.key_file + extra;
  }

  static std::vector<Cell> ScanAll(Table* t, const std::string& pred = "") {
    std::unique_ptr<CellStream> s;
    EXPECT_OK(t->Scan(pred, &s));
    std::vector<Cell> out;
    for (Cell c; s->Next(&c);) out.push_back(c);
    EXPECT_OK(s->status());
    return out;
  }

  std::unique_ptr<test::MiniCluster> cluster_;
};

TEST_F(RemoteClusterTest, ApplicationSetSyncScanErase) {
  StartCluster(2);
  CreateTable("web", {"m"});

  std::unique_ptr<Table> t;
  ASSERT_OK(Table::Open(Uri("web"), &t));
  for (int i = 0; i < 50; i++) {
    std::string row = std::string(1, static_cast<char>('a' + i % 26)) + std::to_string(i);
    ASSERT_OK(t->Set(row, "w:count", 100, std::to_string(i)));
  }
  ASSERT_OK(t->Sync());
  std::vector<Cell> all = ScanAll(t.get());
  ASSERT_EQ(all.size(), 50u);
  for (size_t i = 1; i < all.size(); i++) EXPECT_TRUE(CellKeyLess(all[i - 1], all[i]));
  EXPECT_EQ(ScanAll(t.get(), "row ~= \"m\"").size(), 2u);  // m12, m38

  ASSERT_OK(t->Erase("m12", "w:count", 100));
  ASSERT_OK(t->EraseRow("m38"));
  ASSERT_OK(t->Sync());
  EXPECT_EQ(ScanAll(t.get(), "row ~= \"m\"").size(), 0u);
  EXPECT_EQ(ScanAll(t.get()).size(), 48u);

  RowMutation m("z-new");
  m.Set("w:x", 1, "v");
  uint64_t rev = 0;
  ASSERT_OK(t->ApplyIf({Condition::RowAbsent()}, m, &rev));
  EXPECT_TRUE(t->ApplyIf({Condition::RowAbsent()}, m, &rev).IsConflict());

  EXPECT_TRUE(t->Set("r", "nofamily:x", 1, "v").IsInvalidArgument());
  ASSERT_OK(t->Close());

  std::unique_ptr<Table> missing;
  Status s = Table::Open(Uri("nosuchtable"), &missing);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
}

TEST_F(RemoteClusterTest, ServerFailureIsInvisibleToTheApplication) {
  StartCluster(2);
  CreateTable("fail", {"g", "p"});

  std::unique_ptr<Table> t;
  ASSERT_OK(Table::Open(Uri("fail", "&timeout_ms=60000"), &t));
  std::vector<std::string> rows;
  for (char c = 'a'; c <= 'z'; c++) {
    for (int i = 0; i < 20; i++) rows.push_back(std::string(1, c) + std::to_string(i));
  }
  for (const auto& r : rows) ASSERT_OK(t->Set(r, "w:v", 1, "before"));
  ASSERT_OK(t->Sync());
  ASSERT_EQ(ScanAll(t.get()).size(), rows.size());
  uint64_t retries_before = t->GetStats().retries;

  // Kill one tablet server: its tablets are reassigned to the other.
  ASSERT_OK(cluster_->tablet_server(0)->Kill());
  for (const auto& r : rows) ASSERT_OK(t->Set(r, "w:v", 2, "after"));
  ASSERT_OK(t->Sync());
  std::vector<Cell> all = ScanAll(t.get(), "history = 1");
  ASSERT_EQ(all.size(), rows.size());
  for (const Cell& c : all) EXPECT_EQ(c.value, "after") << c.DebugString();
  EXPECT_GT(t->GetStats().retries, retries_before);

  // Bring the server back; a scan running while the other one is killed
  // returns every cell exactly once.
  ASSERT_OK(cluster_->tablet_server(0)->Restart());
  ASSERT_OK(cluster_->WaitForTabletServers(2));
  std::unique_ptr<CellStream> s;
  TableOptions small;
  std::unique_ptr<Table> t2;
  small.scan_page_cells = 16;
  ASSERT_OK(Table::Open(Uri("fail", "&timeout_ms=60000"), small, &t2));
  ASSERT_OK(t2->Scan("", &s));
  std::vector<Cell> got;
  Cell c;
  for (int i = 0; i < 40 && s->Next(&c); i++) got.push_back(c);
  ASSERT_OK(cluster_->tablet_server(1)->Kill());
  while (s->Next(&c)) got.push_back(c);
  ASSERT_OK(s->status());
  ASSERT_EQ(got.size(), rows.size() * 2);
  for (size_t i = 1; i < got.size(); i++) {
    ASSERT_TRUE(CellKeyLess(got[i - 1], got[i])) << i;
  }
}

// The acceptance test of issue 6: writes and a scan running while the table
// splits (tiny split threshold), tablets move (balancer) and a server is
// killed: the application sees no error, and the scan returns every cell
// exactly once, in order.
TEST_F(RemoteClusterTest, ScanWhileSplittingMovingAndKilling) {
  StartCluster(3, {"--tabletd_split_size_mb=6", "--tabletd_split_check_interval_ms=300"},
               {"--masterd_balance=true", "--masterd_balance_interval_ms=500"});
  CreateTable("chaos", {});
  std::unique_ptr<Table> t;
  ASSERT_OK(Table::Open(Uri("chaos", "&timeout_ms=120000"), &t));
  const int kRows = 6000;
  std::string value(1000, 'v');
  char row[32];
  for (int i = 0; i < kRows; i++) {
    snprintf(row, sizeof(row), "row%06d", i);
    ASSERT_OK(t->Set(row, "w:v", 1, value));
  }
  ASSERT_OK(t->Sync());

  // Wait (bounded) until the table has split at least once.
  std::unique_ptr<lock::LockSession> session;
  ASSERT_OK(cluster_->OpenLockSession(&session));
  size_t tablets = 0;
  for (int i = 0; i < 200 && tablets < 2; i++) {
    std::unique_ptr<lock::LockHandle> h;
    std::vector<std::string> names;
    if (session->Open("/kdi/tablets/chaos", lock::kRead, 0, &h).ok() &&
        h->ReadDirectory(&names).ok()) {
      tablets = names.size();
    }
    if (tablets < 2) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GE(tablets, 2u) << "the table never split";

  TableOptions small;
  small.scan_page_cells = 50;
  std::unique_ptr<Table> reader;
  ASSERT_OK(Table::Open(Uri("chaos", "&timeout_ms=120000"), small, &reader));
  std::unique_ptr<CellStream> s;
  ASSERT_OK(reader->Scan("", &s));
  std::vector<std::string> seen;
  Cell c;
  bool killed = false;
  bool victim_from_cache = false;
  while (s->Next(&c)) {
    seen.push_back(c.row);
    if (seen.size() % 100 == 0) {
      // Keep the table changing under the scan: more splits.
      for (int k = 0; k < 20; k++) {
        snprintf(row, sizeof(row), "row%06d-x%zu", kRows, seen.size() + k);
        ASSERT_OK(t->Set(std::string("zz") + row, "w:v", 1, value));
      }
    }
    if (!killed && seen.size() == kRows / 2) {
      // Kill the server the scan will need next (as the reader's cache says).
      auto* rr = dynamic_cast<client::RemoteTable*>(reader.get());
      client::TabletLocation loc;
      int victim = 2;
      victim_from_cache = false;
      snprintf(row, sizeof(row), "row%06d", kRows * 3 / 4);
      if (rr->location_cache()->Find("chaos", row, &loc)) {
        for (int k = 0; k < cluster_->num_tablet_servers(); k++) {
          if (cluster_->tablet_server(k)->address() == loc.server) {
            victim = k;
            victim_from_cache = true;
          }
        }
      }
      ASSERT_OK(cluster_->tablet_server(victim)->Kill());
      killed = true;
    }
  }
  ASSERT_OK(s->status());
  ASSERT_TRUE(killed);
  // Rows written before the scan: each exactly once, in order.
  std::vector<std::string> original;
  for (const std::string& r : seen) {
    if (r.rfind("zz", 0) != 0) original.push_back(r);
  }
  ASSERT_EQ(original.size(), static_cast<size_t>(kRows));
  for (int i = 0; i < kRows; i++) {
    snprintf(row, sizeof(row), "row%06d", i);
    ASSERT_EQ(original[i], row);
  }
  for (size_t i = 1; i < seen.size(); i++) ASSERT_LT(seen[i - 1], seen[i]);
  ASSERT_OK(t->Sync());
  TableStats st = t->GetStats();
  RecordProperty("writer_retries", static_cast<int>(st.retries));
  RecordProperty("scan_restarts", static_cast<int>(reader->GetStats().scan_restarts));
  EXPECT_GE(st.retries, 1u) << "the writer never had to follow a split or move";
  if (victim_from_cache) {
    EXPECT_GE(reader->GetStats().scan_restarts, 1u) << "the scan never met the killed server";
  }
  ASSERT_OK(session->Close());
}

}  // namespace
}  // namespace kdi
