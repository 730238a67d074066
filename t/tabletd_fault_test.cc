// Fault seam into a running tabletd (issue 4 acceptance): an I/O error or a
// full disk under one tablet's Berkeley DB files returns an error to the
// client, loses no acknowledged data, and the server keeps serving its other
// tablets.
//
// The tabletd runs with KDI_FAULT_FILE (tabletd/fault_control.h): the test
// writes rules like "write ENOSPC /tables/f/A/" into the control file and
// waits for the server's ".ack". Tablet A ([, m)) gets the faults, tablet B
// ([m, )) none. What is checked:
//   - ENOSPC on A's log writes: Apply on A fails with ResourceExhausted; B
//     applies, syncs and scans normally; A then refuses writes (even after the
//     fault is cleared) until it is reopened (unload + load), like a Berkeley
//     DB panic needing recovery; after the reopen A takes writes again.
//   - EIO on A's fsync: Apply succeeds (the commit reached the OS), Sync fails
//     with an I/O error; B syncs; A refuses writes and syncs until reopened.
//   - After the faults are cleared and A is reopened, and again after the
//     tabletd is killed with SIGKILL and restarted, every cell whose Apply was
//     acknowledged is present on both tablets, and nothing else is.
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lib/client/tablet_client.h"
#include "lib/storage/env.h"
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

LoadTabletRequest Load(const std::string& id, const std::string& start, const std::string& end) {
  return test::LoadRequest("f", id, start, end, test::OneFamilySchema("c"));
}

// Sets KDI_FAULT_FILE for the daemons this test starts; unsets it after.
class ScopedFaultFile {
 public:
  explicit ScopedFaultFile(std::string path) : path_(std::move(path)) {
    setenv("KDI_FAULT_FILE", path_.c_str(), 1);
  }
  ~ScopedFaultFile() { unsetenv("KDI_FAULT_FILE"); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class TabletdFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    faults_ = std::make_unique<ScopedFaultFile>(ctl_.Join("faults"));
    MiniClusterOptions o;
    o.num_masters = 0;
    o.num_tablet_servers = 1;
    o.lease_ms = 5000;
    o.log_level = "info";
    o.lockd_args = {"--lockd_lock_delay_ms=0"};
    o.tabletd_args = TabletdArgs();
    cluster_ = std::make_unique<MiniCluster>(o);
    ASSERT_OK(cluster_->Start());
    ASSERT_OK(cluster_->WaitForTabletServers(1));
    Connect();
    ASSERT_OK(admin_->LoadTablet(Load("A", "", "m")));
    ASSERT_OK(admin_->LoadTablet(Load("B", "m", "")));
  }
  void TearDown() override {
    if (HasFailure() && cluster_) cluster_->DumpLogs(40);
  }
  // Here reopening is done by hand (unload + load); the tabletd's own reopen
  // is TabletdAutoReopenTest's.
  virtual std::vector<std::string> TabletdArgs() const {
    return {"--tabletd_reopen_failed_tablets=false"};
  }
  void Connect() {
    const std::string& addr = cluster_->tablet_server(0)->address();
    admin_ = test::ConnectTabletd(addr, cluster_->ServerTls());
    client_ = test::ConnectTabletd(addr, cluster_->ClientTls());
  }

