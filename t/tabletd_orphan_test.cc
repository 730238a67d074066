// Orphaned directories (tabletd/orphan_collector.h): what an interrupted split
// or copy migration leaves under a shared data root is removed, and only what
// is provably orphaned.
//
// Two real tabletds share a data root; each runs the collector every 300 ms.
//   - Fabricated leftovers: a "*.splitting" and a "*.incoming" whose PENDING
//     marker names a server that is not registered, and a "*.retired", are
//     removed; an "*.incoming" marked by a live server, a complete tablet
//     without a marker (as META-listed tablets are) and a directory with an
//     unreadable marker are kept.
//   - A real split whose server dies before the commit (kill -9): the children
//     are kept while their owner lives, and removed once the parent is served
//     again by another server (the split was never recorded); the parent
//     keeps every cell.
//   - A split recorded by the master before its server died: the parent is
//     not served again, so the children are kept; loading a child (as the
//     master then does) clears its marker.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kdi/lock_client.h"
#include "lib/client/tablet_client.h"
#include "lib/storage/tablet.h"
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

LoadTabletRequest Load(const std::string& id, const std::string& start = "",
                       const std::string& end = "") {
  return test::LoadRequest("o", id, start, end, test::OneFamilySchema("c"));
}

template <typename F>
bool WaitFor(F condition, int64_t timeout_ms) {
  const int64_t deadline = test::MonoMs() + timeout_ms;
  while (test::MonoMs() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

class TabletdOrphanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MiniClusterOptions o;
    o.num_masters = 0;
    o.num_tablet_servers = 2;
    o.shared_data_root = true;
    o.lease_ms = 4000;
    o.log_level = "info";
    o.lockd_args = {"--lockd_lock_delay_ms=0"};
    o.tabletd_args = {"--shared-data", "--tabletd_orphan_check_interval_ms=300"};
    cluster_ = std::make_unique<MiniCluster>(o);
    ASSERT_OK(cluster_->Start());
    ASSERT_OK(cluster_->WaitForTabletServers(2));
    ASSERT_OK(cluster_->OpenLockSession(&session_));
    root_ = cluster_->tablet_data_root(0);
    ASSERT_OK(env_->CreateDir(root_ + "/tables/o"));
  }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->DumpLogs(40);
  }

  std::unique_ptr<TabletClient> Admin(int i) {
    return test::ConnectTabletd(cluster_->tablet_server(i)->address(), cluster_->ServerTls());
  }
  bool Exists(const std::string& name) { return env_->Exists(root_ + "/tables/o/" + name); }
  // "ADDRESS START_US" of server i's current incarnation.
  std::string Incarnation(int i) {
    const std::string addr = cluster_->tablet_server(i)->address();
    std::unique_ptr<lock::LockHandle> h;
    std::string contents;
    EXPECT_OK(session_->Open("/kdi/servers/" + addr, lock::kRead, 0, &h));
    if (h) EXPECT_OK(h->GetContents(&contents));
    size_t sp = contents.find(' ');
    size_t sp2 = contents.find(' ', sp + 1);
    return addr + " " + contents.substr(sp + 1, sp2 - sp - 1);
  }
  void Mark(const std::string& name, const std::string& marker) {
    ASSERT_OK(storage::Tablet::WritePendingMarker(root_ + "/tables/o/" + name, marker));
  }
  void MakeTablet(const std::string& name) {
    storage::TabletMeta meta;
    meta.table = "o";
    meta.schema = Schema::AcceptAny();
    std::unique_ptr<storage::Tablet> t;
    ASSERT_OK(storage::Tablet::Create(root_ + "/tables/o/" + name, meta, {}, &t));
    ASSERT_OK(t->Close());
  }
  size_t CountCells(TabletClient* c, const TabletRef& t) {
    auto stream = c->OpenScan(t, ScanPredicate(), 1000);
    size_t n = 0;
    for (Cell cell; stream->Next(&cell);) n++;
    EXPECT_OK(stream->status());
    return n;
  }

  storage::Env* env_ = storage::Env::Default();
  std::unique_ptr<MiniCluster> cluster_;
  std::unique_ptr<lock::LockSession> session_;
  std::string root_;
};

