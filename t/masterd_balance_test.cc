// The balancer against real daemons (t/mini_cluster, shared data root): a
// table's nine tablets all sit on one tabletd, then two more tabletds start.
//  - switched off (the default, master 0): nothing moves for several seconds;
//  - switched on (--masterd_balance, master 1 takes over): the tablets spread
//    evenly (3/3/3, count-based), one move per --masterd_balance_interval_ms
//    at most (the gaps between moves are printed and checked), fsck passes,
//    lockd's tablet locks agree with META and every synced write is readable.
#include <algorithm>
#include <cstdio>

#include "t/masterd_cluster_fixture.h"

namespace kdi::test {
namespace {

constexpr int64_t kBalanceIntervalMs = 1000;

TEST_F(MasterdClusterTest, BalancerSpreadsTabletsRateLimitedAndCanBeOff) {
  StartCluster(2, 3, /*start_masters=*/1,
               {{1,
                 {"--masterd_balance=true",
                  "--masterd_balance_interval_ms=" + std::to_string(kBalanceIntervalMs)}}},
               /*start_tservers=*/1);
  std::vector<std::string> splits = {"b", "c", "d", "e", "f", "g", "h", "i"};
  ASSERT_OK(CreateTable("bal", splits));
  ASSERT_OK(WaitForFsck(10000));
  std::vector<std::string> rows = {"a1", "b1", "c1", "d1", "e1", "f1", "g1", "h1", "i1"};
  for (const auto& r : rows) ASSERT_OK(WriteCell("bal", r, "v-" + r));
  const std::string first = cluster_->tablet_server(0)->address();
  EXPECT_EQ((std::map<std::string, int>{{first, 9}}), TabletsPerServer("bal"));

  for (int i = 1; i < 3; i++) ASSERT_OK(cluster_->tablet_server(i)->Start());
  for (int i = 1; i < 3; i++) ASSERT_OK(cluster_->tablet_server(i)->WaitUntilReady());
  ASSERT_OK(cluster_->WaitForTabletServers(3));

  // Off: nothing moves.
  int64_t until = MonoMs() + 4 * kBalanceIntervalMs;
  while (MonoMs() < until) {
    ASSERT_EQ((std::map<std::string, int>{{first, 9}}), TabletsPerServer("bal"))
        << "a tablet moved with the balancer off";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  // Where every tablet is before the balancer runs (all on `first`).
  std::map<std::string, std::string> where;  // tablet id -> server
  std::vector<TabletInfo> tablets;
  ASSERT_OK(admin_->ListTablets("bal", &tablets));
  for (const auto& t : tablets) where[t.meta.id] = t.meta.server;

  // On: master 1 (balancing) takes over from master 0.
  ASSERT_OK(cluster_->master(1)->Start());
  ASSERT_OK(cluster_->master(1)->WaitUntilReady());
  ASSERT_OK(cluster_->master(0)->Stop());
  int active = -1;
  ASSERT_OK(cluster_->WaitForActiveMaster(&active));
  ASSERT_EQ(1, active);

  // Watch META: when does each tablet change server? (The first move may
  // come before the first look; its time is then the first look's.)
  std::vector<int64_t> move_times;
  int64_t t0 = MonoMs();
  bool even = false;
  while (MonoMs() - t0 < 60000) {
    std::vector<TabletInfo> now;
    if (admin_->ListTablets("bal", &now).ok()) {
      std::map<std::string, int> per_server;
      bool settled = true;
      for (const auto& t : now) {
        if (t.meta.state != TabletState::kAssigned) {
          settled = false;
          continue;
        }
        per_server[t.meta.server]++;
        if (where[t.meta.id] != t.meta.server) {
          move_times.push_back(MonoMs());
          where[t.meta.id] = t.meta.server;
        }
      }
      if (settled && per_server.size() == 3) {
        int lo = 100, hi = 0;
        for (const auto& [s, n] : per_server) {
          lo = std::min(lo, n);
          hi = std::max(hi, n);
        }
        if (hi - lo <= 1) {
          even = true;
          break;
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(even) << "tablets did not spread evenly within 60 s";
  printf("balancer: %zu moves in %lld ms (interval %lld ms); gaps:", move_times.size(),
         static_cast<long long>(MonoMs() - t0), static_cast<long long>(kBalanceIntervalMs));
  for (size_t i = 1; i < move_times.size(); i++) {
    printf(" %lld", static_cast<long long>(move_times[i] - move_times[i - 1]));
  }
  printf("\n");
  EXPECT_EQ(6u, move_times.size()) << "9 tablets 9/0/0 -> 3/3/3 takes six moves";
  for (size_t i = 2; i < move_times.size(); i++) {
    // One move per interval; 300 ms of slack for the 50 ms polling of META.
    EXPECT_GE(move_times[i] - move_times[i - 1], kBalanceIntervalMs - 300)
        << "moves " << i - 1 << " and " << i << " too close: not rate-limited";
  }
  auto per_server = TabletsPerServer("bal");
  for (const auto& [s, n] : per_server) EXPECT_EQ(3, n) << s;

  ASSERT_OK(WaitForFsck(10000));
  ASSERT_OK(admin_->ListTablets("bal", &tablets));
  auto holders = LockHolders("bal");
  for (const auto& t : tablets) EXPECT_EQ(t.meta.server, holders[t.meta.id]) << t.meta.id;
  for (const auto& r : rows) {
    std::vector<Cell> cells;
    ASSERT_OK(ReadRow("bal", r, &cells));
    ASSERT_EQ(1u, cells.size()) << r;
    EXPECT_EQ("v-" + r, cells[0].value);
  }
}

}  // namespace
}  // namespace kdi::test
