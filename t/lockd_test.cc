// Acceptance tests of lockd: the real ./lockd/lockd process on a loopback port
// (t/mini_cluster.h starts and always kills it), used through the public lock
// client (kdi/lock_client.h) and, for malformed input, through a raw channel.
// Leases are short (1500 ms, lock-delay 500 ms) so the suite stays quick.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "kdi/lock_client.h"
#include "lib/lock/lock_protocol.h"
#include "lib/rpc/channel.h"
#include "lib/rpc/tls.h"
#include "t/mini_cluster.h"
#include "t/test_util.h"

namespace kdi::lock {
namespace {

using test::MonoMs;
using test::TlsFiles;

constexpr int64_t kLease = 1500;
constexpr int64_t kDelay = 500;

void Sleep(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Collects events delivered to a session's callback.
class EventLog {
 public:
  EventCallback Callback() {
    return [this](const Event& e) {
      std::lock_guard<std::mutex> l(mu_);
      events_.push_back(e);
    };
  }
  // Waits up to timeout_ms for an event of that type (and path, if given).
  bool WaitFor(EventType type, const std::string& path = "", int64_t timeout_ms = 3000) {
    int64_t deadline = MonoMs() + timeout_ms;
    do {
      {
        std::lock_guard<std::mutex> l(mu_);
        for (const Event& e : events_) {
          if (e.type == type && (path.empty() || e.path == path)) return true;
        }
      }
      Sleep(10);
    } while (MonoMs() < deadline);
    return false;
  }
  std::vector<Event> Snapshot() {
    std::lock_guard<std::mutex> l(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::vector<Event> events_;
};

// A lock client in a child process (t/lock_child), killed on destruction.
class Child {
 public:
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (in_) fclose(in_);
    if (out_) fclose(out_);
  }
  Status Start(const std::vector<std::string>& args) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) return ErrnoToStatus("pipe", errno);
    std::string binary = test::BuildDir() + "/t/lock_child";
    pid_ = fork();
    if (pid_ < 0) return ErrnoToStatus("fork", errno);
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      dup2(to_child[0], 0);
      dup2(from_child[1], 1);
      close(to_child[1]);
      close(from_child[0]);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(binary.c_str()));
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    in_ = fdopen(to_child[1], "w");
    out_ = fdopen(from_child[0], "r");
    return Status::OK();
  }
  // Next line of output ("" at EOF).
  std::string ReadLine() {
    char buf[4096];
    if (fgets(buf, sizeof(buf), out_) == nullptr) return "";
    std::string s(buf);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }
  void WriteLine(const std::string& s) {
    fprintf(in_, "%s\n", s.c_str());
    fflush(in_);
  }
  void Signal(int sig) { kill(pid_, sig); }
  int Wait() {
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

 private:
  pid_t pid_ = -1;
  FILE* in_ = nullptr;
  FILE* out_ = nullptr;
};

std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

class LockdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::MiniClusterOptions o;
    o.num_masters = 0;
    o.num_tablet_servers = 0;
    o.lease_ms = kLease;
    o.log_level = "info";
    o.lockd_args = {"--lockd_lock_delay_ms=" + std::to_string(kDelay)};
    cluster_ = std::make_unique<test::MiniCluster>(o);
    ASSERT_OK(cluster_->Start());
  }

  Status Session(const TlsFiles& tls, std::unique_ptr<LockSession>* s,
                 EventCallback cb = nullptr) {
    LockSessionOptions o;
    o.service = "lockd://" + cluster_->lockd_address();
    o.tls_ca_file = tls.ca_file;
    o.tls_cert_file = tls.cert_file;
    o.tls_key_file = tls.key_file;
    o.op_timeout_ms = 5000;
    o.on_event = std::move(cb);
    return OpenLockSession(o, s);
  }

  std::vector<std::string> ChildArgs(const std::string& lock_path, const std::string& eph) {
    TlsFiles t = cluster_->ServerTls();
    return {cluster_->lockd_address(), t.ca_file, t.cert_file, t.key_file, lock_path, eph};
  }

  std::unique_ptr<test::MiniCluster> cluster_;
};

