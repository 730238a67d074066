// Bad input and corruption through a running tabletd (the real lockd and one
// real tabletd on loopback, t/mini_cluster.h), for the "Bad input" and
// "Corruption" tables of doc/robustness.md.
//
// What is checked:
// - CorruptTabletFileIsCorruptionAndOtherTabletsKeepServing: bytes flipped in
//   the cells.db of one unloaded tablet; loading it again or scanning it gives a
//   Corruption error naming the tablet, no cell returned before the error is
//   wrong, writes to it are refused, and the other tablet of the same tabletd
//   keeps serving reads and writes.
// - ClientClockJumpsAreStoredAsGiven: client timestamps far in the future and
//   past (INT64_MIN .. INT64_MAX) are stored and returned exactly, in
//   timestamp order; a family TTL is measured against the server's clock (a
//   cell stamped long ago is expired at once, one stamped in the future is kept);
//   with versions=1 a write stamped in the future hides later writes stamped
//   "now" (newest timestamp wins, not the newest write).
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kdi/schema.h"
#include "lib/client/admin_protocol.h"
#include "lib/client/tablet_client.h"
#include "t/mini_cluster.h"
#include "t/tablet_connect.h"
#include "t/test_util.h"

namespace kdi {
namespace {

using client::LoadTabletRequest;
using client::TabletClient;
using client::TabletRef;
using test::MiniCluster;
using test::MiniClusterOptions;

LoadTabletRequest Load(const std::string& table, const std::string& id, const std::string& start,
                       const std::string& end, const std::string& schema) {
  LoadTabletRequest r;
  r.desc.tablet = {table, id};
  r.desc.start_row = start;
  r.desc.end_row = end;
  r.desc.dir = "tables/" + table + "/" + id;
  EXPECT_OK(Schema::Parse(schema, &r.schema));
  r.create_if_missing = true;
  return r;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class RobustnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MiniClusterOptions o;
    o.num_masters = 0;
    o.num_tablet_servers = 1;
    o.lease_ms = 5000;  // generous: the test machine may be loaded
    o.log_level = "info";
    o.lockd_args = {"--lockd_lock_delay_ms=0"};
    o.tabletd_args = {"--shared-data"};
    cluster_ = std::make_unique<MiniCluster>(o);
    ASSERT_OK(cluster_->Start());
    ASSERT_OK(cluster_->WaitForTabletServers(1));
    const std::string& addr = cluster_->tablet_server(0)->address();
    admin_ = test::ConnectTabletd(addr, cluster_->ServerTls(), 15000);
    client_ = test::ConnectTabletd(addr, cluster_->ClientTls(), 15000);
  }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->DumpLogs(40);
  }

  // Scans a tablet; returns the cells read before the stream ended and its status.
  Status Scan(const TabletRef& t, std::vector<Cell>* out, const ScanPredicate& p = {}) {
    auto stream = client_->OpenScan(t, p, 500);
    for (Cell c; stream->Next(&c);) out->push_back(c);
    return stream->status();
  }

  std::unique_ptr<MiniCluster> cluster_;
  std::unique_ptr<TabletClient> admin_;
  std::unique_ptr<TabletClient> client_;
};