  // Writes the rules and waits until the tabletd acknowledges them.
  void SetFaults(const std::string& rules) {
    storage::Env* env = storage::Env::Default();
    ASSERT_OK(env->WriteFileAtomic(faults_->path(), rules));
    const int64_t deadline = test::MonoMs() + 20000;
    std::string ack;
    while (test::MonoMs() < deadline) {
      if (env->ReadFile(faults_->path() + ".ack", 1 << 20, &ack).ok() && ack == rules) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "tabletd did not acknowledge the fault rules \"" << rules << "\" (ack: \"" << ack
           << "\")";
  }

  // Applies one cell; records it as acknowledged when the Apply succeeded.
  Status Put(const TabletRef& t, const std::string& row, const std::string& value) {
    RowMutation m(row);
    m.Set("c:v", 1, value);
    Status s = client_->Apply(t, {m});
    if (s.ok()) acked_[row] = value;
    return s;
  }

  // Every acknowledged cell and nothing else, on both tablets.
  void ExpectExactlyAcknowledged() {
    std::map<std::string, std::string> got;
    for (const TabletRef& t : {a_, b_}) {
      auto stream = client_->OpenScan(t, ScanPredicate(), 1000);
      for (Cell c; stream->Next(&c);) got[c.row] = c.value;
      ASSERT_OK(stream->status());
    }
    EXPECT_EQ(got.size(), acked_.size());
    for (const auto& [row, value] : acked_) {
      auto it = got.find(row);
      ASSERT_NE(it, got.end()) << "acknowledged row " << row << " is missing";
      EXPECT_EQ(it->second, value) << row;
    }
    for (const auto& [row, value] : got) {
      EXPECT_EQ(acked_.count(row), 1u) << "unacknowledged row " << row << " is present";
    }
  }

  // B keeps serving while A is faulty.
  void ExpectBServes(int round) {
    std::string row = "n-" + std::to_string(round);
    ASSERT_OK(Put(b_, row, "b" + std::to_string(round)));
    ASSERT_OK(client_->Sync(b_));
    auto stream = client_->OpenScan(b_, ScanPredicate(), 1000);
    size_t n = 0;
    for (Cell c; stream->Next(&c);) n++;
    ASSERT_OK(stream->status());
    EXPECT_GT(n, 0u);
  }

  // Unload (the close of a poisoned tablet reports its error) and load again:
  // Berkeley DB recovery reads what is on disk.
  void ReopenA() {
    Status u = admin_->UnloadTablet(a_);
    if (!u.ok()) std::printf("unload of the faulty tablet reported: %s\n", u.ToString().c_str());
    ASSERT_OK(admin_->LoadTablet(Load("A", "", "m")));
  }

  test::TempDir ctl_;
  std::unique_ptr<ScopedFaultFile> faults_;
  std::unique_ptr<MiniCluster> cluster_;
  std::unique_ptr<TabletClient> admin_, client_;
  const TabletRef a_{"f", "A"}, b_{"f", "B"};
  std::map<std::string, std::string> acked_;
};

TEST_F(TabletdFaultTest, FullDiskAndIoErrorsFailOneTabletAndLoseNothing) {
  // Phase 0: a writer applies and syncs on both tablets.
  for (int i = 0; i < 40; i++) {
    ASSERT_OK(Put(a_, "a-" + std::to_string(i), "v" + std::to_string(i)));
    if (i % 4 == 3) ASSERT_OK(client_->Sync(a_));
  }
  ASSERT_OK(client_->Sync(a_));
  ExpectBServes(0);

  // Phase 1: A's disk is full.
  SetFaults("write ENOSPC /tables/f/A/\n");
  Status s = Put(a_, "a-enospc", "lost");
  ASSERT_FALSE(s.ok()) << "an Apply whose log write hit ENOSPC was acknowledged";
  std::printf("apply under ENOSPC: %s\n", s.ToString().c_str());
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted) << s.ToString();
  ExpectBServes(1);
  s = Put(a_, "a-enospc2", "lost");
  EXPECT_FALSE(s.ok());
  SetFaults("");
  // Cleared, but A's log may have a hole: it refuses writes until reopened.
  s = Put(a_, "a-after-clear", "lost");
  EXPECT_FALSE(s.ok()) << "a tablet whose log write failed took writes before recovery";
  std::printf("apply after the fault cleared, before reopen: %s\n", s.ToString().c_str());
  EXPECT_NE(s.ToString().find("reopen"), std::string::npos) << s.ToString();
  ExpectBServes(2);
  ReopenA();
  ASSERT_OK(Put(a_, "a-reopened", "ok"));
  ASSERT_OK(client_->Sync(a_));
  ExpectExactlyAcknowledged();

  // Phase 2: A's fsync fails with EIO.
  for (int i = 0; i < 10; i++) ASSERT_OK(Put(a_, "a-p2-" + std::to_string(i), "w"));
  SetFaults("sync EIO /tables/f/A/\n");
  ASSERT_OK(Put(a_, "a-unsynced", "in the OS, not on disk"));
  s = client_->Sync(a_);
  ASSERT_FALSE(s.ok()) << "a Sync whose fsync failed returned success";
  std::printf("sync under EIO: %s\n", s.ToString().c_str());
  EXPECT_EQ(s.code(), Status::Code::kIOError) << s.ToString();
  ExpectBServes(3);
  EXPECT_FALSE(client_->Sync(a_).ok()) << "a later sync may not pretend the log is safe";
  EXPECT_FALSE(Put(a_, "a-after-eio", "lost").ok());
  SetFaults("");
  ExpectBServes(4);
  ReopenA();
  ASSERT_OK(Put(a_, "a-reopened2", "ok"));
  ASSERT_OK(client_->Sync(a_));
  ExpectExactlyAcknowledged();