TEST_F(LockdTest, ExclusiveLockHasOneHolderOverAThousandAlternations) {
  std::unique_ptr<LockSession> sa, sb;
  ASSERT_OK(Session(cluster_->ServerTls(), &sa));
  ASSERT_OK(Session(cluster_->ServerTls(), &sb));
  std::atomic<int> holders{0};
  std::atomic<int> violations{0};
  std::atomic<int> total{0};
  std::atomic<int> last{-1};
  std::atomic<int> switches{0};
  const int kPerClient = 500;
  auto run = [&](LockSession* s, int who) {
    std::unique_ptr<LockHandle> h;
    Status st = s->Open("/test/mutex", kCreate | kLock, 0, &h);
    if (!st.ok()) {
      ADD_FAILURE() << st.ToString();
      return;
    }
    for (int i = 0; i < kPerClient; ++i) {
      st = h->Lock(LockMode::kExclusive, 10000);
      if (!st.ok()) {
        ADD_FAILURE() << st.ToString();
        return;
      }
      if (holders.fetch_add(1) != 0) violations++;
      if (last.exchange(who) != who) switches++;
      total++;
      std::this_thread::yield();
      holders.fetch_sub(1);
      st = h->Unlock();
      if (!st.ok()) {
        ADD_FAILURE() << st.ToString();
        return;
      }
    }
  };
  std::thread ta(run, sa.get(), 0), tb(run, sb.get(), 1);
  ta.join();
  tb.join();
  EXPECT_EQ(0, violations.load());
  EXPECT_EQ(2 * kPerClient, total.load());
  // FIFO hand-over: while both contend, the lock alternates between them.
  EXPECT_GT(switches.load(), kPerClient);
  std::cerr << "lock changed hands " << switches.load() << " times in " << total.load()
            << " acquisitions\n";
  EXPECT_OK(sa->Close());
  EXPECT_OK(sb->Close());
}

TEST_F(LockdTest, SharedLocksCoexistAndExcludeExclusive) {
  std::unique_ptr<LockSession> sa, sb, sc;
  ASSERT_OK(Session(cluster_->ServerTls(), &sa));
  ASSERT_OK(Session(cluster_->ServerTls(), &sb));
  ASSERT_OK(Session(cluster_->ServerTls(), &sc));
  std::unique_ptr<LockHandle> ha, hb, hc;
  ASSERT_OK(sa->Open("/test/shared", kCreate | kLock, 0, &ha));
  ASSERT_OK(sb->Open("/test/shared", kLock, 0, &hb));
  ASSERT_OK(sc->Open("/test/shared", kLock, 0, &hc));
  ASSERT_OK(ha->Lock(LockMode::kShared, 1000));
  ASSERT_OK(hb->Lock(LockMode::kShared, 1000));
  NodeStat st;
  ASSERT_OK(hc->Stat(&st));
  EXPECT_EQ(LockMode::kShared, st.lock_mode);
  EXPECT_EQ(2u, st.lock_holders);
  bool acquired = true;
  ASSERT_OK(hc->TryLock(LockMode::kExclusive, &acquired));
  EXPECT_FALSE(acquired);
  int64_t t0 = MonoMs();
  Status s = hc->Lock(LockMode::kExclusive, 300);
  EXPECT_TRUE(s.IsTimedOut()) << s.ToString();
  EXPECT_GE(MonoMs() - t0, 290);
  std::atomic<bool> got{false};
  std::thread waiter([&] { got = hc->Lock(LockMode::kExclusive, 5000).ok(); });
  Sleep(100);
  ASSERT_OK(ha->Unlock());
  Sleep(100);
  EXPECT_FALSE(got.load());
  ASSERT_OK(hb->Unlock());
  waiter.join();
  EXPECT_TRUE(got.load());
  ASSERT_OK(ha->TryLock(LockMode::kShared, &acquired));
  EXPECT_FALSE(acquired);
}

