// Tests of the kdi:// client's logic against an in-process fake cluster
// (t/client_remote_fake.h): location cache, META lookup, buffered and batched
// writes, transparent retries after moves, splits and dead servers, and scans
// that continue across tablets without repeating or skipping cells.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lib/client/location_cache.h"
#include "lib/util/one_shot_event.h"
#include "lib/client/remote_options.h"
#include "lib/client/remote_rpc_backend.h"
#include "lib/client/remote_scanner.h"
#include "lib/client/remote_table.h"
#include "lib/rpc/server.h"
#include "t/client_remote_fake.h"
#include "t/test_certs.h"
#include "t/test_util.h"

namespace kdi::client {
namespace {

using test::FakeCluster;


// Three tablets: [,"g") on s1, ["g","p") on s2, ["p",) on s1.
std::shared_ptr<FakeCluster> ThreeTablets() {
  auto c = std::make_shared<FakeCluster>();
  c->CreateTable("t", test::FakeWordSchema(),
                 {{"a", "", "g", "s1"}, {"b", "g", "p", "s2"}, {"c", "p", "", "s1"}});
  return c;
}

std::string RowName(int i) {
  char buf[16];
  snprintf(buf, sizeof(buf), "%c%03d", 'a' + (i % 26), i);
  return buf;
}

std::vector<Cell> ScanAll(Table* t, const std::string& pred = "") {
  std::unique_ptr<CellStream> s;
  EXPECT_OK(t->Scan(pred, &s));
  std::vector<Cell> out;
  for (Cell c; s->Next(&c);) out.push_back(c);
  EXPECT_OK(s->status());
  return out;
}

TEST(LocationCacheTest, FindInsertOverlapInvalidate) {
  LocationCache cache;
  TabletLocation loc;
  EXPECT_FALSE(cache.Find("t", "a", &loc));
  cache.Insert({"t", "1", "", "g", "s1"});
  cache.Insert({"t", "2", "g", "", "s2"});
  ASSERT_TRUE(cache.Find("t", "a", &loc));
  EXPECT_EQ(loc.tablet_id, "1");
  ASSERT_TRUE(cache.Find("t", "g", &loc));
  EXPECT_EQ(loc.tablet_id, "2");
  ASSERT_TRUE(cache.Find("t", "", &loc));
  EXPECT_EQ(loc.tablet_id, "1");
  ASSERT_TRUE(cache.Find("t", "zzz", &loc));
  EXPECT_EQ(loc.tablet_id, "2");
  EXPECT_FALSE(cache.Find("u", "a", &loc));
  // A split of tablet 2 replaces it.
  cache.Insert({"t", "3", "g", "m", "s2"});
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.Find("t", "x", &loc));
  ASSERT_TRUE(cache.Find("t", "h", &loc));
  EXPECT_EQ(loc.tablet_id, "3");
  // Invalidate only drops an entry that still says the same.
  cache.Invalidate({"t", "3", "g", "m", "other"});
  EXPECT_TRUE(cache.Find("t", "h", &loc));
  cache.Invalidate(loc);
  EXPECT_FALSE(cache.Find("t", "h", &loc));
  cache.Insert({"t", "4", "m", "", "s2"});
  cache.InvalidateServer("s1");
  EXPECT_FALSE(cache.Find("t", "a", &loc));
  EXPECT_TRUE(cache.Find("t", "z", &loc));
  // A merged tablet replaces several.
  cache.Insert({"t", "5", "", "", "s3"});
  EXPECT_EQ(cache.size(), 1u);
}

TEST(OneShotEventTest, WaitReturnsOnceSetWhicheverComesFirst) {
  OneShotEvent before;
  before.Set();
  before.Wait();  // already set: returns at once
  EXPECT_TRUE(before.is_set());
  for (int i = 0; i < 200; i++) {
    auto e = std::make_shared<OneShotEvent>();
    int value = 0;
    std::thread setter([e, &value, i] {
      if (i % 2) std::this_thread::sleep_for(std::chrono::microseconds(50));
      value = 42;  // published by Set
      e->Set();
      e->Set();  // a second Set is a no-op
    });
    e->Wait();
    EXPECT_EQ(value, 42);
    setter.join();
  }
}

// The RPC backend sends a sync Apply as ApplyWithFlags (305). A server
// without it (an older tabletd: unknown type, NotSupported) gets a plain
// Apply instead, from then on directly, and the reply says not durable (the
// table then sends a Sync RPC).
TEST(RpcBackendTest, SyncApplyFallsBackToApplyOnAnOldServer) {
  test::TempDir tmp;
  test::TestCerts certs(tmp.path());
  RemoteTableOptions o;
  o.lockd_address = "127.0.0.1:1";  // not used by Apply
  o.tls_ca_file = certs.ca_file();
  o.tls_cert_file = certs.Options("client").cert_file;
  o.tls_key_file = certs.Options("client").key_file;
  for (bool new_server : {true, false}) {
    SCOPED_TRACE(new_server ? "server with ApplyWithFlags" : "older server");
    rpc::ServerOptions so;
    so.tls = certs.ServerTls();
    rpc::Server server(so);
    std::atomic<int> plain{0}, flagged{0};
    auto reply_ok = [](const rpc::ResponderPtr& r) {
      std::string out;
      EncodeApplyReply(ApplyReply{7, false}, &out);
      r->Reply(Status::OK(), std::move(out));
    };
    server.Register(
        kMsgApply,
        [&](std::string body, rpc::ResponderPtr r) {
          ApplyRequest req;
          EXPECT_OK(DecodeApplyRequest(body, &req));
          EXPECT_EQ(req.rows.size(), 1u);
          plain++;
          reply_ok(r);
        },
        rpc::Dispatch::kLoop);
    if (new_server) {
      server.Register(
          kMsgApplyWithFlags,
          [&](std::string body, rpc::ResponderPtr r) {
            ApplyRequest req;
            EXPECT_OK(DecodeApplyWithFlagsRequest(body, &req));
            EXPECT_TRUE(req.sync);
            flagged++;
            reply_ok(r);
          },
          rpc::Dispatch::kLoop);
    }
    ASSERT_OK(server.Start());
    std::shared_ptr<RemoteBackend> backend;
    ASSERT_OK(CreateRpcBackend(o, &backend));
    ApplyRequest req;
    req.tablet = {"t", "x"};
    RowMutation m("r");
    m.Set("w:x", 1, "v");
    req.rows = {m};
    req.sync = true;
    for (int i = 0; i < 2; i++) {
      ApplyReply reply;
      ASSERT_OK(backend->Apply(server.address(), req, 5000, &reply));
      EXPECT_EQ(reply.revision, 7u);
      EXPECT_EQ(reply.durable, new_server);
    }
    EXPECT_EQ(flagged.load(), new_server ? 2 : 0);
    EXPECT_EQ(plain.load(), new_server ? 0 : 2);
    backend.reset();
    server.Stop();
  }
}

TEST(RemoteOptionsTest, ParsesUri) {
  RemoteTableOptions o;
  ASSERT_OK(ParseRemoteUri("kdi://127.0.0.1:7500/web%2Epages?timeout_ms=500&write_buffer_bytes=10"
                           "&tls_ca_file=/a&tls_cert_file=/b&tls_key_file=/c",
                           &o));
  EXPECT_EQ(o.lockd_address, "127.0.0.1:7500");
  EXPECT_EQ(o.table, "web.pages");
  EXPECT_EQ(o.op_timeout_ms, 500);
  EXPECT_EQ(o.write_buffer_bytes, 10u);
  EXPECT_EQ(o.tls_key_file, "/c");
  ASSERT_OK(ParseRemoteUri("kdi://lockhost/t?tls_ca_file=/a&tls_cert_file=/b&tls_key_file=/c", &o));
  EXPECT_EQ(o.lockd_address, "lockhost:7400");
  EXPECT_EQ(o.connections_per_server, 2u);
  ASSERT_OK(ParseRemoteUri("kdi://h/t?connections_per_server=3&tls_ca_file=/a&tls_cert_file=/b"
                           "&tls_key_file=/c",
                           &o));
  EXPECT_EQ(o.connections_per_server, 3u);
  EXPECT_TRUE(ParseRemoteUri("kdi://h/t?connections_per_server=0", &o).IsInvalidArgument());
  EXPECT_TRUE(ParseRemoteUri("kdi://h/t?connections_per_server=17", &o).IsInvalidArgument());
  EXPECT_TRUE(o.caller_io);
  ASSERT_OK(ParseRemoteUri("kdi://h/t?caller_io=0&tls_ca_file=/a&tls_cert_file=/b&tls_key_file=/c",
                           &o));
  EXPECT_FALSE(o.caller_io);
  EXPECT_TRUE(ParseRemoteUri("kdi://h/t?caller_io=2", &o).IsInvalidArgument());
  EXPECT_TRUE(ParseRemoteUri("kdi://h/t?caller_io=yes", &o).IsInvalidArgument());
  EXPECT_TRUE(ParseRemoteUri("kdi://host", &o).IsInvalidArgument());
  EXPECT_TRUE(ParseRemoteUri("kdi:///t", &o).IsInvalidArgument());
  EXPECT_TRUE(ParseRemoteUri("kdi://h:99999/t", &o).IsInvalidArgument());
  EXPECT_TRUE(ParseRemoteUri("kdi://h/t?bogus=1", &o).IsInvalidArgument());
  EXPECT_TRUE(ParseRemoteUri("kdi://h/t?timeout_ms=x", &o).IsInvalidArgument());
  EXPECT_TRUE(ParseRemoteUri("local:/x", &o).IsInvalidArgument());
}

TEST(RemoteOptionsTest, CredentialsFromConfig) {
  test::TempDir dir;
  std::string conf = dir.Join("kdi.conf");
  FILE* f = fopen(conf.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("[global]\ntls_ca_file = ca.crt\ntls_cert_file = /abs/me.crt\ntls_key_file = me.key\n", f);
  fclose(f);
  RemoteTableOptions o;
  ASSERT_OK(ParseRemoteUri("kdi://h/t?conf=" + conf, &o));
  EXPECT_EQ(o.tls_ca_file, dir.Join("ca.crt"));
  EXPECT_EQ(o.tls_cert_file, "/abs/me.crt");
  EXPECT_EQ(o.tls_key_file, dir.Join("me.key"));
  EXPECT_FALSE(ParseRemoteUri("kdi://h/t?conf=" + dir.Join("missing.conf"), &o).ok());
}

TEST(RemoteScannerTest, FirstRowAtOrAfter) {
  StringIntervalSet s = StringIntervalSet::Range("b", "d");
  s.Add(StringInterval{"m", "", true});
  std::string r;
  ASSERT_TRUE(FirstRowAtOrAfter(s, "", &r));
  EXPECT_EQ(r, "b");
  ASSERT_TRUE(FirstRowAtOrAfter(s, "c", &r));
  EXPECT_EQ(r, "c");
  ASSERT_TRUE(FirstRowAtOrAfter(s, "d", &r));
  EXPECT_EQ(r, "m");
  ASSERT_TRUE(FirstRowAtOrAfter(s, "z", &r));
  EXPECT_EQ(r, "z");
  EXPECT_FALSE(FirstRowAtOrAfter(StringIntervalSet::Range("b", "d"), "e", &r));
}

TEST(RemoteTableTest, OpenMissingTableIsNotFound) {
  auto c = ThreeTablets();
  std::unique_ptr<RemoteTable> t;
  RemoteTableOptions o = test::FakeTableOptions();
  o.table = "nope";
  Status s = RemoteTable::OpenWithBackend(c, o, &t);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
}

// Blocks the RPCs a test names (by call number) until Release(); counts the
// calls that entered. Release() is also run by the destructor, so a failed
// assertion never leaves a client thread blocked.
class Gate {
 public:
  explicit Gate(std::vector<int> blocked) : blocked_(std::move(blocked)) {}
  ~Gate() { Release(); }
  std::function<void(int)> Hook() {
    return [this](int call) {
      std::unique_lock<std::mutex> l(mu_);
      entered_++;
      cv_.notify_all();
      if (std::find(blocked_.begin(), blocked_.end(), call) == blocked_.end()) return;
      cv_.wait(l, [&] { return released_; });
    };
  }
  // Waits (at most 10 s) until n calls entered the hook.
  bool WaitEntered(int n) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(10), [&] { return entered_ >= n; });
  }
  int entered() {
    std::lock_guard<std::mutex> l(mu_);
    return entered_;
  }
  void Release() {
    std::lock_guard<std::mutex> l(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> blocked_;
  int entered_ = 0;
  bool released_ = false;
};

// Joins a thread at the end of scope (also when an assertion returns early).
struct Joiner {
  std::thread t;
  ~Joiner() {
    if (t.joinable()) t.join();
  }
};

TEST(RemoteTableTest, BuffersUntilSyncThenBatchesPerTablet) {
  auto c = ThreeTablets();
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
  for (int i = 0; i < 100; i++) ASSERT_OK(t->Set(RowName(i), "w:x", 1, "v" + std::to_string(i)));
  EXPECT_EQ(c->total_calls("apply"), 0) << "mutations must be buffered";
  ASSERT_OK(t->Sync());
  // One Apply per tablet; one META lookup fetched all three tablets.
  EXPECT_EQ(c->total_calls("apply"), 3);
  EXPECT_EQ(c->calls("s1", "apply"), 2);
  EXPECT_EQ(c->calls("s2", "apply"), 1);
  EXPECT_EQ(c->total_calls("meta"), 1);
  EXPECT_EQ(c->synced("t", "a"), 1);
  EXPECT_EQ(c->synced("t", "b"), 1);
  EXPECT_EQ(c->synced("t", "c"), 1);
  EXPECT_EQ(c->cells("t").size(), 100u);
  RemoteStatsSnapshot st = t->stats();
  EXPECT_EQ(st.retries, 0u);
  EXPECT_EQ(st.rows_sent, 100u);
  // The Sync travelled in the Applies (one RPC per tablet, no Sync RPC).
  EXPECT_EQ(c->total_calls("syncapply"), 3);
  EXPECT_EQ(c->total_calls("sync"), 0);
  // Sync with nothing new written sends nothing.
  ASSERT_OK(t->Sync());
  EXPECT_EQ(c->total_calls("apply"), 3);
  EXPECT_EQ(c->total_calls("sync"), 0);
}

// Against servers without ApplyWithFlags (the backend fell back to a plain
// Apply), a Sync sends one Sync RPC per tablet after the Applies.
TEST(RemoteTableTest, SyncSendsSyncRpcsWhenTheApplyCouldNotCarryIt) {
  auto c = ThreeTablets();
  c->SetApplySyncSupported(false);
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
  for (int i = 0; i < 100; i++) ASSERT_OK(t->Set(RowName(i), "w:x", 1, "v"));
  ASSERT_OK(t->Sync());
  EXPECT_EQ(c->total_calls("apply"), 3);
  EXPECT_EQ(c->total_calls("syncapply"), 0);
  EXPECT_EQ(c->total_calls("sync"), 3);
  EXPECT_EQ(c->synced("t", "a"), 1);
  EXPECT_EQ(c->synced("t", "b"), 1);
  EXPECT_EQ(c->synced("t", "c"), 1);
  ASSERT_OK(t->Sync());
  EXPECT_EQ(c->total_calls("sync"), 3);
}

// A tablet whose rows need several Apply RPCs: only the last one carries
// the Sync (the earlier ones were acknowledged before it was sent).
TEST(RemoteTableTest, OnlyTheLastApplyOfATabletCarriesTheSync) {
  auto c = ThreeTablets();
  RemoteTableOptions o = test::FakeTableOptions();
  o.max_batch_bytes = 300;
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, o, &t));
  for (int i = 0; i < 20; i++) ASSERT_OK(t->Set("h" + std::to_string(i), "w:x", 1, std::string(50, 'v')));
  ASSERT_OK(t->Sync());
  EXPECT_GT(c->calls("s2", "apply"), 2);
  EXPECT_EQ(c->calls("s2", "syncapply"), 1);
  EXPECT_EQ(c->total_calls("sync"), 0);
  EXPECT_EQ(c->synced("t", "b"), 1);
  EXPECT_EQ(c->cells("t").size(), 20u);
}