  // Phase 3: the whole server dies (SIGKILL) and comes back; after loading the
  // tablets again every acknowledged cell is there.
  ASSERT_OK(cluster_->tablet_server(0)->Restart(/*hard=*/true));
  ASSERT_OK(cluster_->tablet_server(0)->WaitUntilReady());
  Connect();
  const int64_t deadline = test::MonoMs() + 30000;
  for (;;) {
    // The restarted server registers once the old session's lease ran out.
    s = admin_->LoadTablet(Load("A", "", "m"));
    if (s.ok() || test::MonoMs() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_OK(s);
  ASSERT_OK(admin_->LoadTablet(Load("B", "m", "")));
  ExpectExactlyAcknowledged();
  std::printf("%zu acknowledged cells present after faults, reopen and kill -9\n",
              acked_.size());
}

class TabletdAutoReopenTest : public TabletdFaultTest {
 protected:
  std::vector<std::string> TabletdArgs() const override {
    return {"--tabletd_split_check_interval_ms=200"};
  }
};

// The tabletd reopens a tablet that failed a log write by itself once the
// fault is gone (regression: the tablet refused writes until an operator or
// the master unloaded and loaded it). While the disk stays full, writes keep
// failing with a clear error and B serves; nothing acknowledged is lost.
TEST_F(TabletdAutoReopenTest, FailedTabletIsReopenedOnceTheFaultIsGone) {
  for (int i = 0; i < 20; i++) ASSERT_OK(Put(a_, "a-" + std::to_string(i), "v"));
  ASSERT_OK(client_->Sync(a_));
  SetFaults("write ENOSPC /tables/f/A/\n");
  ASSERT_FALSE(Put(a_, "a-enospc", "lost").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // several passes
  Status s = Put(a_, "a-during", "lost");
  EXPECT_FALSE(s.ok()) << "a write was acknowledged while the disk was full";
  std::printf("apply while the disk stays full: %s\n", s.ToString().c_str());
  ExpectBServes(1);
  SetFaults("");
  // No unload or load: the maintenance pass (every 200 ms here) reopens A.
  const int64_t start = test::MonoMs();
  while (!(s = Put(a_, "a-back", "ok")).ok() && test::MonoMs() - start < 20000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_OK(s);
  std::printf("tablet A took writes again %lld ms after the fault was cleared\n",
              static_cast<long long>(test::MonoMs() - start));
  ASSERT_OK(client_->Sync(a_));
  ExpectBServes(2);
  ExpectExactlyAcknowledged();
}

// The one-RPC synced write (ApplyWithFlags with the sync flag, as libkdi's
// Table::Sync sends it): when the fsync fails the reply is the I/O error,
// saying the batch may or may not be durable; B's synced writes go on.
TEST_F(TabletdFaultTest, ApplyAndSyncReturnsTheSyncError) {
  RowMutation before("a-1");
  before.Set("c:v", 1, "synced");
  ASSERT_OK(client_->ApplyAndSync(a_, {before}));
  SetFaults("sync EIO /tables/f/A/\n");
  RowMutation failing("a-2");
  failing.Set("c:v", 1, "fsync fails");
  Status s = client_->ApplyAndSync(a_, {failing});
  EXPECT_EQ(s.code(), Status::Code::kIOError) << s.ToString();
  EXPECT_NE(s.message().find("may or may not be durable"), std::string::npos) << s.ToString();
  RowMutation other("n-1");
  other.Set("c:v", 1, "b");
  ASSERT_OK(client_->ApplyAndSync(b_, {other}));
  SetFaults("");
}

// A malformed control file is refused (the previous rules stay) and says why.
TEST_F(TabletdFaultTest, MalformedRulesAreRefused) {
  storage::Env* env = storage::Env::Default();
  ASSERT_OK(env->WriteFileAtomic(faults_->path(), "explode EIO /x/\n"));
  const int64_t deadline = test::MonoMs() + 20000;
  std::string ack;
  while (test::MonoMs() < deadline) {
    if (env->ReadFile(faults_->path() + ".ack", 1 << 20, &ack).ok() &&
        ack.rfind("error:", 0) == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(ack.find("unknown operation \"explode\""), std::string::npos) << ack;
  ASSERT_OK(Put(a_, "a-1", "fine"));
  ASSERT_OK(client_->Sync(a_));
}

}  // namespace
}  // namespace kdi