TEST_F(TabletdOrphanTest, RemovesOnlyProvablyOrphanedDirectories) {
  // Fabricated leftovers.
  Mark("x.splitting", "split 127.0.0.1:1 42 P o");
  Mark("w.incoming", "copy 127.0.0.1:1 42 w o");
  ASSERT_OK(env_->CreateDir(root_ + "/tables/o/gone.retired"));
  Mark("y.incoming", "copy " + Incarnation(1) + " y o");  // a live server's copy
  MakeTablet("plain");                                     // e.g. listed in META
  Mark("junk.splitting", "what is this");
  // Split parents whose CommitSplit began (META names the children): one of a
  // dead server, one of a live one.
  MakeTablet("R");
  Mark("R", "retire 127.0.0.1:1 42 R o");
  MakeTablet("S");
  Mark("S", "retire " + Incarnation(1) + " S o");
  ASSERT_TRUE(WaitFor([&] { return !Exists("x.splitting") && !Exists("w.incoming") &&
                                   !Exists("gone.retired") && !Exists("R"); },
                      15000))
      << "dead servers' leftovers were not collected";
  EXPECT_TRUE(Exists("S/TABLET")) << "a live server's split parent was removed";
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // a few more passes
  EXPECT_TRUE(Exists("y.incoming")) << "a live server's copy in flight was removed";
  EXPECT_TRUE(Exists("plain/TABLET")) << "an unmarked tablet was removed";
  EXPECT_TRUE(Exists("junk.splitting")) << "a directory with an unreadable marker was removed";

  // A split on server 0 that is never committed.
  auto a0 = Admin(0);
  ASSERT_OK(a0->LoadTablet(Load("P")));
  std::vector<RowMutation> rows;
  for (char c = 'a'; c <= 'z'; c++) {
    RowMutation m(std::string(1, c) + "-row");
    m.Set("c:v", 1, "value");
    rows.push_back(m);
  }
  ASSERT_OK(a0->Apply({"o", "P"}, rows));
  ASSERT_OK(a0->Sync({"o", "P"}));
  client::SplitTabletRequest split;
  split.tablet = {"o", "P"};
  split.split_row = "m";
  split.left_id = "PL";
  split.right_id = "PR";
  client::SplitInfo info;
  ASSERT_OK(a0->SplitTablet(split, &info));
  ASSERT_TRUE(Exists("PL/PENDING") && Exists("PR/PENDING"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_TRUE(Exists("PL/TABLET") && Exists("PR/TABLET"))
      << "the children of a live server's split were removed";
  // The server dies before the master records the split; the master would
  // give the parent (still in META) to another server.
  ASSERT_OK(cluster_->tablet_server(0)->Kill());
  auto a1 = Admin(1);
  Status s;
  ASSERT_TRUE(WaitFor([&] { return (s = a1->LoadTablet(Load("P"))).ok(); }, 20000))
      << s.ToString();
  ASSERT_TRUE(WaitFor([&] { return !Exists("PL") && !Exists("PR"); }, 15000))
      << "the children of a split that was never recorded were not collected";
  EXPECT_EQ(CountCells(a1.get(), {"o", "P"}), 26u);

  // A split that the master recorded before its server died: server 1 splits
  // Q; server 1 dies; Q is not served again (META names the children).
  ASSERT_OK(cluster_->tablet_server(0)->Start());
  ASSERT_OK(cluster_->tablet_server(0)->WaitUntilReady());
  ASSERT_OK(a1->LoadTablet(Load("Q")));
  ASSERT_OK(a1->Apply({"o", "Q"}, rows));
  split.tablet = {"o", "Q"};
  split.left_id = "QL";
  split.right_id = "QR";
  ASSERT_OK(a1->SplitTablet(split, &info));
  ASSERT_OK(cluster_->tablet_server(1)->Kill());
  a0 = Admin(0);
  // Server 0 registers again once its old session expired; then wait for
  // server 1's session to expire too, and a few passes more.
  ASSERT_OK(cluster_->WaitForTabletServers(1, 30000));
  std::unique_ptr<lock::LockHandle> dir;
  ASSERT_TRUE(WaitFor(
      [&] {
        std::vector<std::string> names;
        return session_->Open("/kdi/servers", lock::kRead, 0, &dir).ok() &&
               dir->ReadDirectory(&names).ok() && names.size() == 1 &&
               names[0] == cluster_->tablet_server(0)->address();
      },
      30000));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(Exists("QL/TABLET") && Exists("QR/TABLET"))
      << "children of a split that may be recorded in META were removed";
  LoadTabletRequest child = Load("QL", "", "m");
  ASSERT_TRUE(WaitFor([&] { return (s = a0->LoadTablet(child)).ok(); }, 20000)) << s.ToString();
  EXPECT_FALSE(Exists("QL/PENDING")) << "loading a child did not settle its marker";
  EXPECT_EQ(CountCells(a0.get(), {"o", "QL"}), 12u);  // a..l
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_TRUE(Exists("QL/TABLET") && Exists("QR/TABLET"));
}

}  // namespace
}  // namespace kdi
