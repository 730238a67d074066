// Splits under load: a table starts with one tablet on 3 tabletds with a 1 MiB
// split threshold; a writer keeps writing synced batches (re-reading META when
// a tablet moves or splits) until the table has >= 8 tablets. Afterwards fsck
// passes and reading every row back returns exactly the cells written.
// (Observed: the tabletds split tablets that hold little data — their size
// estimate seems to include the Berkeley DB environment — so the table grows
// far past 8 tablets within a few batches; the master records every split.)
#include <cstdio>

#include "t/masterd_cluster_fixture.h"

namespace kdi::test {
namespace {

class MasterdSplitTest : public MasterdClusterTest {};

TEST_F(MasterdSplitTest, SplitsUnderLoadKeepEveryCell) {
  StartCluster(1, 3, -1, {});
  // Restart the tablet servers with a small split threshold.
  for (int i = 0; i < 3; i++) {
    cluster_->tablet_server(i)->SetExtraArgs(
        {"--tabletd_split_size_mb=1", "--tabletd_split_check_interval_ms=100"});
    ASSERT_OK(cluster_->tablet_server(i)->Restart());
  }
  ASSERT_OK(cluster_->WaitForTabletServers(3));
  ASSERT_OK(WaitForFsck(30000));
  ASSERT_OK(CreateTable("grow", {}));
  ASSERT_OK(WaitForFsck(10000));

  const std::string value(16 << 10, 'v');
  std::vector<std::string> written;
  int64_t deadline = MonoMs() + 50000;
  size_t tablets_now = 1;
  int batch = 0;
  while ((tablets_now < 8 || batch < 3) && MonoMs() < deadline) {
    std::vector<TabletInfo> tablets;
    ASSERT_OK(admin_->ListTablets("grow", &tablets));
    tablets_now = tablets.size();
    std::vector<meta::TabletMeta> metas;
    for (auto& t : tablets) metas.push_back(t.meta);
    // 32 rows spread over the key space, grouped by tablet.
    std::map<int, std::vector<RowMutation>> groups;
    std::vector<std::string> rows;
    for (int i = 0; i < 32; i++) {
      char row[32];
      snprintf(row, sizeof(row), "%02d-%05d", (i * 7 + batch) % 100, batch);
      RowMutation m(row);
      m.Set("cf:v", 1, value + row);
      groups[meta::FindTabletForRow(metas, row)].push_back(m);
      rows.push_back(row);
    }
    bool ok = true;
    for (auto& [i, ms] : groups) {
      ASSERT_GE(i, 0);
      client::TabletClient::Options to;
      to.address = metas[i].server;
      to.tls = admin_tls_;
      client::TabletClient tc(to);
      client::TabletRef ref{"grow", metas[i].id};
      Status s = tc.Apply(ref, ms);
      if (s.ok()) s = tc.Sync(ref);
      if (!s.ok()) {
        ok = false;  // moved, split or frozen: look META up again and redo the batch
        break;
      }
    }
    if (!ok) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;  // the same batch again (re-writing a cell is idempotent)
    }
    written.insert(written.end(), rows.begin(), rows.end());
    batch++;
  }
  printf("splits under load: %zu tablets after %d synced batches (%zu rows)\n", tablets_now,
         batch, written.size());
  ASSERT_GE(tablets_now, 8u);
  ASSERT_OK(WaitForFsck(20000));
  std::set<std::string> unique(written.begin(), written.end());
  for (const auto& r : unique) {
    std::vector<Cell> cells;
    ASSERT_OK(ReadRow("grow", r, &cells));
    ASSERT_EQ(1u, cells.size()) << r;
    EXPECT_EQ(value + r, cells[0].value) << r;
  }
}

}  // namespace
}  // namespace kdi::test