TEST_F(LockdTest, FrozenHolderLosesLockAfterLeaseAndLockDelay) {
  Child a;
  ASSERT_OK(a.Start(ChildArgs("/test/frozen-lock", "/test/dir/a-ephemeral")));
  std::string seq_line = a.ReadLine();
  ASSERT_EQ(0u, seq_line.rfind("SEQ ", 0)) << seq_line;
  std::string seq = FromHex(seq_line.substr(4));
  ASSERT_EQ("READY", a.ReadLine());

  EventLog events;
  std::unique_ptr<LockSession> sb;
  ASSERT_OK(Session(cluster_->ServerTls(), &sb, events.Callback()));
  std::unique_ptr<LockHandle> dir, hb;
  ASSERT_OK(sb->Open("/test/dir", kRead, EventBit(kChildRemoved), &dir));
  ASSERT_OK(sb->Open("/test/frozen-lock", kLock,
                     EventBit(kLockReleased) | EventBit(kLockAcquired), &hb));
  ASSERT_OK(sb->CheckSequencer(seq));
  bool acquired = true;
  ASSERT_OK(hb->TryLock(LockMode::kExclusive, &acquired));
  ASSERT_FALSE(acquired);

  // lockd's own view of A's lease, just before A freezes: A's lease cannot end
  // before now + lease_left (a later keepalive only moves it later).
  int64_t before = MonoMs();
  std::vector<SessionInfo> sessions;
  ASSERT_OK(sb->ListSessions(&sessions));
  int64_t a_lease_left = -1;
  for (const SessionInfo& si : sessions) {
    if (si.session_id != sb->session_id()) a_lease_left = si.lease_left_ms;
  }
  ASSERT_GT(a_lease_left, 0);
  a.Signal(SIGSTOP);
  int64_t stopped = MonoMs();

  Status s = hb->Lock(LockMode::kExclusive, 10000);
  int64_t got = MonoMs();
  ASSERT_OK(s);
  EXPECT_GE(got, before + a_lease_left + kDelay);
  EXPECT_LE(got - stopped, kLease + kDelay + 1500);
  std::cerr << "B got the lock " << (got - stopped) << " ms after A froze (lease " << kLease
            << " + lock-delay " << kDelay << ")\n";

  std::unique_ptr<LockHandle> gone;
  EXPECT_TRUE(sb->Open("/test/dir/a-ephemeral", kRead, 0, &gone).IsNotFound());
  EXPECT_TRUE(events.WaitFor(kLockReleased, "/test/frozen-lock"));
  EXPECT_TRUE(events.WaitFor(kChildRemoved, "/test/dir/a-ephemeral"));
  EXPECT_TRUE(events.WaitFor(kLockAcquired, "/test/frozen-lock"));
  // A's sequencer is stale: a server checking it would refuse A's requests.
  s = sb->CheckSequencer(seq);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();

  a.Signal(SIGCONT);
  a.WriteLine("CHECK");
  EXPECT_EQ("STATE expired", a.ReadLine());
  EXPECT_EQ("OP SessionExpired", a.ReadLine());
  EXPECT_EQ(0, a.Wait());
}

