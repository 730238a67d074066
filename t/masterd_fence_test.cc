// Fencing of a master that lost /kdi/master (t/mini_cluster, shared data root,
// lease 4 s): the active master is stopped (SIGSTOP) past its lease, the
// standby takes over (the time is printed), then the old master continues
// (SIGCONT). It must not write META nor order any tabletd afterwards: META's
// cells (row, column, timestamp) are the same before and after it resumed,
// fsck passes, every tablet's lock is held by the server META names, and the
// old master is a standby.
//
// Two ways to stop it: from the test (SIGSTOP at a random moment, during which
// a tabletd is killed so that the old master's view is stale), and at a
// chosen step (fault point "after-meta-assigning:stop": the master stops
// itself between recording "assigning@S" and sending LoadTablet, the worst
// moment, and continues there after SIGCONT).
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>
#include <tuple>

#include "t/masterd_cluster_fixture.h"

namespace kdi::test {
namespace {

constexpr int64_t kLeaseMs = 4000;

class MasterdFenceTest : public MasterdClusterTest {
 protected:
  // Every cell of META as (row, column, timestamp, value).
  Status MetaCells(std::vector<std::tuple<std::string, std::string, int64_t, std::string>>* out) {
    client::TabletClient::Options to;
    to.address = MetaServer();
    to.tls = admin_tls_;
    client::TabletClient tc(to);
    auto stream = tc.OpenScan(client::TabletRef{meta::kMetaTableName, meta::kMetaTabletId},
                              ScanPredicate());
    out->clear();
    Cell c;
    while (stream->Next(&c)) out->emplace_back(c.row, c.column, c.timestamp, c.value);
    return stream->status();
  }