// The server's Sync error of a sync Apply (the rows were applied, their
// durability is unknown) is returned by Table::Sync; the tablet stays
// unsynced and the next Sync syncs it with a Sync RPC.
TEST(RemoteTableTest, SyncErrorOfASyncApplyReachesTheCaller) {
  auto c = ThreeTablets();
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
  c->FailSyncs(Status::IOError("fdatasync: No space left on device"));
  ASSERT_OK(t->Set("h", "w:x", 1, "v"));
  Status s = t->Sync();
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find("No space left"), std::string::npos) << s.ToString();
  EXPECT_EQ(c->synced("t", "b"), 0);
  c->FailSyncs(Status::OK());
  ASSERT_OK(t->Sync());
  EXPECT_EQ(c->synced("t", "b"), 1);
  EXPECT_EQ(c->calls("s2", "sync"), 2) << "one failed Sync RPC in the first Sync, one in the second";
}

// A sync Apply covers every write of the tablet acknowledged before it was
// sent, by any thread: a Sync whose write was acknowledged earlier needs no
// RPC of its own afterwards.
TEST(RemoteTableTest, ASyncApplyCoversWritesAcknowledgedBeforeIt) {
  auto c = ThreeTablets();
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
  ASSERT_OK(t->Set("h", "w:x", 1, "from A"));
  ASSERT_OK(t->Flush());  // acknowledged, not durable
  Status b_status;
  std::thread b([&] {
    b_status = t->Set("k", "w:x", 1, "from B");
    if (b_status.ok()) b_status = t->Sync();  // one sync Apply
  });
  b.join();
  ASSERT_OK(b_status);
  EXPECT_EQ(c->calls("s2", "syncapply"), 1);
  ASSERT_OK(t->Sync());  // A
  EXPECT_EQ(c->total_calls("sync"), 0) << "A's write was covered by B's sync Apply";
  EXPECT_EQ(c->synced("t", "b"), 1);
}

