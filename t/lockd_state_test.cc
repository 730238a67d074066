// Unit tests of lockd's state machine (lockd/lock_state.h) on a real Berkeley DB
// store in a temporary directory, with a fake clock: locks, lock-delay, leases,
// ephemeral nodes, events, sequencers, path and ACL checks, and recovery.
#include "lockd/lock_state.h"

#include <memory>
#include <optional>

#include "lib/client/remote_options.h"
#include "lib/lock/lock_protocol.h"
#include "lockd/lockd_server.h"
#include "t/test_util.h"

namespace kdi::lockd {
namespace {

using lock::EventBit;
using lock::LockMode;
using lock::NodeStat;

class FakeClock : public Clock {
 public:
  int64_t NowMs() override { return now_; }
  int64_t WallMs() override { return 1700000000000 + now_; }
  void Advance(int64_t ms) { now_ += ms; }

 private:
  int64_t now_ = 1000;
};

struct LockResult {
  bool done = false;
  Status status;
  bool acquired = false;
  uint64_t generation = 0;
};

struct PollResult {
  bool done = false;
  Status status;
  int64_t lease_ms = 0;
  std::vector<lock::SessionEvent> events;
};

constexpr int64_t kLease = 1500;
constexpr int64_t kDelay = 500;

class LockStateTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }

  void Start() {
    StoreOptions so;
    so.dir = dir_.Join("data");
    so.sync = false;
    ASSERT_OK(LockStore::Open(so, &store_));
    StateOptions opts;
    opts.lease_ms = kLease;
    opts.lock_delay_ms = kDelay;
    opts.max_events_per_session = 100;
    opts.pause_gap_ms = pause_gap_ms_;
    state_ = std::make_unique<LockState>(opts, &clock_, store_.get());
    ASSERT_OK(state_->Recover());
  }

  // Simulates a lockd restart (kill -9 is covered by the daemon tests).
  void Restart() {
    state_.reset();
    store_.reset();
    Start();
  }

  Caller NewSession(const std::string& principal, rpc::Role role = rpc::Role::kServer) {
    Caller c;
    c.principal = principal;
    c.role = role;
    c.address = "127.0.0.1:1";
    int64_t lease = 0;
    EXPECT_OK(state_->CreateSession(c, &c.session_id, &lease));
    EXPECT_EQ(kLease, lease);
    return c;
  }

  uint64_t OpenOk(const Caller& c, const std::string& path, uint32_t mode, uint32_t mask = 0) {
    uint64_t h = 0;
    NodeStat st;
    Status s = state_->Open(c, path, mode, mask, "", &h, &st);
    EXPECT_TRUE(s.ok()) << path << ": " << s.ToString();
    return h;
  }

  std::shared_ptr<LockResult> Acquire(const Caller& c, uint64_t h, LockMode mode,
                                      int64_t wait_ms) {
    auto r = std::make_shared<LockResult>();
    state_->Acquire(c, h, mode, wait_ms, [r](const Status& s, bool acquired, uint64_t gen) {
      r->done = true;
      r->status = s;
      r->acquired = acquired;
      r->generation = gen;
    });
    EXPECT_OK(state_->Flush());
    return r;
  }

  std::shared_ptr<PollResult> Poll(const Caller& c, uint64_t acked, int64_t wait_ms) {
    auto r = std::make_shared<PollResult>();
    state_->KeepAlive(c, acked, wait_ms,
                      [r](const Status& s, int64_t lease, std::vector<lock::SessionEvent> ev) {
                        r->done = true;
                        r->status = s;
                        r->lease_ms = lease;
                        r->events = std::move(ev);
                      });
    EXPECT_OK(state_->Flush());
    return r;
  }

  void Advance(int64_t ms) {
    clock_.Advance(ms);
    state_->Tick();
    EXPECT_OK(state_->Flush());
  }

  int64_t pause_gap_ms_ = 0;  // the fake clock jumps on purpose
  test::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<LockStore> store_;
  std::unique_ptr<LockState> state_;
};