TEST_F(LockdTest, KillNineKeepsAcknowledgedWritesAndReconnectingSessions) {
  // C holds a lock and an ephemeral node, and will never come back.
  Child c;
  ASSERT_OK(c.Start(ChildArgs("/test/c-lock", "/test/c-ephemeral")));
  ASSERT_EQ(0u, c.ReadLine().rfind("SEQ ", 0));
  ASSERT_EQ("READY", c.ReadLine());

  EventLog a_events;
  std::unique_ptr<LockSession> sa;
  ASSERT_OK(Session(cluster_->ServerTls(), &sa, a_events.Callback()));
  std::unique_ptr<LockHandle> alock;
  ASSERT_OK(sa->Open("/test/a-lock", kCreate | kLock, 0, &alock));
  ASSERT_OK(alock->Lock(LockMode::kExclusive, 1000));
  std::string aseq;
  ASSERT_OK(alock->GetSequencer(&aseq));

  // Writers: each records the last value lockd acknowledged.
  const int kWriters = 3;
  std::atomic<bool> stop{false};
  std::vector<int64_t> acked(kWriters, -1);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      std::unique_ptr<LockHandle> h;
      if (!sa->Open("/test/w" + std::to_string(w), kCreate | kWrite, 0, &h).ok()) return;
      for (int64_t v = 0; !stop; ++v) {
        if (h->SetContents(std::to_string(v)).ok()) {
          acked[w] = v;
        } else {
          Sleep(20);
        }
      }
    });
  }
  Sleep(300);
  c.Signal(SIGKILL);
  ASSERT_OK(cluster_->lockd()->Kill());
  c.Wait();
  Sleep(200);
  // lockd recovers after this moment, so C's grace cannot end before
  // restarted + lease.
  int64_t restarted = MonoMs();
  ASSERT_OK(cluster_->lockd()->Start());
  ASSERT_OK(cluster_->lockd()->WaitUntilReady());
  Sleep(300);
  stop = true;
  for (auto& t : writers) t.join();

  std::unique_ptr<LockSession> sd;
  ASSERT_OK(Session(cluster_->ServerTls(), &sd));
  for (int w = 0; w < kWriters; ++w) {
    std::unique_ptr<LockHandle> h;
    ASSERT_OK(sd->Open("/test/w" + std::to_string(w), kRead, 0, &h));
    std::string v;
    ASSERT_OK(h->GetContents(&v));
    EXPECT_GE(acked[w], 0);
    // The last acknowledged write is there (a later, unacknowledged one may be too).
    EXPECT_GE(std::stoll(v), acked[w]) << "writer " << w;
    EXPECT_LE(std::stoll(v), acked[w] + 1) << "writer " << w;
  }
  // A reconnected by itself and still holds its lock.
  EXPECT_NE(SessionState::kExpired, sa->state());
  EXPECT_OK(sa->CheckSequencer(aseq));
  NodeStat st;
  ASSERT_OK(alock->Stat(&st));
  EXPECT_EQ(LockMode::kExclusive, st.lock_mode);
  std::unique_ptr<LockHandle> dlock;
  ASSERT_OK(sd->Open("/test/a-lock", kLock, 0, &dlock));
  bool acquired = true;
  ASSERT_OK(dlock->TryLock(LockMode::kExclusive, &acquired));
  EXPECT_FALSE(acquired);

  // C's session is kept for the grace period (one lease), then expires:
  // its ephemeral node goes and its lock is free after the lock-delay.
  std::unique_ptr<LockHandle> clock_h;
  ASSERT_OK(sd->Open("/test/c-lock", kLock, 0, &clock_h));
  if (MonoMs() - restarted < kLease - 200) {
    ASSERT_OK(clock_h->TryLock(LockMode::kExclusive, &acquired));
    EXPECT_FALSE(acquired);
  }
  ASSERT_OK(clock_h->Lock(LockMode::kExclusive, 5000));
  EXPECT_GE(MonoMs() - restarted, kLease + kDelay - 100);
  std::unique_ptr<LockHandle> gone;
  EXPECT_TRUE(sd->Open("/test/c-ephemeral", kRead, 0, &gone).IsNotFound());
  EXPECT_NE(SessionState::kExpired, sa->state());
  EXPECT_OK(sa->CheckSequencer(aseq));
}

TEST_F(LockdTest, PausedLockdPutsSessionsInJeopardyThenSafe) {
  EventLog log;
  std::unique_ptr<LockSession> s;
  ASSERT_OK(Session(cluster_->ServerTls(), &s, log.Callback()));
  std::unique_ptr<LockHandle> h;
  ASSERT_OK(s->Open("/test/jeopardy", kCreate | kLock, 0, &h));
  ASSERT_OK(h->Lock(LockMode::kExclusive, 1000));
  std::string seq;
  ASSERT_OK(h->GetSequencer(&seq));
  Sleep(200);
  ASSERT_OK(cluster_->lockd()->Pause());
  int64_t paused = MonoMs();
  // The client must notice before its lease could have ended at lockd.
  EXPECT_TRUE(log.WaitFor(kSessionJeopardy, "", kLease));
  EXPECT_LT(MonoMs() - paused, kLease);
  EXPECT_EQ(SessionState::kJeopardy, s->state());
  Sleep(paused + 1300 - MonoMs());
  ASSERT_OK(cluster_->lockd()->Resume());
  // lockd noticed its own pause and extended the leases: the session survives.
  EXPECT_TRUE(log.WaitFor(kSessionSafe, "", 3000));
  EXPECT_EQ(SessionState::kSafe, s->state());
  EXPECT_OK(s->CheckSequencer(seq));
  std::vector<Event> ev = log.Snapshot();
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(kSessionJeopardy, ev[0].type);
  EXPECT_EQ(kSessionSafe, ev[1].type);
}

