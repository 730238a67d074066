// Operations on a running cluster (t/mini_cluster, real daemons):
//  - alterTable reaches tablets already loaded: a new family takes writes and
//    a lowered max versions applies to reads, with no reload (same server,
//    same load time);
//  - fsck exits non-zero on a gap or an overlap written straight into META,
//    and --repair fixes a tablet unassigned in META while servers are live and
//    a tablet whose lock nobody holds;
//  - separate (local) data roots: a killed tabletd's tablets are reported
//    offline with the reason (kdicli tablets, kdicli fsck) until it restarts
//    on its old address, then they are served by it again (also after a quick
//    graceful restart).
#include <cstdio>

#include "t/masterd_cluster_fixture.h"

namespace kdi::test {
namespace {

class MasterdOpsTest : public MasterdClusterTest {
 protected:
  client::TabletClient::Options ServerClient(const std::string& address) {
    client::TabletClient::Options to;
    to.address = address;
    to.tls = server_tls_;
    return to;
  }

  // Rewrites one META row directly (as a broken tool or a bug would).
  Status WriteMetaRow(const meta::TabletMeta& t) {
    client::TabletClient tc(ServerClient(MetaServer()));
    client::TabletRef ref{meta::kMetaTableName, meta::kMetaTabletId};
    RETURN_NOT_OK(tc.Apply(ref, {meta::EncodeTabletRow(t, NowUs())}));
    return tc.Sync(ref);
  }