TEST_F(LockStateTest, BadPathsAreInvalidArgument) {
  Caller a = NewSession("a");
  uint64_t h = 0;
  const char* bad[] = {"relative/path", "/a/../b", "/a//b", "/a/", "/a/./b", "", "/a\nb"};
  for (const char* p : bad) {
    Status s = state_->Open(a, p, lock::kCreate | lock::kRead, 0, "", &h, nullptr);
    EXPECT_TRUE(s.IsInvalidArgument()) << "'" << p << "': " << s.ToString();
  }
  std::string too_long = "/" + std::string(lock::kMaxPathBytes, 'x');
  EXPECT_TRUE(state_->Open(a, too_long, lock::kCreate, 0, "", &h, nullptr).IsInvalidArgument());
  EXPECT_TRUE(state_->Open(a, "/x", lock::kEphemeral, 0, "", &h, nullptr).IsInvalidArgument());
  EXPECT_TRUE(state_->Open(a, "/x", 1u << 20, 0, "", &h, nullptr).IsInvalidArgument());
  EXPECT_TRUE(state_->Open(a, "/missing", lock::kRead, 0, "", &h, nullptr).IsNotFound());
  EXPECT_EQ(1u, state_->node_count());  // only the root
}

TEST_F(LockStateTest, ContentsGenerationsChecksumAndCas) {
  Caller a = NewSession("a");
  uint64_t h = OpenOk(a, "/dir/file", lock::kCreate | lock::kRead | lock::kWrite);
  NodeStat st;
  ASSERT_OK(state_->SetContents(a, h, "hello", false, 0, &st));
  EXPECT_EQ(1u, st.content_generation);
  EXPECT_EQ(5u, st.content_length);
  uint32_t sum = st.checksum;
  EXPECT_NE(0u, sum);
  ASSERT_OK(state_->SetContents(a, h, "world", true, 1, &st));
  EXPECT_EQ(2u, st.content_generation);
  EXPECT_NE(sum, st.checksum);

  Status s = state_->SetContents(a, h, "stale", true, 1, &st);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  std::string got;
  ASSERT_OK(state_->GetContents(a, h, &got, &st));
  EXPECT_EQ("world", got);
  EXPECT_EQ(2u, st.content_generation);

  std::string big(lock::kMaxContentsBytes + 1, 'x');
  EXPECT_TRUE(state_->SetContents(a, h, big, false, 0, &st).IsInvalidArgument());
  ASSERT_OK(state_->SetContents(a, h, std::string(lock::kMaxContentsBytes, 'y'), false, 0, &st));

  uint64_t d = OpenOk(a, "/dir", lock::kRead);
  std::vector<std::string> names;
  ASSERT_OK(state_->ReadDirectory(a, d, &names));
  EXPECT_EQ(std::vector<std::string>{"file"}, names);
}

TEST_F(LockStateTest, HandleModesAndForeignOrClosedHandles) {
  Caller a = NewSession("a");
  Caller b = NewSession("b");
  uint64_t ro = OpenOk(a, "/f", lock::kCreate | lock::kRead);
  NodeStat st;
  EXPECT_TRUE(state_->SetContents(a, ro, "x", false, 0, &st).IsInvalidArgument());
  EXPECT_TRUE(Acquire(a, ro, LockMode::kExclusive, 0)->status.IsInvalidArgument());
  // b uses a's handle number: refused, a unaffected.
  std::string got;
  EXPECT_TRUE(state_->GetContents(b, ro, &got, &st).IsInvalidArgument());
  EXPECT_TRUE(state_->CloseHandle(b, ro).IsInvalidArgument());
  ASSERT_OK(state_->GetContents(a, ro, &got, &st));
  ASSERT_OK(state_->CloseHandle(a, ro));
  EXPECT_TRUE(state_->GetContents(a, ro, &got, &st).IsInvalidArgument());
  EXPECT_TRUE(state_->CloseHandle(a, ro).IsInvalidArgument());
  // Unlock without a lock.
  uint64_t lk = OpenOk(a, "/f", lock::kLock);
  EXPECT_TRUE(state_->Release(a, lk).IsInvalidArgument());
  std::string seq;
  EXPECT_TRUE(state_->GetSequencer(a, lk, &seq).IsInvalidArgument());
  // Another principal cannot use a's session id.
  Caller thief = b;
  thief.session_id = a.session_id;
  EXPECT_TRUE(state_->Stat(thief, lk, &st).IsPermissionDenied());
  // Unknown session.
  Caller ghost = a;
  ghost.session_id = 12345;
  EXPECT_TRUE(state_->Stat(ghost, lk, &st).IsSessionExpired());
}

