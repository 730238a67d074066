// masterd against real daemons (t/mini_cluster): 1 lockd, 2 masterd, 3 tabletd
// on loopback. Covers table creation with initial splits (each table's tablets
// spread evenly over the servers, fsck clean, lockd's tablet locks agree, delete) and bad input
// (duplicate/unknown table, bad names and split rows, removing a family with
// data without force, client-role principals writing).
#include <algorithm>
#include <cstdio>

#include "t/masterd_cluster_fixture.h"

namespace kdi::test {
namespace {

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
  // Each table is spread evenly first (2 of its 6 tablets per server), whichever
  // server also holds META.
  EXPECT_EQ(3u, per_server.size()) << "tablets should be spread over the three servers";
  for (const auto& [s, n] : per_server) EXPECT_EQ(2, n) << s;
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

  // The same through kdicli's admin views.
  std::string out;
  EXPECT_EQ(0, Kdicli("fsck", &out)) << out;
  EXPECT_NE(std::string::npos, out.find("OK")) << out;
  EXPECT_EQ(0, Kdicli("create web3 --family 'cf:versions=2' --split b,c", &out))
      << out;
  EXPECT_EQ(0, Kdicli("tables", &out)) << out;
  EXPECT_EQ("web\nweb3\n", out);
  EXPECT_EQ(0, Kdicli("tablets web3", &out)) << out;
  EXPECT_EQ(4, std::count(out.begin(), out.end(), '\n')) << out;  // header + 3 tablets
  std::vector<TabletInfo> web3;
  ASSERT_OK(admin_->ListTablets("web3", &web3));
  std::map<std::string, int> web3_per_server;
  for (const auto& t : web3) web3_per_server[t.meta.server]++;
  EXPECT_EQ(3u, web3_per_server.size()) << "a new table's 3 tablets go one to each server";
  EXPECT_EQ(0, Kdicli("servers", &out)) << out;
  EXPECT_EQ(1, Kdicli("create web3 --family cf", &out)) << out;
  EXPECT_NE(std::string::npos, out.find("already exists")) << out;
  EXPECT_EQ(2, Kdicli("create web4", &out)) << out;
  EXPECT_EQ(0, Kdicli("drop web3", &out)) << out;

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
  // The same through kdicli: a clear message, a failing exit code.
  std::string out;
  EXPECT_NE(0, Kdicli("alter t1 --remove other", &out)) << out;
  EXPECT_NE(std::string::npos, out.find("--force")) << out;
  EXPECT_NE(0, Kdicli("drop nosuch", &out)) << out;
  EXPECT_NE(std::string::npos, out.find("no such table")) << out;
  EXPECT_NE(0, Kdicli("create 'bad/name' --family cf", &out)) << out;
  EXPECT_NE(std::string::npos, out.find("bad/name")) << out;
  EXPECT_NE(0, Kdicli("tablets nosuch", &out)) << out;
  EXPECT_NE(std::string::npos, out.find("no such table")) << out;
  // Unknown table in alter.
  meta::AlterTableRequest alter_unknown = alter;
  alter_unknown.name = "nosuch";
  s = admin_->AlterTable(alter_unknown);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find("no such table")) << s.ToString();
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
  meta::AlterTableRequest calter;
  calter.name = "t1";
  EXPECT_TRUE(client.AlterTable(calter).IsPermissionDenied());
}

}  // namespace
}  // namespace kdi::test
