// Application-level tests of kdi:// tables against a real cluster started by
// the test (t/mini_cluster.h: lockd, masterd, tabletds on loopback): an
// application links libkdi, creates a table through the master, and does
// set/sync/scan/erase through kdi::Table; then a tablet server is killed and
// the application's next calls succeed without an error (the retry counter
// shows the client noticed); a scan running across the failure returns every
// cell exactly once.
#include <gtest/gtest.h>

#include <memory>
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
  void StartCluster(int tablet_servers) {
    test::MiniClusterOptions o;
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
  auto* remote = dynamic_cast<client::RemoteTable*>(t.get());
  ASSERT_NE(remote, nullptr);
  std::vector<std::string> rows;
  for (char c = 'a'; c <= 'z'; c++) {
    for (int i = 0; i < 20; i++) rows.push_back(std::string(1, c) + std::to_string(i));
  }
  for (const auto& r : rows) ASSERT_OK(t->Set(r, "w:v", 1, "before"));
  ASSERT_OK(t->Sync());
  ASSERT_EQ(ScanAll(t.get()).size(), rows.size());
  uint64_t retries_before = remote->stats().retries;

  // Kill one tablet server: its tablets are reassigned to the other.
  ASSERT_OK(cluster_->tablet_server(0)->Kill());
  for (const auto& r : rows) ASSERT_OK(t->Set(r, "w:v", 2, "after"));
  ASSERT_OK(t->Sync());
  std::vector<Cell> all = ScanAll(t.get(), "history = 1");
  ASSERT_EQ(all.size(), rows.size());
  for (const Cell& c : all) EXPECT_EQ(c.value, "after") << c.DebugString();
  EXPECT_GT(remote->stats().retries, retries_before);

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

}  // namespace
}  // namespace kdi