// ...but not a write acknowledged while the sync Apply was in flight: the
// Sync of that write sends a Sync RPC after the sync Apply completed.
TEST(RemoteTableTest, ASyncApplyDoesNotCoverWritesAcknowledgedWhileInFlight) {
  auto c = ThreeTablets();
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
  Gate gate({0});
  c->OnSync(gate.Hook());  // blocks B's sync Apply after it applied
  Status b_status, a_status;
  Joiner b{std::thread([&] {
    b_status = t->Set("k", "w:x", 1, "from B");
    if (b_status.ok()) b_status = t->Sync();
  })};
  ASSERT_TRUE(gate.WaitEntered(1));
  RowMutation m("h");
  m.Set("w:x", 1, "from A");
  // Acknowledged while B's RPC is in flight (a conditional apply is sent at
  // once; a Flush would wait for B's flight).
  EXPECT_OK(t->ApplyIf({}, m, nullptr));  // (no early return: B is blocked in the gate)
  std::atomic<bool> a_done{false};
  Joiner a{std::thread([&] {
    a_status = t->Sync();
    a_done = true;
  })};
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_FALSE(a_done) << "A returned before B's flight (applied before A's Sync) ended";
  gate.Release();
  a.t.join();
  b.t.join();
  ASSERT_OK(a_status);
  ASSERT_OK(b_status);
  EXPECT_EQ(c->calls("s2", "syncapply"), 1);
  EXPECT_EQ(c->calls("s2", "sync"), 1) << "A's write needed a Sync RPC sent after its ack";
  EXPECT_EQ(c->synced("t", "b"), 2);
}