TEST_F(LockStateTest, HandlesAreBoundToTheNodeInstance) {
  Caller a = NewSession("a");
  uint64_t h1 = OpenOk(a, "/n", lock::kCreate | lock::kRead | lock::kWrite);
  NodeStat st1, st2;
  ASSERT_OK(state_->Stat(a, h1, &st1));
  ASSERT_OK(state_->Delete(a, h1));
  uint64_t h2 = OpenOk(a, "/n", lock::kCreate | lock::kRead);
  ASSERT_OK(state_->Stat(a, h2, &st2));
  EXPECT_NE(st1.instance, st2.instance);
  Status s = state_->Stat(a, h1, &st1);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_TRUE(state_->Delete(a, h1).IsNotFound());
}

TEST_F(LockStateTest, DeleteOnlyEmptyAndUnlockedNodes) {
  Caller a = NewSession("a");
  Caller b = NewSession("b");
  uint64_t dir = OpenOk(a, "/d", lock::kCreate | lock::kWrite);
  uint64_t child = OpenOk(a, "/d/c", lock::kCreate | lock::kWrite);
  EXPECT_TRUE(state_->Delete(a, dir).IsConflict());
  uint64_t bl = OpenOk(b, "/d/c", lock::kLock);
  ASSERT_TRUE(Acquire(b, bl, LockMode::kExclusive, 0)->acquired);
  EXPECT_TRUE(state_->Delete(a, child).IsConflict());
  ASSERT_OK(state_->Release(b, bl));
  ASSERT_OK(state_->Delete(a, child));
  ASSERT_OK(state_->Delete(a, dir));
  uint64_t root = OpenOk(a, "/", lock::kWrite);
  EXPECT_TRUE(state_->Delete(a, root).IsInvalidArgument());
  uint64_t h = 0;
  EXPECT_TRUE(state_->Open(a, "/d/c", lock::kExclusiveCreate, 0, "", &h, nullptr).ok());
  EXPECT_TRUE(state_->Open(a, "/d/c", lock::kExclusiveCreate, 0, "", &h, nullptr)
                  .IsAlreadyExists());
}

TEST_F(LockStateTest, ExclusiveLockIsFifoAndBlockingWaitsAreAnsweredLater) {
  Caller a = NewSession("a");
  Caller b = NewSession("b");
  uint64_t ha = OpenOk(a, "/lock", lock::kCreate | lock::kLock);
  uint64_t hb = OpenOk(b, "/lock", lock::kLock);
  auto ra = Acquire(a, ha, LockMode::kExclusive, 0);
  ASSERT_TRUE(ra->done);
  ASSERT_TRUE(ra->acquired);
  auto rb_try = Acquire(b, hb, LockMode::kExclusive, 0);
  ASSERT_TRUE(rb_try->done);
  EXPECT_OK(rb_try->status);
  EXPECT_FALSE(rb_try->acquired);
  auto rb = Acquire(b, hb, LockMode::kExclusive, 10000);
  EXPECT_FALSE(rb->done);
  // Re-acquiring what one holds is OK (idempotent for retries).
  EXPECT_TRUE(Acquire(a, ha, LockMode::kExclusive, 0)->acquired);
  EXPECT_TRUE(Acquire(a, ha, LockMode::kShared, 0)->status.IsInvalidArgument());
  ASSERT_OK(state_->Release(a, ha));
  EXPECT_FALSE(rb->done);  // not before Flush: nothing is answered before it is durable
  ASSERT_OK(state_->Flush());
  ASSERT_TRUE(rb->done);
  EXPECT_OK(rb->status);
  EXPECT_TRUE(rb->acquired);
  EXPECT_EQ(ra->generation + 1, rb->generation);
  // A deadline that passes gives TimedOut and leaves no waiter behind.
  auto ra2 = Acquire(a, ha, LockMode::kExclusive, 300);
  EXPECT_FALSE(ra2->done);
  Advance(299);
  EXPECT_FALSE(ra2->done);
  Advance(2);
  ASSERT_TRUE(ra2->done);
  EXPECT_TRUE(ra2->status.IsTimedOut());
  ASSERT_OK(state_->Release(b, hb));
  EXPECT_TRUE(Acquire(a, ha, LockMode::kExclusive, 0)->acquired);
}