TEST_F(LockdTest, CompareAndSetWithStaleGenerationChangesNothing) {
  std::unique_ptr<LockSession> s;
  ASSERT_OK(Session(cluster_->ClientTls(), &s));
  std::unique_ptr<LockHandle> h;
  NodeStat st;
  ASSERT_OK(s->Open("/app/config", kCreate | kRead | kWrite, 0, &h, &st, "v0"));
  EXPECT_EQ(0u, st.content_generation);
  ASSERT_OK(h->SetContents("v1", 0, &st));
  EXPECT_EQ(1u, st.content_generation);
  Status cas = h->SetContents("v-stale", 0, &st);
  EXPECT_TRUE(cas.IsConflict()) << cas.ToString();
  std::string v;
  ASSERT_OK(h->GetContents(&v, &st));
  EXPECT_EQ("v1", v);
  EXPECT_EQ(1u, st.content_generation);
}

TEST_F(LockdTest, EventsReachTheCallbackInOrder) {
  EventLog log;
  std::unique_ptr<LockSession> sa, sb;
  ASSERT_OK(Session(cluster_->ClientTls(), &sa, log.Callback()));
  ASSERT_OK(Session(cluster_->ClientTls(), &sb));
  std::unique_ptr<LockHandle> watch, w;
  ASSERT_OK(sa->Open("/app/watched", kCreate | kRead,
                     EventBit(kContentsChanged) | EventBit(kNodeDeleted), &watch));
  ASSERT_OK(sb->Open("/app/watched", kWrite, 0, &w));
  for (int i = 0; i < 5; ++i) ASSERT_OK(w->SetContents("x" + std::to_string(i)));
  ASSERT_OK(w->Delete());
  ASSERT_TRUE(log.WaitFor(kNodeDeleted, "/app/watched"));
  std::vector<Event> ev = log.Snapshot();
  ASSERT_EQ(6u, ev.size());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(kContentsChanged, ev[i].type);
  EXPECT_EQ(kNodeDeleted, ev[5].type);
  EXPECT_EQ(watch->id(), ev[5].handle_id);
  NodeStat st;
  EXPECT_TRUE(watch->Stat(&st).IsNotFound());
}