  static int64_t NowUs() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // Polls `kdicli ARGS` until its output contains `want`; returns the output.
  std::string WaitForKdicli(const std::string& args, const std::string& want,
                            int64_t timeout_ms, int* rc) {
    std::string out;
    int64_t deadline = MonoMs() + timeout_ms;
    do {
      *rc = Kdicli(args, &out);
      if (out.find(want) != std::string::npos) return out;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    } while (MonoMs() < deadline);
    return out;
  }
};

TEST_F(MasterdOpsTest, AlterReachesLoadedTabletsWithoutReload) {
  StartCluster(1, 2);
  ASSERT_OK(CreateTable("alt", {"m"}));  // "cf:versions=3 other"
  ASSERT_OK(WaitForFsck(10000));
  std::vector<TabletInfo> before;
  ASSERT_OK(admin_->ListTablets("alt", &before));
  ASSERT_EQ(2u, before.size());
  std::vector<int64_t> loaded_at;
  for (const auto& t : before) {
    client::TabletClient tc(ServerClient(t.meta.server));
    client::TabletStatusInfo st;
    ASSERT_OK(tc.TabletStatus(client::TabletRef{"alt", t.meta.id}, &st));
    loaded_at.push_back(st.loaded_at_us);
  }
  // Three versions of a cell in each tablet; the new family is refused.
  for (const std::string row : {"b", "x"}) {
    int i = row == "b" ? 0 : 1;
    for (int64_t ts = 1; ts <= 3; ts++) {
      RowMutation m(row);
      m.Set("cf:v", ts, "v" + std::to_string(ts));
      ASSERT_OK(WriteRow(before[i].meta.server, "alt", before[i].meta.id, m));
    }
    RowMutation bad(row);
    bad.Set("newfam:q", 1, "early");
    Status s = WriteRow(before[i].meta.server, "alt", before[i].meta.id, bad);
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    std::vector<Cell> cells;
    ASSERT_OK(ReadRow("alt", row, &cells));
    EXPECT_EQ(3u, cells.size()) << row;
  }

  meta::AlterTableRequest req;
  req.name = "alt";
  meta::AlterOp set_cf, add_fam;
  ASSERT_OK(FamilyOptions::Parse("cf:versions=1", &set_cf.family));
  ASSERT_OK(FamilyOptions::Parse("newfam", &add_fam.family));
  req.ops = {set_cf, add_fam};
  meta::TableInfo info;
  ASSERT_OK(admin_->AlterTable(req, &info));
  const std::string altered = info.schema.ToString();
  EXPECT_NE(std::string::npos, altered.find("cf:versions=1")) << altered;
  EXPECT_NE(std::string::npos, altered.find("newfam")) << altered;

  for (const std::string row : {"b", "x"}) {
    int i = row == "b" ? 0 : 1;
    RowMutation m(row);
    m.Set("newfam:q", 1, "new");
    ASSERT_OK(WriteRow(before[i].meta.server, "alt", before[i].meta.id, m));
    std::vector<Cell> cells;
    ASSERT_OK(ReadRow("alt", row, &cells));
    ASSERT_EQ(2u, cells.size()) << row << ": one version of cf:v and newfam:q";
    EXPECT_EQ("cf:v", cells[0].column);
    EXPECT_EQ(3, cells[0].timestamp);
    EXPECT_EQ("v3", cells[0].value);
    EXPECT_EQ("newfam:q", cells[1].column);
  }
  // No reload: same servers, same load times.
  std::vector<TabletInfo> after;
  ASSERT_OK(admin_->ListTablets("alt", &after));
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < after.size(); i++) {
    EXPECT_EQ(before[i].meta.server, after[i].meta.server);
    client::TabletClient tc(ServerClient(after[i].meta.server));
    client::TabletStatusInfo st;
    ASSERT_OK(tc.TabletStatus(client::TabletRef{"alt", after[i].meta.id}, &st));
    EXPECT_EQ(loaded_at[i], st.loaded_at_us) << "tablet " << i << " was reloaded";
  }
  ASSERT_OK(WaitForFsck(5000));
}

TEST_F(MasterdOpsTest, FsckFailsOnGapAndOverlapAndRepairsWhatItCan) {
  StartCluster(1, 2);
  ASSERT_OK(CreateTable("f", {"m"}));
  ASSERT_OK(WaitForFsck(10000));
  for (const std::string r : {"a", "z"}) ASSERT_OK(WriteCell("f", r, "v-" + r));
  std::vector<TabletInfo> tablets;
  ASSERT_OK(admin_->ListTablets("f", &tablets));
  ASSERT_EQ(2u, tablets.size());
  const meta::TabletMeta left = tablets[0].meta, right = tablets[1].meta;
  std::string out;
  EXPECT_EQ(0, Kdicli("fsck", &out)) << out;

  // A gap: the right tablet starts at "p" instead of "m".
  meta::TabletMeta gap = right;
  gap.start_row = "p";
  ASSERT_OK(WriteMetaRow(gap));
  EXPECT_EQ(1, Kdicli("fsck", &out)) << out;
  EXPECT_NE(std::string::npos, out.find("gap")) << out;
  // An overlap: it starts at "c".
  meta::TabletMeta overlap = right;
  overlap.start_row = "c";
  ASSERT_OK(WriteMetaRow(overlap));
  EXPECT_EQ(1, Kdicli("fsck", &out)) << out;
  EXPECT_NE(std::string::npos, out.find("overlap")) << out;
  ASSERT_OK(WriteMetaRow(right));
  ASSERT_OK(WaitForFsck(10000));

  // Repair 1: META says unassigned while live servers could serve it.
  meta::TabletMeta unassigned = left;
  unassigned.state = TabletState::kUnassigned;
  unassigned.server.clear();
  ASSERT_OK(WriteMetaRow(unassigned));
  EXPECT_EQ(1, Kdicli("fsck --repair", &out)) << out;  // problems found (and repaired)
  EXPECT_NE(std::string::npos, out.find("unassigned")) << out;
  EXPECT_NE(std::string::npos, out.find("REPAIRED")) << out;
  ASSERT_OK(WaitForFsck(10000));

  // Repair 2: nobody holds the tablet's lock (unloaded behind the master's back).
  ASSERT_OK(admin_->ListTablets("f", &tablets));
  {
    client::TabletClient tc(ServerClient(tablets[1].meta.server));
    ASSERT_OK(tc.UnloadTablet(client::TabletRef{"f", tablets[1].meta.id}));
  }
  EXPECT_EQ(1, Kdicli("fsck", &out)) << out;
  EXPECT_NE(std::string::npos, out.find("lock")) << out;
  EXPECT_EQ(1, Kdicli("fsck --repair", &out)) << out;
  EXPECT_NE(std::string::npos, out.find("REPAIRED reloaded")) << out;
  ASSERT_OK(WaitForFsck(10000));
  EXPECT_EQ(0, Kdicli("fsck", &out)) << out;
  auto holders = LockHolders("f");
  ASSERT_OK(admin_->ListTablets("f", &tablets));
  for (const auto& t : tablets) EXPECT_EQ(t.meta.server, holders[t.meta.id]) << t.meta.id;
  for (const std::string r : {"a", "z"}) {
    std::vector<Cell> cells;
    ASSERT_OK(ReadRow("f", r, &cells));
    ASSERT_EQ(1u, cells.size()) << r;
    EXPECT_EQ("v-" + r, cells[0].value);
  }
}

TEST_F(MasterdOpsTest, LocalDataServerGetsItsTabletsBack) {
  StartCluster(1, 2, -1, {}, -1, /*shared_root=*/false);
  ASSERT_OK(CreateTable("loc", {"g", "p"}));
  ASSERT_OK(WaitForFsck(10000));
  std::vector<std::string> rows = {"a", "h", "q"};
  for (const auto& r : rows) ASSERT_OK(WriteCell("loc", r, "v-" + r));
  // The victim serves some of loc's tablets but not META (whose data would be
  // local to it too).
  std::string meta_server = MetaServer();
  std::vector<TabletInfo> tablets;
  ASSERT_OK(admin_->ListTablets("loc", &tablets));
  std::string victim_addr;
  for (const auto& t : tablets) {
    if (t.meta.server != meta_server) victim_addr = t.meta.server;
  }
  ASSERT_FALSE(victim_addr.empty()) << "every tablet is on META's server";
  int victim = cluster_->TabletServerIndex(victim_addr);
  std::map<std::string, std::string> before;
  for (const auto& t : tablets) before[t.meta.id] = t.meta.server;

  int64_t t0 = MonoMs();
  ASSERT_OK(cluster_->tablet_server(victim)->Kill());
  int rc = 0;
  std::string out = WaitForKdicli("tablets loc", "offline", 20000, &rc);
  ASSERT_NE(std::string::npos, out.find("offline")) << out;
  printf("local data root: tablets reported offline %lld ms after kill -9\n",
         static_cast<long long>(MonoMs() - t0));
  EXPECT_NE(std::string::npos, out.find("data is local")) << out;
  EXPECT_NE(std::string::npos, out.find(victim_addr)) << out;
  EXPECT_EQ(1, Kdicli("fsck", &out)) << out;
  EXPECT_NE(std::string::npos, out.find("offline")) << out;
  EXPECT_NE(std::string::npos, out.find("data is local")) << out;
  // They stay offline (not moved to the other server) while it is down.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ASSERT_OK(admin_->ListTablets("loc", &tablets));
  for (const auto& t : tablets) {
    if (before[t.meta.id] == victim_addr) {
      EXPECT_EQ(TabletState::kOffline, t.meta.state) << t.meta.DebugString();
    }
  }

  // Back on its old address: the tablets are served by it again.
  t0 = MonoMs();
  ASSERT_OK(cluster_->tablet_server(victim)->Start());
  ASSERT_OK(cluster_->tablet_server(victim)->WaitUntilReady());
  ASSERT_OK(WaitForFsck(20000));
  printf("local data root: tablets served again %lld ms after the restart\n",
         static_cast<long long>(MonoMs() - t0));
  ASSERT_OK(admin_->ListTablets("loc", &tablets));
  for (const auto& t : tablets) EXPECT_EQ(before[t.meta.id], t.meta.server) << t.meta.id;
  for (const auto& r : rows) {
    std::vector<Cell> cells;
    ASSERT_OK(ReadRow("loc", r, &cells));
    ASSERT_EQ(1u, cells.size()) << r;
    EXPECT_EQ("v-" + r, cells[0].value);
  }

  // A quick graceful restart (the master may not even see it gone).
  t0 = MonoMs();
  ASSERT_OK(cluster_->tablet_server(victim)->Restart());
  ASSERT_OK(cluster_->tablet_server(victim)->WaitUntilReady());
  for (const auto& r : rows) {
    std::vector<Cell> cells;
    ASSERT_OK(ReadRow("loc", r, &cells, 30000));
    ASSERT_EQ(1u, cells.size()) << r;
    EXPECT_EQ("v-" + r, cells[0].value);
  }
  printf("local data root: every row readable %lld ms after a graceful restart\n",
         static_cast<long long>(MonoMs() - t0));
  ASSERT_OK(WaitForFsck(20000));
  ASSERT_OK(admin_->ListTablets("loc", &tablets));
  for (const auto& t : tablets) EXPECT_EQ(before[t.meta.id], t.meta.server) << t.meta.id;
}

}  // namespace
}  // namespace kdi::test