TEST_F(LockStateTest, SharedLocksCoexistAndExcludeExclusive) {
  Caller a = NewSession("a");
  Caller b = NewSession("b");
  Caller c = NewSession("c");
  uint64_t ha = OpenOk(a, "/s", lock::kCreate | lock::kLock);
  uint64_t hb = OpenOk(b, "/s", lock::kLock);
  uint64_t hc = OpenOk(c, "/s", lock::kLock);
  EXPECT_TRUE(Acquire(a, ha, LockMode::kShared, 0)->acquired);
  EXPECT_TRUE(Acquire(b, hb, LockMode::kShared, 0)->acquired);
  EXPECT_FALSE(Acquire(c, hc, LockMode::kExclusive, 0)->acquired);
  auto rc = Acquire(c, hc, LockMode::kExclusive, 10000);
  // A shared request behind a waiting exclusive one queues (no writer starvation).
  uint64_t ha2 = OpenOk(a, "/s", lock::kLock);
  EXPECT_FALSE(Acquire(a, ha2, LockMode::kShared, 0)->acquired);
  ASSERT_OK(state_->Release(a, ha));
  ASSERT_OK(state_->Flush());
  EXPECT_FALSE(rc->done);
  ASSERT_OK(state_->Release(b, hb));
  ASSERT_OK(state_->Flush());
  ASSERT_TRUE(rc->done);
  EXPECT_TRUE(rc->acquired);
  NodeStat st;
  ASSERT_OK(state_->Stat(c, hc, &st));
  EXPECT_EQ(LockMode::kExclusive, st.lock_mode);
  EXPECT_EQ(1u, st.lock_holders);
}

TEST_F(LockStateTest, ExpiredHolderReleasesAfterLeaseAndLockDelay) {
  Caller a = NewSession("a");
  Caller b = NewSession("b");
  uint64_t ha = OpenOk(a, "/kdi/servers/a:1", lock::kCreate | lock::kEphemeral | lock::kLock);
  uint64_t la = OpenOk(a, "/lock", lock::kCreate | lock::kLock);
  ASSERT_TRUE(Acquire(a, ha, LockMode::kExclusive, 0)->acquired);
  ASSERT_TRUE(Acquire(a, la, LockMode::kExclusive, 0)->acquired);
  std::string seq;
  ASSERT_OK(state_->GetSequencer(a, la, &seq));
  ASSERT_OK(state_->CheckSequencer(seq));

  uint64_t dir = OpenOk(b, "/kdi/servers", lock::kRead, EventBit(lock::kChildRemoved));
  uint64_t lb = OpenOk(b, "/lock", lock::kLock,
                       EventBit(lock::kLockReleased) | EventBit(lock::kLockAcquired));
  (void)dir;
  auto rb = Acquire(b, lb, LockMode::kExclusive, 60000);
  EXPECT_FALSE(rb->done);

  // b keeps its session alive; a does not.
  for (int t = 0; t < kLease; t += 250) {
    Advance(250);
    Poll(b, 0, 0);
  }
  EXPECT_EQ(1u, state_->session_count());
  NodeStat st;
  EXPECT_TRUE(state_->Stat(a, la, &st).IsSessionExpired());
  // The ephemeral node is gone; the lock is in lock-delay.
  EXPECT_EQ(4u, state_->node_count());  // "/", "/kdi", "/kdi/servers", "/lock"
  EXPECT_FALSE(rb->done);
  Advance(kDelay - 260);
  EXPECT_FALSE(rb->done);
  Advance(300);
  ASSERT_TRUE(rb->done);
  EXPECT_TRUE(rb->acquired);
  EXPECT_TRUE(state_->CheckSequencer(seq).IsConflict());

  auto poll = Poll(b, 0, 0);
  ASSERT_TRUE(poll->done);
  std::vector<lock::EventType> types;
  for (auto& e : poll->events) types.push_back(e.event.type);
  // Expiry releases the locks before it deletes the ephemeral nodes.
  std::vector<lock::EventType> want = {lock::kLockReleased, lock::kChildRemoved,
                                       lock::kLockAcquired};
  EXPECT_EQ(want, types);
  EXPECT_EQ("/kdi/servers/a:1", poll->events[1].event.path);
  for (size_t i = 1; i < poll->events.size(); ++i) {
    EXPECT_EQ(poll->events[i - 1].seq + 1, poll->events[i].seq);
  }
  // Acknowledged events are not sent again.
  auto poll2 = Poll(b, poll->events.back().seq, 0);
  EXPECT_TRUE(poll2->events.empty());
}

