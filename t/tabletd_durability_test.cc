// Durability of tabletd under kill -9 (issue 4 acceptance, DESIGN §9.1).
//
// A writer thread applies batches to one tablet through the table interface
// and syncs every few batches, recording which batches were acknowledged
// (Apply returned OK; and, separately, covered by a Sync that returned OK);
// a second writer makes each batch a synced write of one RPC (ApplyAndSync).
// Meanwhile the main thread kills the tabletd process with SIGKILL at random
// moments, at least 20 times, restarting it and reloading the tablet through
// the admin interface each time (the writer simply retries until the tablet
// is served again). At the end the tablet is scanned and
//   - every cell of every acknowledged batch is present, and
//   - no row is half-applied: each batch writes the same timestamp into all
//     kColumns columns of its row, so every timestamp present in a row must
//     be present in every column of that row.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lib/client/tablet_client.h"
#include "t/mini_cluster.h"
#include "t/tablet_connect.h"
#include "t/test_util.h"

namespace kdi {
namespace {

using client::LoadTabletRequest;
using client::TabletClient;
using client::TabletRef;

constexpr int kColumns = 4;
constexpr int kRows = 40;
constexpr int kRowsPerBatch = 3;
constexpr int kKills = 20;

std::string RowName(int r) {
  char buf[16];
  snprintf(buf, sizeof(buf), "row%03d", r);
  return buf;
}

// Batch b writes rows (b*kRowsPerBatch + i) % kRows, all columns, timestamp b.
std::vector<RowMutation> MakeBatch(int64_t b) {
  std::vector<RowMutation> batch;
  for (int i = 0; i < kRowsPerBatch; i++) {
    RowMutation m(RowName(static_cast<int>((b * kRowsPerBatch + i) % kRows)));
    for (int c = 0; c < kColumns; c++) {
      m.Set("d:c" + std::to_string(c), b, "b" + std::to_string(b));
    }
    batch.push_back(m);
  }
  return batch;
}

TEST(TabletdDurabilityTest, AcknowledgedWritesSurviveKill9) {
  test::MiniClusterOptions o;
  o.num_masters = 0;
  o.num_tablet_servers = 1;
  o.lease_ms = 1500;  // a killed tabletd's locks free up quickly
  o.log_level = "info";
  o.lockd_args = {"--lockd_lock_delay_ms=0"};
  o.tabletd_args = {"--tabletd_register_timeout_ms=30000"};
  test::MiniCluster cluster(o);
  ASSERT_OK(cluster.Start());
  ASSERT_OK(cluster.WaitForTabletServers(1));
  test::ExternalDaemon* tabletd = cluster.tablet_server(0);

  const TabletRef t{"dur", "d0"};
  LoadTabletRequest load;
  load.desc.tablet = t;
  load.desc.dir = "tables/dur/d0";
  load.create_if_missing = true;  // AcceptAny schema
  auto admin = std::make_unique<TabletClient>(
      TabletClient::Options{tabletd->address(), test::ClientTlsContext(cluster.ServerTls()), nullptr, 5000});
  ASSERT_OK(admin->LoadTablet(load));
  load.create_if_missing = false;

  std::mutex mu;
  std::set<int64_t> applied;  // Apply acknowledged
  std::set<int64_t> synced;   // covered by an acknowledged Sync
  std::atomic<bool> stop{false};
  std::atomic<int64_t> errors{0};

  // Writer 1 applies batches and syncs every 5th with a Sync RPC; writer 2
  // (batches from 1,000,000 on, so timestamps differ) makes every write a
  // synced write in one RPC (ApplyWithFlags with the sync flag).
  auto write_loop = [&](int64_t first, bool apply_and_sync) {
    auto c = std::make_unique<TabletClient>(TabletClient::Options{
        tabletd->address(), test::ClientTlsContext(cluster.ClientTls()), nullptr, 3000});
    auto a = std::make_unique<TabletClient>(TabletClient::Options{
        tabletd->address(), test::ClientTlsContext(cluster.ServerTls()), nullptr, 3000});
    std::vector<int64_t> unsynced;
    for (int64_t b = first; !stop.load(); b++) {
      Status s = apply_and_sync ? c->ApplyAndSync(t, MakeBatch(b)) : c->Apply(t, MakeBatch(b));
      if (s.ok()) {
        std::lock_guard<std::mutex> l(mu);
        applied.insert(b);
        if (apply_and_sync) synced.insert(b);
        unsynced.push_back(b);
      }
      if (s.ok() && !apply_and_sync && b % 5 == 0) {
        s = c->Sync(t);
        if (s.ok()) {
          std::lock_guard<std::mutex> l(mu);
          synced.insert(unsynced.begin(), unsynced.end());
          unsynced.clear();
        }
      }
      if (!s.ok()) {
        errors++;
        unsynced.clear();  // not known durable: the Sync did not confirm them
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        // The tabletd may have restarted: (re)load the tablet; errors are fine.
        (void)a->LoadTablet(load);
      }
    }
  };
  std::thread writer([&] { write_loop(1, false); });
  std::thread writer2([&] { write_loop(1000000, true); });

  // Stops and joins the writers however the test ends (a failed ASSERT returns).
  struct JoinGuard {
    std::atomic<bool>* stop;
    std::thread* thread;
    std::thread* thread2;
    ~JoinGuard() {
      stop->store(true);
      if (thread->joinable()) thread->join();
      if (thread2->joinable()) thread2->join();
    }
  } guard{&stop, &writer, &writer2};

  std::mt19937 rng(12345);
  for (int k = 0; k < kKills; k++) {
    // Let the writer make progress on a served tablet, then kill at a random moment.
    size_t before;
    {
      std::lock_guard<std::mutex> l(mu);
      before = applied.size();
    }
    const int64_t wait_deadline = test::MonoMs() + 20000;
    for (;;) {
      {
        std::lock_guard<std::mutex> l(mu);
        if (applied.size() > before) break;
      }
      ASSERT_LT(test::MonoMs(), wait_deadline) << "writer made no progress after restart " << k;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 300));
    ASSERT_OK(tabletd->Kill());
    ASSERT_OK(tabletd->Start());
    ASSERT_OK(tabletd->WaitUntilReady(30000));
  }
  // Last round: let the writer finish a few batches on the final incarnation.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  writer.join();
  writer2.join();