TEST_F(RobustnessTest, CorruptTabletFileIsCorruptionAndOtherTabletsKeepServing) {
  const TabletRef good{"c", "good"}, bad{"c", "bad"};
  ASSERT_OK(admin_->LoadTablet(Load("c", "good", "", "m", "f")));
  ASSERT_OK(admin_->LoadTablet(Load("c", "bad", "m", "", "f")));
  std::map<std::string, std::string> written;
  for (const TabletRef* t : {&good, &bad}) {
    std::vector<RowMutation> batch;
    for (int i = 0; i < 3000; i++) {
      std::string row = (t == &good ? "a" : "q") + std::to_string(100000 + i);
      std::string value = std::string(50, 'v') + std::to_string(i);
      batch.push_back(RowMutation(row).Set("f:a", 1, value));
      written[row] = value;
    }
    ASSERT_OK(client_->Apply(*t, batch));
    ASSERT_OK(client_->Sync(*t));
  }
  // Close the tablet, damage its B-tree pages on disk, load it again.
  ASSERT_OK(admin_->UnloadTablet(bad));
  std::string db = cluster_->tablet_data_root(0) + "/tables/c/bad/cells.db";
  int fd = open(db.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << db;
  off_t size = lseek(fd, 0, SEEK_END);
  ASSERT_GT(size, 8 * 4096);
  for (off_t off = 2 * 4096 + 512; off < size; off += 4096) {
    char junk[64];
    memset(junk, 0x5a, sizeof(junk));
    ASSERT_EQ(pwrite(fd, junk, sizeof(junk), off), static_cast<ssize_t>(sizeof(junk)));
  }
  close(fd);

  Status s = admin_->LoadTablet(Load("c", "bad", "m", "", "f"));
  std::vector<Cell> seen;
  std::printf("load of the damaged tablet: %s\n", s.ToString().c_str());
  if (s.ok()) s = Scan(bad, &seen);
  std::printf("scan of the damaged tablet: %s after %zu cells\n", s.ToString().c_str(),
              seen.size());
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("c/bad"), std::string::npos) << s.ToString();
  // Never wrong data: whatever came before the error was written as such.
  for (const Cell& c : seen) {
    auto it = written.find(c.row);
    ASSERT_NE(it, written.end()) << c.DebugString();
    EXPECT_EQ(c.value, it->second) << c.DebugString();
  }
  EXPECT_LT(seen.size(), 3000u);
  // Asking again gives the error again (not a hang, not an empty success).
  seen.clear();
  Status again = Scan(bad, &seen);
  std::printf("second scan: %s\n", again.ToString().c_str());
  EXPECT_FALSE(again.ok());
  EXPECT_TRUE(again.IsCorruption() || again.IsNotServing()) << again.ToString();
  // Nor does it take writes it could not keep.
  Status w = client_->Apply(bad, {RowMutation("q0").Set("f:a", 2, "lost")});
  if (w.ok()) w = client_->Sync(bad);
  std::printf("write to the damaged tablet: %s\n", w.ToString().c_str());
  EXPECT_FALSE(w.ok());

  // The rest keeps serving: every cell of the good tablet, and new writes.
  std::vector<Cell> cells;
  ASSERT_OK(Scan(good, &cells));
  ASSERT_EQ(cells.size(), 3000u);
  for (const Cell& c : cells) EXPECT_EQ(c.value, written[c.row]);
  ASSERT_OK(client_->Apply(good, {RowMutation("b").Set("f:a", 2, "after")}));
  ASSERT_OK(client_->Sync(good));
  ASSERT_OK(admin_->Ping());
}

TEST_F(RobustnessTest, ClientClockJumpsAreStoredAsGiven) {
  const TabletRef t{"clock", "t"};
  ASSERT_OK(admin_->LoadTablet(Load("clock", "t", "", "", "any ttl:ttl=3600 one:versions=1")));
  const int64_t now = NowMicros();
  const int64_t year = int64_t{365} * 24 * 3600 * 1000000;
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  const std::vector<int64_t> stamps = {kMax, now + 100 * year, now, 1, 0, -5, kMin};
  RowMutation m("r");
  for (int64_t ts : stamps) m.Set("any:c", ts, std::to_string(ts));
  // TTL one hour, by the server's clock: a day old is expired, a year ahead is not.
  m.Set("ttl:c", now - 24 * 3600 * int64_t{1000000}, "old");
  m.Set("ttl:c", now + year, "future");
  ASSERT_OK(client_->Apply(t, {m}));
  // versions=1: a write stamped a year ahead, then one stamped now.
  ASSERT_OK(client_->Apply(t, {RowMutation("r").Set("one:c", now + year, "ahead")}));
  ASSERT_OK(client_->Apply(t, {RowMutation("r").Set("one:c", now, "later write")}));
  ASSERT_OK(client_->Sync(t));

  std::vector<Cell> cells;
  ASSERT_OK(Scan(t, &cells));
  std::vector<int64_t> any;
  std::vector<std::string> ttl, one;
  for (const Cell& c : cells) {
    if (c.column == "any:c") {
      any.push_back(c.timestamp);
      EXPECT_EQ(c.value, std::to_string(c.timestamp));
    }
    if (c.column == "ttl:c") ttl.push_back(c.value);
    if (c.column == "one:c") one.push_back(c.value);
  }
  EXPECT_EQ(any, stamps);  // every stamp, exactly, newest first
  EXPECT_EQ(ttl, std::vector<std::string>{"future"});
  EXPECT_EQ(one, std::vector<std::string>{"ahead"});

  // Time predicates at the extremes select exactly.
  ScanPredicate p;
  p.SetColumn("any:c").SetTimeRange(kMin, 0);
  cells.clear();
  ASSERT_OK(Scan(t, &cells, p));
  ASSERT_EQ(cells.size(), 3u);
  EXPECT_EQ(cells[0].timestamp, 0);
  EXPECT_EQ(cells[2].timestamp, kMin);
  ASSERT_OK(admin_->Ping());
}

}  // namespace
}  // namespace kdi