TEST_F(LockStateTest, CleanCloseReleasesWithoutLockDelay) {
  Caller a = NewSession("a");
  Caller b = NewSession("b");
  uint64_t la = OpenOk(a, "/lock", lock::kCreate | lock::kLock);
  uint64_t lb = OpenOk(b, "/lock", lock::kLock);
  ASSERT_TRUE(Acquire(a, la, LockMode::kExclusive, 0)->acquired);
  auto rb = Acquire(b, lb, LockMode::kExclusive, 60000);
  ASSERT_OK(state_->CloseSession(a));
  ASSERT_OK(state_->Flush());
  ASSERT_TRUE(rb->done);
  EXPECT_TRUE(rb->acquired);
}

TEST_F(LockStateTest, KeepAliveIsALongPoll) {
  Caller a = NewSession("a");
  uint64_t h = OpenOk(a, "/w", lock::kCreate | lock::kWrite, EventBit(lock::kContentsChanged));
  auto p = Poll(a, 0, 10000);
  EXPECT_FALSE(p->done);
  NodeStat st;
  ASSERT_OK(state_->SetContents(a, h, "x", false, 0, &st));
  ASSERT_OK(state_->Flush());
  ASSERT_TRUE(p->done);
  ASSERT_EQ(1u, p->events.size());
  EXPECT_EQ(lock::kContentsChanged, p->events[0].event.type);
  EXPECT_EQ(h, p->events[0].event.handle_id);
  EXPECT_EQ(kLease, p->lease_ms);
  // With nothing to say, the poll returns after lease/3 and renews the lease.
  auto p2 = Poll(a, p->events[0].seq, 10000);
  EXPECT_FALSE(p2->done);
  Advance(kLease / 3 - 10);
  EXPECT_FALSE(p2->done);
  Advance(20);
  ASSERT_TRUE(p2->done);
  EXPECT_OK(p2->status);
  EXPECT_TRUE(p2->events.empty());
  // Polling for longer than a lease keeps the session alive.
  for (int i = 0; i < 10; ++i) {
    auto p3 = Poll(a, 0, 10000);
    Advance(kLease / 3 + 1);
    ASSERT_TRUE(p3->done);
  }
  EXPECT_EQ(1u, state_->session_count());
  // An expired session's poll says so.
  Advance(kLease + 1);
  auto p4 = Poll(a, 0, 10000);
  ASSERT_TRUE(p4->done);
  EXPECT_TRUE(p4->status.IsSessionExpired());
}

TEST_F(LockStateTest, ClientRoleCannotTouchKdiServerNames) {
  Caller cl = NewSession("app", rpc::Role::kClient);
  Caller srv = NewSession("tabletd", rpc::Role::kServer);
  uint64_t h = 0;
  const char* names[] = {"/kdi/servers/h:1", "/kdi/master", "/kdi/root", "/kdi/tablets/t/1",
                         "/kdi/tables/t", "/kdi/servers"};
  for (const char* p : names) {
    EXPECT_TRUE(state_->Open(cl, p, lock::kCreate, 0, "", &h, nullptr).IsPermissionDenied())
        << p;
    EXPECT_TRUE(state_->Open(cl, p, lock::kLock, 0, "", &h, nullptr).IsPermissionDenied()) << p;
  }
  uint64_t sh = OpenOk(srv, "/kdi/master", lock::kCreate | lock::kLock | lock::kWrite);
  ASSERT_TRUE(Acquire(srv, sh, LockMode::kExclusive, 0)->acquired);
  // Clients may read them, and may use names outside the protected ones.
  uint64_t ch = OpenOk(cl, "/kdi/master", lock::kRead);
  std::string got;
  ASSERT_OK(state_->GetContents(cl, ch, &got, nullptr));
  OpenOk(cl, "/kdi/masterplan", lock::kCreate | lock::kLock);
  OpenOk(cl, "/app/lock", lock::kCreate | lock::kLock);
}