  // Make sure the tablet is served, then read everything.
  const int64_t deadline = test::MonoMs() + 20000;
  Status s;
  while ((s = admin->LoadTablet(load)).ok() == false && test::MonoMs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_OK(s);
  std::map<std::string, std::map<std::string, std::set<int64_t>>> cells;  // row -> col -> ts
  auto stream = admin->OpenScan(t, ScanPredicate(), 1000);
  size_t n = 0;
  for (Cell c; stream->Next(&c); n++) {
    ASSERT_EQ(c.value, "b" + std::to_string(c.timestamp));
    cells[c.row][c.column].insert(c.timestamp);
  }
  ASSERT_OK(stream->status());

  std::lock_guard<std::mutex> l(mu);
  std::printf("kills: %d, batches acknowledged: %zu (synced: %zu), write errors: %lld, cells: %zu\n",
              kKills, applied.size(), synced.size(), static_cast<long long>(errors.load()), n);
  ASSERT_GT(synced.size(), 0u);
  for (int64_t b : applied) {
    for (const RowMutation& m : MakeBatch(b)) {
      for (const Mutation& mu_ : m.mutations()) {
        ASSERT_EQ(cells[m.row()][mu_.column].count(b), 1u)
            << "acknowledged batch " << b << (synced.count(b) ? " (synced)" : "")
            << " lost cell " << m.row() << " " << mu_.column;
      }
    }
  }
  // No half-applied row.
  for (const auto& [row, cols] : cells) {
    std::set<int64_t> all;
    for (const auto& [col, ts] : cols) all.insert(ts.begin(), ts.end());
    for (int c = 0; c < kColumns; c++) {
      auto it = cols.find("d:c" + std::to_string(c));
      ASSERT_TRUE(it != cols.end()) << row << " lacks column " << c;
      ASSERT_EQ(it->second, all) << "row " << row << " is half-applied in column " << c;
    }
  }
}

}  // namespace
}  // namespace kdi