TEST_F(LockdTest, BadInputGetsClearErrorsAndLockdKeepsServing) {
  std::unique_ptr<LockSession> s, other;
  ASSERT_OK(Session(cluster_->ServerTls(), &s));
  ASSERT_OK(Session(cluster_->ServerTls(), &other));
  std::unique_ptr<LockHandle> h;
  for (const std::string& p : {std::string("relative"), std::string("/a/../b"),
                               std::string("/a//b"), "/" + std::string(2000, 'x')}) {
    Status st = s->Open(p, kCreate, 0, &h);
    EXPECT_TRUE(st.IsInvalidArgument()) << p.substr(0, 20) << ": " << st.ToString();
  }
  ASSERT_OK(s->Open("/test/bad", kCreate | kWrite | kLock | kRead, 0, &h));
  EXPECT_TRUE(h->SetContents(std::string(kMaxContentsBytes + 1, 'x')).IsInvalidArgument());
  Status st = h->Unlock();
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();

  // The same checks at lockd, bypassing the client library.
  TlsFiles t = cluster_->ServerTls();
  rpc::TlsOptions to{t.ca_file, t.cert_file, t.key_file};
  std::shared_ptr<rpc::TlsContext> tls;
  ASSERT_OK(rpc::TlsContext::CreateClient(to, &tls));
  rpc::ChannelOptions co;
  co.address = cluster_->lockd_address();
  co.tls = tls;
  rpc::Channel raw(co);
  auto call = [&](uint16_t type, const LockRequest& req) {
    std::string body, reply;
    EncodeRequest(type, req, &body);
    return raw.Call(type, body, &reply, 5000);
  };
  LockRequest req;
  req.session_id = s->session_id();
  for (const std::string& p : {std::string("relative"), std::string("/a/.."),
                               std::string("/a//b"), std::string("/a/"),
                               "/" + std::string(2000, 'x')}) {
    req.path = p;
    req.mode = kCreate;
    st = call(kMsgOpen, req);
    EXPECT_TRUE(st.IsInvalidArgument()) << p.substr(0, 20) << ": " << st.ToString();
  }
  req.path = "/test/bad";
  req.mode = kWrite;
  req.contents = std::string(kMaxContentsBytes + 1, 'x');
  st = call(kMsgOpen, req);
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  // Another session's handle, a closed handle, a made-up session.
  LockRequest foreign;
  foreign.session_id = other->session_id();
  foreign.handle = h->id();
  st = call(kMsgStat, foreign);
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  std::unique_ptr<LockHandle> closed;
  ASSERT_OK(s->Open("/test/bad", kRead, 0, &closed));
  ASSERT_OK(closed->Close());
  NodeStat ns;
  st = closed->Stat(&ns);
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  LockRequest ghost;
  ghost.session_id = 42;
  ghost.handle = h->id();
  EXPECT_TRUE(call(kMsgStat, ghost).IsSessionExpired());
  // Garbage bodies and bad lock modes.
  std::string reply;
  st = raw.Call(kMsgOpen, std::string("\xff\xff\xff", 3), &reply, 5000);
  EXPECT_TRUE(st.code() == Status::Code::kProtocolError) << st.ToString();
  LockRequest bad_mode;
  bad_mode.session_id = s->session_id();
  bad_mode.handle = h->id();
  bad_mode.mode = 7;
  EXPECT_TRUE(call(kMsgAcquire, bad_mode).IsInvalidArgument());
  EXPECT_TRUE(call(kMsgCheckSequencer, LockRequest()).IsInvalidArgument());

  // lockd still serves everyone.
  ASSERT_OK(h->SetContents("fine"));
  std::string v;
  ASSERT_OK(h->GetContents(&v));
  EXPECT_EQ("fine", v);
  ASSERT_OK(h->Lock(LockMode::kExclusive, 1000));
  ASSERT_OK(h->Unlock());
}

TEST_F(LockdTest, ClientRoleCannotCreateOrLockKdiServerNames) {
  std::unique_ptr<LockSession> client, server;
  ASSERT_OK(Session(cluster_->ClientTls(), &client));
  ASSERT_OK(Session(cluster_->ServerTls(), &server));
  std::unique_ptr<LockHandle> h;
  for (const char* p : {"/kdi/servers/127.0.0.1:1", "/kdi/master", "/kdi/root",
                        "/kdi/tablets/t/1", "/kdi/tables/t"}) {
    Status s = client->Open(p, kCreate | kLock, 0, &h);
    EXPECT_TRUE(s.IsPermissionDenied()) << p << ": " << s.ToString();
  }
  ASSERT_OK(server->Open("/kdi/master", kCreate | kLock | kWrite, 0, &h));
  ASSERT_OK(h->Lock(LockMode::kExclusive, 1000));
  ASSERT_OK(h->SetContents("127.0.0.1:7200"));
  std::unique_ptr<LockHandle> ro;
  ASSERT_OK(client->Open("/kdi/master", kRead, 0, &ro));
  std::string v;
  ASSERT_OK(ro->GetContents(&v));
  EXPECT_EQ("127.0.0.1:7200", v);
  std::unique_ptr<LockHandle> lk;
  EXPECT_TRUE(client->Open("/kdi/master", kLock, 0, &lk).IsPermissionDenied());
  std::vector<SessionInfo> sessions;
  EXPECT_TRUE(client->ListSessions(&sessions).IsPermissionDenied());
  ASSERT_OK(server->ListSessions(&sessions));
  EXPECT_EQ(2u, sessions.size());
}

}  // namespace
}  // namespace kdi::lock