TEST(RemoteTableTest, FlushesBySizeAndCutsBatches) {
  auto c = ThreeTablets();
  RemoteTableOptions o = test::FakeTableOptions();
  o.write_buffer_bytes = 2000;
  o.max_batch_bytes = 300;
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, o, &t));
  std::string value(50, 'x');
  for (int i = 0; i < 200; i++) ASSERT_OK(t->Set("a" + std::to_string(i), "w:x", 1, value));
  EXPECT_GT(c->total_calls("apply"), 10) << "size trigger and batch cutting";
  ASSERT_OK(t->Close());
  EXPECT_EQ(c->cells("t").size(), 200u);
}

TEST(RemoteTableTest, FlushesByTime) {
  auto c = ThreeTablets();
  RemoteTableOptions o = test::FakeTableOptions();
  o.flush_interval_ms = 20;
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, o, &t));
  ASSERT_OK(t->Set("k", "w:x", 1, "v"));
  for (int i = 0; i < 200 && c->cells("t").empty(); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(c->cells("t").size(), 1u);
}

TEST(RemoteTableTest, InvalidMutationsAreRefusedAtOnce) {
  auto c = ThreeTablets();
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
  EXPECT_TRUE(t->Set("", "w:x", 1, "v").IsInvalidArgument());
  EXPECT_TRUE(t->Set("r", "nofamily:x", 1, "v").IsInvalidArgument());
  EXPECT_TRUE(t->Set(std::string(kMaxRowBytes + 1, 'r'), "w:x", 1, "v").IsInvalidArgument());
  RowMutation good("r");
  good.Set("w:x", 1, "v");
  RowMutation bad("s");
  bad.Set("zz:x", 1, "v");
  EXPECT_TRUE(t->ApplyBatch({good, bad}).IsInvalidArgument());
  ASSERT_OK(t->Sync());
  EXPECT_TRUE(c->cells("t").empty()) << "nothing of a refused batch is applied";
}