  // Polls the standby's MasterStatus until it is active; returns the time.
  int64_t WaitActive(int index, int64_t timeout_ms) {
    int64_t deadline = MonoMs() + timeout_ms;
    while (MonoMs() < deadline) {
      meta::MasterStatusInfo st;
      meta::MetaClient::Options mo;
      mo.master_address = cluster_->master(index)->address();
      mo.tls = admin_tls_;
      mo.timeout_ms = 2000;
      meta::MetaClient direct(mo);
      if (direct.MasterStatus(&st).ok() && st.active) return MonoMs();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

  bool IsActive(int index) {
    meta::MasterStatusInfo st;
    meta::MetaClient::Options mo;
    mo.master_address = cluster_->master(index)->address();
    mo.tls = admin_tls_;
    mo.timeout_ms = 2000;
    meta::MetaClient direct(mo);
    return direct.MasterStatus(&st).ok() && st.active;
  }

  // True when the process is stopped (state T in /proc/PID/stat).
  static bool IsStopped(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t p = stat.rfind(')');
    return p != std::string::npos && p + 2 < stat.size() && stat[p + 2] == 'T';
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  // The checks after the old master resumed: META unchanged, fsck clean,
  // lockd agrees with META for every tablet of `table`, old master standby.
  void CheckOldMasterQuiet(int old_index, int new_index, const std::string& table) {
    std::vector<std::tuple<std::string, std::string, int64_t, std::string>> before, after;
    ASSERT_OK(MetaCells(&before));
    ASSERT_FALSE(before.empty());
    ASSERT_OK(cluster_->master(old_index)->Resume());
    // Give the old master time to act on its stale view (its control loop
    // runs every 100 ms) and to notice that its term is over.
    std::this_thread::sleep_for(std::chrono::milliseconds(3000));
    ASSERT_OK(MetaCells(&after));
    EXPECT_EQ(before.size(), after.size());
    for (size_t i = 0; i < std::min(before.size(), after.size()); i++) {
      EXPECT_EQ(before[i], after[i]) << "META cell " << i << " (row "
                                     << meta::EscapeBytes(std::get<0>(before[i])) << ", "
                                     << std::get<1>(before[i])
                                     << ") changed after the old master resumed";
    }
    EXPECT_TRUE(cluster_->master(old_index)->IsRunning());
    EXPECT_FALSE(IsActive(old_index)) << "the old master acts again";
    int active = -1;
    ASSERT_OK(cluster_->ActiveMaster(&active));
    EXPECT_EQ(new_index, active);
    ASSERT_OK(WaitForFsck(10000));
    std::vector<TabletInfo> tablets;
    ASSERT_OK(admin_->ListTablets(table, &tablets));
    auto holders = LockHolders(table);
    for (const auto& t : tablets) {
      EXPECT_EQ(TabletState::kAssigned, t.meta.state) << t.meta.DebugString();
      EXPECT_EQ(t.meta.server, holders[t.meta.id]) << "lock of " << t.meta.id;
    }
  }
};

TEST_F(MasterdFenceTest, StoppedMasterPastItsLeaseDoesNotWriteAfterResume) {
  StartCluster(2, 3);
  ASSERT_OK(CreateTable("web", {"g", "p"}));
  ASSERT_OK(WaitForFsck(10000));
  std::vector<std::string> rows = {"a", "h", "q", "z"};
  for (const auto& r : rows) ASSERT_OK(WriteCell("web", r, "v-" + r));
  int old_index = -1;
  ASSERT_OK(cluster_->ActiveMaster(&old_index));
  int new_index = 1 - old_index;

  // While the old master sleeps, a tabletd dies: the new master moves its
  // tablets, the old master's view (tablets on the dead server) goes stale.
  // (Ask the master before it is stopped: a stopped master's calls time out.)
  std::vector<TabletInfo> tablets;
  ASSERT_OK(admin_->ListTablets("web", &tablets));
  std::string victim_addr;
  for (const auto& t : tablets) {
    if (t.meta.server != MetaServer()) victim_addr = t.meta.server;
  }
  ASSERT_FALSE(victim_addr.empty());
  int64_t t0 = MonoMs();
  ASSERT_OK(cluster_->master(old_index)->Pause());
  ASSERT_OK(cluster_->tablet_server(cluster_->TabletServerIndex(victim_addr))->Kill());
  int64_t active_at = WaitActive(new_index, 30000);
  ASSERT_GT(active_at, 0) << "the standby never took over";
  printf("SIGSTOP of the active master: standby active after %lld ms (lease %lld ms)\n",
         static_cast<long long>(active_at - t0), static_cast<long long>(kLeaseMs));
  EXPECT_LE(active_at - t0, kLeaseMs + 3000);
  ASSERT_OK(WaitForFsck(20000));
  // Stay stopped well past the lease, as a long pause would.
  while (MonoMs() - t0 < kLeaseMs + 3000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CheckOldMasterQuiet(old_index, new_index, "web");
  if (HasFatalFailure()) return;
  for (const auto& r : rows) {
    std::vector<Cell> cells;
    ASSERT_OK(ReadRow("web", r, &cells));
    ASSERT_EQ(1u, cells.size()) << r;
    EXPECT_EQ("v-" + r, cells[0].value);
  }
  // The cluster still works under the new master.
  ASSERT_OK(CreateTable("web2", {"m"}));
  ASSERT_OK(WaitForFsck(10000));
}

TEST_F(MasterdFenceTest, MasterStoppedBetweenAssigningAndLoadIsFenced) {
  // Master 0 (active) stops itself in the middle of an assignment.
  StartCluster(2, 2, 1, {{0, {"--masterd_fault_point=after-meta-assigning:stop"}}});
  ASSERT_OK(cluster_->master(1)->Start());
  ASSERT_OK(cluster_->master(1)->WaitUntilReady());
  pid_t old_pid = cluster_->master(0)->pid();
  // The create runs on master 0 until it stops; its reply does not matter.
  std::thread creator([this] {
    meta::MetaClient::Options mo;
    mo.master_address = cluster_->master(0)->address();
    mo.tls = admin_tls_;
    mo.timeout_ms = 30000;
    meta::MetaClient direct(mo);
    meta::CreateTableRequest req;
    req.name = "t";
    (void)Schema::Parse("cf:versions=3", &req.schema);
    req.split_rows = {"m"};
    (void)direct.CreateTable(req);
  });
  int64_t deadline = MonoMs() + 20000;
  while (!IsStopped(old_pid) && MonoMs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(IsStopped(old_pid)) << "master 0 never reached its fault point";
  int64_t t0 = MonoMs();
  int64_t active_at = WaitActive(1, 30000);
  if (active_at < 0) {
    (void)cluster_->master(0)->Resume();
    creator.join();
    FAIL() << "the standby never took over";
  }
  printf("master stopped at after-meta-assigning: standby active after %lld ms\n",
         static_cast<long long>(active_at - t0));
  // The new master finishes what the old one started.
  Status fs = WaitForFsck(20000);
  if (!fs.ok()) {
    (void)cluster_->master(0)->Resume();
    creator.join();
    ASSERT_OK(fs);
  }
  while (MonoMs() - t0 < kLeaseMs + 2000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CheckOldMasterQuiet(0, 1, "t");
  creator.join();
  if (HasFatalFailure()) return;
  // The old master said why it stopped acting, and assigned nothing after it
  // continued.
  std::string log = ReadFile(cluster_->master(0)->log_path());
  size_t cont = log.find("fault point after-meta-assigning: continued");
  ASSERT_NE(std::string::npos, cont) << "no 'continued' line in the old master's log";
  std::string tail = log.substr(cont);
  EXPECT_NE(std::string::npos, tail.find("fenced")) << tail.substr(0, 2000);
  EXPECT_EQ(std::string::npos, tail.find("] assigned ")) << tail.substr(0, 2000);
  EXPECT_EQ(std::string::npos, tail.find(": assigned ")) << tail.substr(0, 2000);
  ASSERT_OK(WriteCell("t", "a", "v"));
  std::vector<Cell> cells;
  ASSERT_OK(ReadRow("t", "a", &cells));
  EXPECT_EQ(1u, cells.size());
}

}  // namespace
}  // namespace kdi::test