TEST_F(LockStateTest, RestartKeepsStateAndSessionsForTheGracePeriod) {
  Caller a = NewSession("a");
  Caller b = NewSession("b");
  uint64_t la = OpenOk(a, "/lock", lock::kCreate | lock::kLock | lock::kWrite | lock::kRead);
  uint64_t lb = OpenOk(b, "/b-lock", lock::kCreate | lock::kLock);
  OpenOk(b, "/b-eph", lock::kCreate | lock::kEphemeral);
  NodeStat st;
  ASSERT_OK(state_->SetContents(a, la, "v1", false, 0, &st));
  ASSERT_TRUE(Acquire(a, la, LockMode::kExclusive, 0)->acquired);
  ASSERT_TRUE(Acquire(b, lb, LockMode::kExclusive, 0)->acquired);
  std::string seq;
  ASSERT_OK(state_->GetSequencer(a, la, &seq));

  Restart();
  EXPECT_EQ(2u, state_->session_count());
  std::string got;
  ASSERT_OK(state_->GetContents(a, la, &got, &st));
  EXPECT_EQ("v1", got);
  EXPECT_EQ(LockMode::kExclusive, st.lock_mode);
  ASSERT_OK(state_->CheckSequencer(seq));
  // a reconnects (keepalives); b never does.
  for (int t = 0; t <= kLease; t += 250) {
    Poll(a, 0, 0);
    Advance(250);
  }
  EXPECT_EQ(1u, state_->session_count());
  ASSERT_OK(state_->CheckSequencer(seq));
  Caller c = NewSession("c");
  uint64_t h = 0;
  EXPECT_TRUE(state_->Open(c, "/b-eph", lock::kRead, 0, "", &h, nullptr).IsNotFound());
  uint64_t lc = OpenOk(c, "/b-lock", lock::kLock);
  EXPECT_FALSE(Acquire(c, lc, LockMode::kExclusive, 0)->acquired);  // lock-delay
  Advance(kDelay);
  EXPECT_TRUE(Acquire(c, lc, LockMode::kExclusive, 0)->acquired);
  // Events after the restart are numbered above those before it, so a client
  // that acknowledged old numbers still gets the new ones.
  uint64_t watch = OpenOk(a, "/lock", lock::kWrite, EventBit(lock::kContentsChanged));
  ASSERT_OK(state_->SetContents(a, watch, "v2", false, 0, &st));
  auto p = Poll(a, 1000000, 0);
  ASSERT_EQ(1u, p->events.size());
  EXPECT_EQ(lock::kContentsChanged, p->events[0].event.type);
  // Counters survive: new handles and instances never reuse old numbers.
  uint64_t fresh = OpenOk(c, "/new", lock::kCreate);
  EXPECT_GT(fresh, la);
  EXPECT_GT(fresh, lb);
}

TEST_F(LockStateTest, APauseOfLockdItselfExtendsLeases) {
  pause_gap_ms_ = 300;
  Restart();
  Caller a = NewSession("a");
  uint64_t la = OpenOk(a, "/lock", lock::kCreate | lock::kLock);
  ASSERT_TRUE(Acquire(a, la, LockMode::kExclusive, 0)->acquired);
  // Normal ticking: the lease runs out.
  for (int t = 0; t < kLease - 100; t += 20) Advance(20);
  NodeStat st;
  ASSERT_OK(state_->Stat(a, la, &st));
  // lockd stops for 5 s: nobody could renew, so the lease is extended.
  Advance(5000);
  ASSERT_OK(state_->Stat(a, la, &st));
  EXPECT_EQ(LockMode::kExclusive, st.lock_mode);
  for (int t = 0; t < kLease; t += 20) Advance(20);
  EXPECT_TRUE(state_->Stat(a, la, &st).IsSessionExpired());
}

TEST_F(LockStateTest, EventQueueIsBounded) {
  Caller a = NewSession("a");
  uint64_t h = OpenOk(a, "/e", lock::kCreate | lock::kWrite, EventBit(lock::kContentsChanged));
  NodeStat st;
  for (int i = 0; i < 250; ++i) ASSERT_OK(state_->SetContents(a, h, "x", false, 0, &st));
  auto p = Poll(a, 0, 0);
  ASSERT_EQ(100u, p->events.size());
  EXPECT_EQ(lock::kEventsDropped, p->events[0].event.type);
}

TEST_F(LockStateTest, SequencerGarbageIsInvalid) {
  EXPECT_TRUE(state_->CheckSequencer("garbage").IsInvalidArgument());
  EXPECT_TRUE(state_->CheckSequencer("").IsInvalidArgument());
}

}  // namespace
// Regression: lockd listened on 7100 by default while kdi://HOST/TABLE (no
// port) looked for it on 7400.
TEST(LockdDefaultsTest, ListensWhereClientsLookByDefault) {
  LockdServerOptions o;
  EXPECT_EQ(o.listen_address,
            "127.0.0.1:" + std::to_string(kdi::client::kDefaultLockdPort));
}

}  // namespace kdi::lockd