TEST(RemoteTableTest, TabletMoveIsInvisibleToTheApplication) {
  auto c = ThreeTablets();
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
  ASSERT_OK(t->Set("b1", "w:x", 1, "v1"));
  ASSERT_OK(t->Sync());  // the cache now knows tablet a on s1
  c->MoveTablet("t", "a", "s3");
  ASSERT_OK(t->Set("b2", "w:x", 1, "v2"));
  ASSERT_OK(t->Sync());
  EXPECT_EQ(c->calls("s3", "apply"), 1);
  EXPECT_EQ(c->cells("t").size(), 2u);
  RemoteStatsSnapshot st = t->stats();
  EXPECT_GE(st.retries, 1u);
  EXPECT_GE(st.cache_invalidations, 1u);
  EXPECT_EQ(st.meta_lookups, 2u);
  // Reads follow the move too.
  EXPECT_EQ(ScanAll(t.get(), "row ~= \"b\"").size(), 2u);
}

TEST(RemoteTableTest, SplitIsInvisibleToTheApplication) {
  auto c = ThreeTablets();
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
  ASSERT_OK(t->Set("h", "w:x", 1, "v"));
  ASSERT_OK(t->Sync());
  c->SplitTablet("t", "b", "k", "b1", "b2");
  for (std::string row : {"h2", "k", "m", "o"}) ASSERT_OK(t->Set(row, "w:x", 1, "v"));
  ASSERT_OK(t->Sync());
  EXPECT_EQ(c->cells("t").size(), 5u);
  EXPECT_GE(t->stats().retries, 1u);
  EXPECT_GE(c->synced("t", "b1"), 1);
  EXPECT_GE(c->synced("t", "b2"), 1);
  std::vector<Cell> all = ScanAll(t.get());
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0].row, "h");
  EXPECT_EQ(all[4].row, "o");
}

TEST(RemoteTableTest, DeadServerTimesOutWithClearError) {
  auto c = ThreeTablets();
  RemoteTableOptions o = test::FakeTableOptions();
  o.op_timeout_ms = 200;
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, o, &t));
  c->SetServerDown("s2", true);
  ASSERT_OK(t->Set("h", "w:x", 1, "v"));
  auto start = std::chrono::steady_clock::now();
  Status s = t->Sync();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start)
                .count();
  EXPECT_TRUE(s.IsTimedOut()) << s.ToString();
  EXPECT_NE(s.message().find("s2"), std::string::npos) << s.ToString();
  EXPECT_LT(ms, 3000);
  // When the server comes back (e.g. the tablet was reassigned), writes go on.
  c->SetServerDown("s2", false);
  ASSERT_OK(t->Set("h", "w:x", 2, "v2"));
  ASSERT_OK(t->Sync());
  EXPECT_EQ(c->cells("t").size(), 1u);
}

TEST(RemoteTableTest, ServerFailoverDuringWrites) {
  auto c = ThreeTablets();
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
  ASSERT_OK(t->Set("a1", "w:x", 1, "v"));
  ASSERT_OK(t->Sync());
  // s1 dies; after a moment its tablets are reassigned to s3.
  c->SetServerDown("s1", true);
  std::thread reassign([c] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    c->MoveTablet("t", "a", "s3");
    c->MoveTablet("t", "c", "s3");
  });
  for (int i = 0; i < 50; i++) ASSERT_OK(t->Set(RowName(i), "w:x", 1, "v"));
  Status s = t->Sync();
  reassign.join();
  ASSERT_OK(s);
  EXPECT_EQ(c->cells("t").size(), 51u);
  EXPECT_GE(t->stats().retries, 1u);
}

TEST(RemoteTableTest, ScanContinuesAcrossSplitsMovesAndFailures) {
  auto c = ThreeTablets();
  RemoteTableOptions o = test::FakeTableOptions();
  o.scan_page_cells = 7;
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, o, &t));
  std::vector<RowMutation> batch;
  for (int i = 0; i < 300; i++) {
    RowMutation m(RowName(i));
    m.Set("w:a", 2, "x").Set("w:a", 1, "y").Set("w:b", 5, "z");
    batch.push_back(m);
  }
  ASSERT_OK(t->ApplyBatch(batch));
  ASSERT_OK(t->Sync());
  std::vector<Cell> expected = c->cells("t");
  ASSERT_EQ(expected.size(), 900u);

  c->OnScanPage([c](int page) {
    if (page == 5) c->SplitTablet("t", "a", "c", "a1", "a2");
    if (page == 20) c->MoveTablet("t", "b", "s4");
    if (page == 40) c->SetServerDown("s1", true);
    if (page == 45) {
      c->MoveTablet("t", "a1", "s5");
      c->MoveTablet("t", "a2", "s5");
      c->MoveTablet("t", "c", "s5");
    }
    if (page == 60) c->SplitTablet("t", "c", "t", "c1", "c2");
  });
  std::vector<Cell> got = ScanAll(t.get());
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); i++) ASSERT_EQ(got[i], expected[i]) << i;
  EXPECT_GE(t->stats().scan_restarts, 2u);

  // A predicate restricted to a few rows reads only the tablets it needs.
  c->OnScanPage(nullptr);
  std::vector<Cell> some = ScanAll(t.get(), "row >= \"h\" and row < \"j\" and column = \"w:a\"");
  size_t want = 0;
  for (const Cell& e : expected) want += (e.row >= "h" && e.row < "j" && e.column == "w:a");
  EXPECT_EQ(some.size(), want);
  EXPECT_GT(want, 0u);
}

