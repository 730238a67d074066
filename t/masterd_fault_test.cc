// A master killed at each step of an assignment, a table creation, a table
// delete, a reassignment after a server failure, a split and a balancer move
// (masterd's --masterd_fault_point makes it exit there, like kill -9): the
// next master (started afterwards, so it must rebuild everything from META and
// lockd) converges: fsck passes and no synced write is lost.
//
// Three programs share this file so that each stays well under 90 s (one
// cluster per fault point): t/masterd_fault_test (assignment, create, delete),
// t/masterd_split_fault_test (KDI_SPLIT_FAULTS: split steps and the
// reassignment after a server failure), t/masterd_move_fault_test
// (KDI_MOVE_FAULTS: the steps of a balancer move, and the META bootstrap).
#include <cstdio>

#include "t/masterd_cluster_fixture.h"

namespace kdi::test {
namespace {

class MasterdFaultTest : public MasterdClusterTest,
                         public ::testing::WithParamInterface<const char*> {
 protected:
  // Starts master 0 armed with the fault point, master 1 not yet.
  void StartArmed(const std::string& point) {
    if (point.rfind("move-", 0) == 0) {
      // Only tabletd 0 at first; the balancer moves tablets once 1 starts.
      StartCluster(2, 2, 1,
                   {{0,
                     {"--masterd_fault_point=" + point, "--masterd_balance=true",
                      "--masterd_balance_interval_ms=500"}}},
                   /*start_tservers=*/1);
    } else {
      StartCluster(2, 2, 1, {{0, {"--masterd_fault_point=" + point}}});
    }
  }
  // Waits for master 0 to exit at its fault point, then starts master 1 and
  // waits until it has converged (fsck clean).
  void FailOver() {
    ASSERT_OK(cluster_->master(0)->WaitForExit(20000));
    EXPECT_EQ(86, cluster_->master(0)->last_exit_code()) << "exit code of the fault point";
    int64_t t0 = MonoMs();
    ASSERT_OK(cluster_->master(1)->Start());
    ASSERT_OK(cluster_->master(1)->WaitUntilReady());
    meta::FsckReply r;
    Status s = WaitForFsck(30000, &r);
    ASSERT_OK(s);
    printf("fault point %s: the next master converged %lld ms after it started\n", GetParam(),
           static_cast<long long>(MonoMs() - t0));
  }
};

TEST_P(MasterdFaultTest, NextMasterConverges) {
  const std::string point = GetParam();
  StartArmed(point);
  bool split = point.rfind("split-", 0) == 0;
  bool del = point == "delete-after-unload";
  bool reassign = point == "reassign-after-unassign";
  bool move = point.rfind("move-", 0) == 0;
  std::vector<std::string> rows = {"a", "f", "k", "p", "u", "z"};
  std::vector<std::string> splits;  // of the table the checks expect
  if (split || del || reassign) {
    // Set up a table before the fault can trigger.
    ASSERT_OK(CreateTable("t", {}));
    ASSERT_OK(WaitForFsck(10000));
    for (const auto& r : rows) ASSERT_OK(WriteCell("t", r, "v-" + r));
    if (split) splits = {"m"};
  } else if (move) {
    splits = {"e", "j", "o"};
    ASSERT_OK(CreateTable("t", splits));
    ASSERT_OK(WaitForFsck(10000));
    for (const auto& r : rows) ASSERT_OK(WriteCell("t", r, "v-" + r));
  } else {
    splits = {"m"};
  }
  if (split) {
    std::vector<TabletInfo> tablets;
    ASSERT_OK(admin_->ListTablets("t", &tablets));
    ASSERT_EQ(1u, tablets.size());
    client::TabletClient::Options to;
    to.address = tablets[0].meta.server;
    to.tls = server_tls_;
    client::TabletClient tc(to);
    client::SplitTabletRequest req;
    req.tablet = client::TabletRef{"t", tablets[0].meta.id};
    req.split_row = "m";
    client::SplitInfo info;
    ASSERT_OK(tc.SplitTablet(req, &info));  // the tabletd then reports it to the master
  } else if (del) {
    EXPECT_FALSE(admin_->DeleteTable("t").ok());  // the master dies in the middle
  } else if (reassign) {
    // Kill the server of t's tablet: the master marks it unassigned and dies.
    std::vector<TabletInfo> tablets;
    ASSERT_OK(admin_->ListTablets("t", &tablets));
    ASSERT_EQ(1u, tablets.size());
    int victim = cluster_->TabletServerIndex(tablets[0].meta.server);
    ASSERT_GE(victim, 0);
    ASSERT_NE(MetaServer(), tablets[0].meta.server) << "META and t share a server";
    ASSERT_OK(cluster_->tablet_server(victim)->Kill());
  } else if (move) {
    // A second server: the balancer starts moving t's tablets to it.
    ASSERT_OK(cluster_->tablet_server(1)->Start());
    ASSERT_OK(cluster_->tablet_server(1)->WaitUntilReady());
  } else {
    EXPECT_FALSE(CreateTable("t", {"m"}).ok());  // the master dies in the middle
  }
  FailOver();
  if (HasFatalFailure()) return;

  std::vector<std::string> names;
  ASSERT_OK(admin_->ListTables(&names));
  if (point == "create-after-rows" || del) {
    // The create is undone / the delete is finished.
    EXPECT_TRUE(names.empty());
    ASSERT_OK(CreateTable("t", {"m"}));
    ASSERT_OK(WaitForFsck(10000));
    return;
  }
  ASSERT_EQ(std::vector<std::string>{"t"}, names);
  std::vector<TabletInfo> tablets;
  ASSERT_OK(admin_->ListTablets("t", &tablets));
  ASSERT_EQ(splits.size() + 1, tablets.size());
  for (size_t i = 0; i < splits.size(); i++) {
    EXPECT_EQ(splits[i], tablets[i].meta.end_row);
    EXPECT_EQ(splits[i], tablets[i + 1].meta.start_row);
  }
  auto holders = LockHolders("t");
  for (const auto& t : tablets) {
    EXPECT_EQ(TabletState::kAssigned, t.meta.state);
    EXPECT_EQ(t.meta.server, holders[t.meta.id]) << "lockd disagrees about " << t.meta.id;
  }
  if (move) {
    // The interrupted move ended with the tablet on one server: the balancer
    // had moved it to tabletd 1 (or the next master put it back on 0).
    auto per_server = TabletsPerServer("t");
    int total = 0;
    for (const auto& [srv, n] : per_server) total += n;
    EXPECT_EQ(4, total);
  }
  if (!split && !reassign && !move) {
    for (const auto& r : rows) ASSERT_OK(WriteCell("t", r, "v-" + r));
  }
  for (const auto& r : rows) {
    std::vector<Cell> cells;
    ASSERT_OK(ReadRow("t", r, &cells));
    ASSERT_EQ(1u, cells.size()) << r;
    EXPECT_EQ("v-" + r, cells[0].value);
  }
}

#if defined(KDI_SPLIT_FAULTS)
INSTANTIATE_TEST_SUITE_P(SplitFaultPoints, MasterdFaultTest,
                         ::testing::Values("split-after-intent", "split-after-left",
                                           "split-after-meta", "reassign-after-unassign"));
#elif defined(KDI_MOVE_FAULTS)
INSTANTIATE_TEST_SUITE_P(MoveFaultPoints, MasterdFaultTest,
                         ::testing::Values("move-after-meta-assigning", "move-after-migrate"));

// The first master of an empty cluster dies after loading META on a tabletd,
// before writing /kdi/root: the next one adopts that server (the holder of
// META's tablet lock) instead of creating META a second time.
TEST_F(MasterdClusterTest, BootstrapFaultNextMasterAdoptsMeta) {
  StartCluster(2, 2, /*start_masters=*/0,
               {{0, {"--masterd_fault_point=bootstrap-after-load"}}});
  ASSERT_OK(cluster_->master(0)->Start());
  ASSERT_OK(cluster_->master(0)->WaitForExit(20000));
  EXPECT_EQ(86, cluster_->master(0)->last_exit_code()) << "exit code of the fault point";
  EXPECT_EQ("", MetaServer()) << "/kdi/root written before the fault point";
  std::string holder;
  {
    std::unique_ptr<lock::LockHandle> h;
    ASSERT_OK(session_->Open(meta::TabletLockPath(meta::kMetaTableName, meta::kMetaTabletId),
                             lock::kRead, 0, &h));
    ASSERT_OK(h->GetContents(&holder));
  }
  ASSERT_FALSE(holder.empty()) << "META was not loaded before the fault point";
  int64_t t0 = MonoMs();
  ASSERT_OK(cluster_->master(1)->Start());
  ASSERT_OK(cluster_->master(1)->WaitUntilReady());
  ASSERT_OK(WaitForFsck(30000));
  printf("fault point bootstrap-after-load: the next master converged %lld ms after it "
         "started\n", static_cast<long long>(MonoMs() - t0));
  EXPECT_EQ(holder, MetaServer()) << "META should stay where the first master loaded it";
  ASSERT_OK(CreateTable("t", {"m"}));
  ASSERT_OK(WaitForFsck(10000));
  for (const std::string r : {"a", "z"}) ASSERT_OK(WriteCell("t", r, "v-" + r));
  for (const std::string r : {"a", "z"}) {
    std::vector<Cell> cells;
    ASSERT_OK(ReadRow("t", r, &cells));
    ASSERT_EQ(1u, cells.size()) << r;
  }
}
#else
INSTANTIATE_TEST_SUITE_P(FaultPoints, MasterdFaultTest,
                         ::testing::Values("after-meta-assigning", "after-load-before-meta",
                                           "create-after-rows", "delete-after-unload"));
#endif

}  // namespace
}  // namespace kdi::test