TEST(RemoteTableTest, ConditionalApplyAndRevisionsFollowMoves) {
  auto c = ThreeTablets();
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
  RowMutation m("q1");
  m.Set("w:x", 1, "v");
  uint64_t rev = 0;
  ASSERT_OK(t->ApplyIf({Condition::RowAbsent()}, m, &rev));
  EXPECT_EQ(rev, 1u);
  EXPECT_TRUE(t->ApplyIf({Condition::RowAbsent()}, m, &rev).IsConflict());
  c->MoveTablet("t", "c", "s9");
  uint64_t now = 0;
  ASSERT_OK(t->GetRowRevision("q1", &now));
  EXPECT_EQ(now, 1u);
  c->MoveTablet("t", "c", "s8");
  ASSERT_OK(t->ApplyIf({Condition::RowRevisionIs(1)}, m, &rev));
  EXPECT_EQ(rev, 2u);
  EXPECT_GE(t->stats().retries, 2u);
}

TEST(RemoteTableTest, ConcurrentWritersFromManyThreads) {
  auto c = ThreeTablets();
  RemoteTableOptions o = test::FakeTableOptions();
  o.write_buffer_bytes = 500;
  o.flush_interval_ms = 5;
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, o, &t));
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; k++) {
    threads.emplace_back([&t, k] {
      for (int i = 0; i < 100; i++) {
        EXPECT_OK(t->Set(RowName(i) + "-" + std::to_string(k), "w:x", i, "v"));
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_OK(t->Sync());
  EXPECT_EQ(c->cells("t").size(), 400u);
}

TEST(RemoteTableTest, OrderOfOneRowIsKeptAcrossRetries) {
  auto c = ThreeTablets();
  RemoteTableOptions o = test::FakeTableOptions();
  o.max_batch_bytes = 40;  // one row mutation per RPC
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, o, &t));
  ASSERT_OK(t->Set("r", "w:x", 1, "warm"));
  ASSERT_OK(t->Sync());
  c->MoveTablet("t", "c", "s7");
  for (int i = 0; i < 20; i++) {
    ASSERT_OK(t->EraseRow("r"));
    ASSERT_OK(t->Set("r", "w:x", 1, "v" + std::to_string(i)));
  }
  ASSERT_OK(t->Sync());
  std::vector<Cell> cells = c->cells("t");
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].value, "v19");
}

// Set/Apply return once buffered; an error of the background flush (here: the
// table was dropped in the meantime) is returned by the next Sync.
TEST(RemoteTableTest, BackgroundFlushErrorIsReturnedBySync) {
  auto c = ThreeTablets();
  RemoteTableOptions o = test::FakeTableOptions();
  o.flush_interval_ms = 10;
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, o, &t));
  ASSERT_OK(t->Set("h", "w:x", 1, "v"));
  ASSERT_OK(t->Sync());
  c->DropTable("t");
  uint64_t flushes = t->GetStats().flushes;
  ASSERT_OK(t->Set("h2", "w:x", 1, "v"));  // buffered: the error comes later
  for (int i = 0; i < 500 && t->GetStats().flushes == flushes; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GT(t->GetStats().flushes, flushes) << "the background flusher never ran";
  Status s = t->Sync();
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find("earlier buffered write"), std::string::npos) << s.ToString();
  // (In an Apply carrying it, or in a Sync RPC if the flusher sent "h" first.)
  EXPECT_EQ(c->total_calls("sync") + c->total_calls("syncapply"), 1)
      << "only the first Sync had a tablet to sync";
}

// The same error surfaces on the next write when the application does not Sync.
TEST(RemoteTableTest, BackgroundFlushErrorIsReturnedByTheNextWrite) {
  auto c = ThreeTablets();
  RemoteTableOptions o = test::FakeTableOptions();
  o.flush_interval_ms = 10;
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, o, &t));
  ASSERT_OK(t->Set("h", "w:x", 1, "v"));
  ASSERT_OK(t->Sync());
  c->DropTable("t");
  ASSERT_OK(t->Set("h2", "w:x", 1, "v"));
  Status s;
  for (int i = 0; i < 500 && s.ok(); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    s = t->Set("h3", "w:x", i, "v");
  }
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find("earlier buffered write"), std::string::npos) << s.ToString();
}

// A Sync that starts while a background flush is still retrying waits for it
// and returns its error (it must not see an empty buffer and report success).
TEST(RemoteTableTest, SyncDuringAFailingBackgroundFlushReturnsItsError) {
  auto c = ThreeTablets();
  RemoteTableOptions o = test::FakeTableOptions();
  o.flush_interval_ms = 10;
  o.op_timeout_ms = 300;
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, o, &t));
  c->SetServerDown("s2", true);
  ASSERT_OK(t->Set("h", "w:x", 1, "v"));
  for (int i = 0; i < 500 && t->GetStats().flushes == 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(t->GetStats().flushes, 1u);
  Status s = t->Sync();  // the background flush is retrying until its deadline
  EXPECT_TRUE(s.IsTimedOut()) << s.ToString();
  EXPECT_NE(s.message().find("s2"), std::string::npos) << s.ToString();
  EXPECT_GE(t->GetStats().retries, 1u);
}

// Regression: a thread whose write went out in another thread's flush used to
// find nothing left to sync while that thread's Sync RPC was still in flight,
// and returned before its write was durable.
TEST(RemoteTableTest, SyncDoesNotRelyOnAnotherThreadsSyncInFlight) {
  auto c = ThreeTablets();
  c->SetApplySyncSupported(false);  // Sync RPCs (servers without ApplyWithFlags)
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
  std::mutex mu;
  std::condition_variable cv;
  bool first_sync_entered = false, release = false;
  c->OnSync([&](int call) {
    if (call != 0) return;
    std::unique_lock<std::mutex> l(mu);
    first_sync_entered = true;
    cv.notify_all();
    cv.wait(l, [&] { return release; });
  });
  ASSERT_OK(t->Set("h", "w:x", 1, "from A"));  // buffered
  Status b_status;
  std::thread b([&] {
    b_status = t->Set("k", "w:x", 1, "from B");
    if (b_status.ok()) b_status = t->Sync();  // flushes A's row too, then blocks
  });
  {
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return first_sync_entered; }));
  }
  EXPECT_EQ(c->cells("t").size(), 2u) << "B's flush sent A's row";
  ASSERT_OK(t->Sync());  // A
  EXPECT_EQ(c->synced("t", "b"), 1) << "A returned before any Sync RPC covering its write ended";
  {
    std::lock_guard<std::mutex> l(mu);
    release = true;
    cv.notify_all();
  }
  b.join();
  ASSERT_OK(b_status);
  EXPECT_EQ(c->synced("t", "b"), 2);
}

// Regression: when a writing thread's flush failed, another thread whose
// write was in that batch got OK from its Sync.
TEST(RemoteTableTest, FailedFlushOfAnotherThreadFailsTheNextSync) {
  auto c = ThreeTablets();
  RemoteTableOptions o = test::FakeTableOptions();
  o.write_buffer_bytes = 200;
  o.op_timeout_ms = 300;
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, o, &t));
  ASSERT_OK(t->Set("h", "w:x", 1, "from A"));  // buffered
  c->SetServerDown("s2", true);
  Status b_status;
  std::thread b([&] { b_status = t->Set("k", "w:x", 1, std::string(300, 'b')); });
  b.join();
  EXPECT_FALSE(b_status.ok()) << "B's Set flushed the buffer to a down server";
  c->SetServerDown("s2", false);
  Status s = t->Sync();  // A: its row was in B's failed batch
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("since the last Sync failed"), std::string::npos) << s.ToString();
  EXPECT_TRUE(c->cells("t").empty());
  ASSERT_OK(t->Set("h", "w:x", 2, "again"));
  ASSERT_OK(t->Sync());  // the error is reported once
  EXPECT_EQ(c->cells("t").size(), 1u);
}


// Group commit in the client: a Sync whose write another thread's Sync RPC
// (sent after the write was acknowledged) covers waits for that RPC instead
// of sending its own, and does not return before it completed.
TEST(RemoteTableTest, ConcurrentSyncsShareTheRpcThatCoversThem) {
  auto c = ThreeTablets();
  c->SetApplySyncSupported(false);  // Sync RPCs (servers without ApplyWithFlags)
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
  t->SetSyncJoinWaitMsForTesting(10000);
  Gate gate({0});
  c->OnSync(gate.Hook());
  ASSERT_OK(t->Set("h", "w:x", 1, "from A"));  // buffered; B's flush sends it
  Status b_status, a_status;
  std::atomic<bool> a_done{false};
  Joiner b{std::thread([&] {
    b_status = t->Set("k", "w:x", 1, "from B");
    if (b_status.ok()) b_status = t->Sync();
  })};
  ASSERT_TRUE(gate.WaitEntered(1));
  EXPECT_EQ(c->cells("t").size(), 2u) << "B's flush sent A's row";
  Joiner a{std::thread([&] {
    a_status = t->Sync();
    a_done = true;
  })};
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(a_done) << "A returned while the only Sync RPC covering its write was blocked";
  EXPECT_EQ(gate.entered(), 1) << "A sent a Sync RPC of its own";
  gate.Release();
  a.t.join();
  b.t.join();
  ASSERT_OK(a_status);
  ASSERT_OK(b_status);
  EXPECT_EQ(gate.entered(), 1);
  EXPECT_EQ(c->synced("t", "b"), 1);
}

// A Sync never returns on an RPC that was sent before its write was
// acknowledged: it waits for that RPC to end and then sends the next one.
TEST(RemoteTableTest, SyncDoesNotReturnOnAnRpcSentBeforeItsWrite) {
  auto c = ThreeTablets();
  c->SetApplySyncSupported(false);  // Sync RPCs (servers without ApplyWithFlags)
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
  t->SetSyncJoinWaitMsForTesting(10000);
  Gate gate({0});
  c->OnSync(gate.Hook());
  Status b_status, a_status;
  std::atomic<bool> a_done{false};
  Joiner b{std::thread([&] {
    b_status = t->Set("k", "w:x", 1, "from B");
    if (b_status.ok()) b_status = t->Sync();  // RPC 0 covers only "k"
  })};
  ASSERT_TRUE(gate.WaitEntered(1));
  Joiner a{std::thread([&] {
    a_status = t->Set("h", "w:x", 1, "from A");
    if (a_status.ok()) a_status = t->Sync();
    a_done = true;
  })};
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(a_done) << "A returned on a Sync RPC sent before its write was acknowledged";
  EXPECT_EQ(c->cells("t").size(), 2u);
  gate.Release();
  a.t.join();
  b.t.join();
  ASSERT_OK(a_status);
  ASSERT_OK(b_status);
  EXPECT_EQ(gate.entered(), 2) << "A needed a Sync RPC of its own";
  EXPECT_EQ(c->synced("t", "b"), 2);
}

// A failed Sync RPC fails every Sync that was waiting on it.
TEST(RemoteTableTest, FailedSharedSyncRpcFailsEveryWaiter) {
  auto c = ThreeTablets();
  c->SetApplySyncSupported(false);  // Sync RPCs (servers without ApplyWithFlags)
  RemoteTableOptions o = test::FakeTableOptions();
  o.op_timeout_ms = 150;
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, o, &t));
  t->SetSyncJoinWaitMsForTesting(10000);
  Gate gate({0});
  c->OnSync(gate.Hook());
  ASSERT_OK(t->Set("h", "w:x", 1, "from A"));
  Status b_status, a_status;
  Joiner b{std::thread([&] {
    b_status = t->Set("k", "w:x", 1, "from B");
    if (b_status.ok()) b_status = t->Sync();
  })};
  ASSERT_TRUE(gate.WaitEntered(1));
  Joiner a{std::thread([&] { a_status = t->Sync(); })};
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  c->SetServerDown("s2", true);
  gate.Release();
  a.t.join();
  b.t.join();
  EXPECT_FALSE(b_status.ok());
  EXPECT_FALSE(a_status.ok()) << "A got OK from a Sync whose RPC failed";
  EXPECT_NE(a_status.message().find("s2"), std::string::npos) << a_status.ToString();
  EXPECT_EQ(c->synced("t", "b"), 0);
  c->SetServerDown("s2", false);
  ASSERT_OK(t->Sync());  // the failed tablet is synced again by the next Sync
  EXPECT_EQ(c->synced("t", "b"), 1);
}

// Flushes of different threads run concurrently, but a flush holding a row
// that an earlier flush still has in flight waits for it: the row's
// mutations arrive in the order they were applied.
TEST(RemoteTableTest, ConcurrentFlushesKeepTheOrderOfARow) {
  auto c = ThreeTablets();
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
  Gate gate({0});
  c->OnApply(gate.Hook());
  Status b_status, c_status;
  Joiner b{std::thread([&] {
    b_status = t->Set("r", "w:x", 1, "first");
    if (b_status.ok()) b_status = t->Flush();  // Apply 0, blocked
  })};
  ASSERT_TRUE(gate.WaitEntered(1));
  ASSERT_OK(t->Set("r", "w:x", 1, "second"));  // same cell: must land last
  ASSERT_OK(t->Set("h", "w:x", 1, "other row"));
  Joiner cj{std::thread([&] { c_status = t->Flush(); })};
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(gate.entered(), 1) << "the second flush of row r overtook the first";
  gate.Release();
  b.t.join();
  cj.t.join();
  ASSERT_OK(b_status);
  ASSERT_OK(c_status);
  std::vector<Cell> cells = ScanAll(t.get(), "row = \"r\"");
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].value, "second");
}

// A read waits only for the calling thread's own writes: another thread's
// batch in flight does not hold it up, its own buffered write is visible.
TEST(RemoteTableTest, ReadsWaitOnlyForTheirOwnThreadsWrites) {
  auto c = ThreeTablets();
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
  ASSERT_OK(t->Set("k", "w:x", 1, "old"));
  ASSERT_OK(t->Sync());
  Gate gate({0});
  c->OnApply(gate.Hook());
  Status b_status;
  Joiner b{std::thread([&] {
    b_status = t->Set("h", "w:x", 1, "from B");
    if (b_status.ok()) b_status = t->Flush();  // blocked in Apply 0
  })};
  ASSERT_TRUE(gate.WaitEntered(1));
  std::vector<Cell> cells = ScanAll(t.get(), "row = \"k\"");  // must not wait for B
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].value, "old");
  ASSERT_OK(t->Set("m", "w:x", 1, "mine"));
  cells = ScanAll(t.get(), "row = \"m\"");  // read-your-writes
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].value, "mine");
  uint64_t rev = 0;
  ASSERT_OK(t->GetRowRevision("m", &rev));
  EXPECT_GT(rev, 0u);
  EXPECT_EQ(gate.entered(), 2) << "B's flush is still blocked";
  gate.Release();
  b.t.join();
  ASSERT_OK(b_status);
}

// Flushes in flight are bounded: two for plain flushes (the writes of the
// threads that wait gather into one batch), four for flushes that carry a
// Sync (synced writes wait for the server's log).
TEST(RemoteTableTest, FlushesInFlightAreBoundedAndSyncsGetMoreSlots) {
  for (bool sync : {false, true}) {
    SCOPED_TRACE(sync ? "Sync" : "Flush");
    auto c = ThreeTablets();
    std::unique_ptr<RemoteTable> t;
    ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
    Gate gate({0, 1, 2, 3, 4, 5});
    c->OnApply(gate.Hook());
    constexpr int kThreads = 6;
    std::vector<Status> status(kThreads);
    std::vector<Joiner> threads(kThreads);
    for (int i = 0; i < kThreads; i++) {
      threads[i].t = std::thread([&, i] {
        status[i] = t->Set("r" + std::to_string(i), "w:x", 1, "v");
        if (status[i].ok()) status[i] = sync ? t->Sync() : t->Flush();
      });
    }
    const int bound = sync ? 4 : 2;
    ASSERT_TRUE(gate.WaitEntered(bound));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(gate.entered(), bound);
    gate.Release();
    for (Joiner& j : threads) j.t.join();
    for (const Status& s : status) EXPECT_OK(s);
    EXPECT_EQ(c->cells("t").size(), static_cast<size_t>(kThreads));
  }
}

TEST(RemoteTableTest, ClosedTableRefusesCalls) {
  auto c = ThreeTablets();
  std::unique_ptr<RemoteTable> t;
  ASSERT_OK(RemoteTable::OpenWithBackend(c, test::FakeTableOptions(), &t));
  ASSERT_OK(t->Set("a", "w:x", 1, "v"));
  ASSERT_OK(t->Close());
  EXPECT_EQ(c->cells("t").size(), 1u) << "Close flushes";
  EXPECT_FALSE(t->Set("a", "w:x", 2, "v").ok());
  EXPECT_FALSE(t->Sync().ok());
}

}  // namespace
}  // namespace kdi::client
