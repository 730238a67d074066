// lockd_bench: throughput of the lock service on this machine, against the
// real lockd binary on loopback (started through t/mini_cluster.h). Not a
// test: it prints figures (doc/lockd.md, "Benchmarks").
//
//   t/lockd_bench [--seconds=S] [--idle_sessions=N] [--clients=N]
//
// Measures, one client: lock+unlock cycles, ephemeral create+delete cycles,
// setContents (each one synced by lockd's group commit), getContents; then
// --clients sessions writing at once; then --idle_sessions sessions kept alive
// by back-to-back keepalive polls over a few connections, with lockd's RSS.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kdi/lock_client.h"
#include "lib/lock/lock_protocol.h"
#include "lib/rpc/channel.h"
#include "lib/rpc/tls.h"
#include "t/mini_cluster.h"

namespace kdi::lock {
namespace {

using test::MonoMs;

struct Args {
  double seconds = 2;
  int idle_sessions = 10000;
  int clients = 8;
};

int64_t RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

void Report(const char* what, int64_t ops, int64_t ms) {
  std::printf("%-44s %8lld ops in %5lld ms  %9.0f ops/s  %7.3f ms/op\n", what,
              static_cast<long long>(ops), static_cast<long long>(ms),
              ms > 0 ? ops * 1000.0 / ms : 0.0, ops > 0 ? static_cast<double>(ms) / ops : 0.0);
  std::fflush(stdout);
}

// Runs fn until the time is up; returns the number of successful calls.
int64_t Loop(double seconds, const std::function<Status()>& fn, int64_t* elapsed_ms) {
  int64_t start = MonoMs(), end = start + static_cast<int64_t>(seconds * 1000), n = 0;
  while (MonoMs() < end) {
    Status s = fn();
    if (!s.ok()) {
      std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
      break;
    }
    ++n;
  }
  *elapsed_ms = MonoMs() - start;
  return n;
}

int Run(const Args& args) {
  test::MiniClusterOptions o;
  o.num_masters = 0;
  o.num_tablet_servers = 0;
  o.lease_ms = 12000;
  o.log_level = "warn";
  test::MiniCluster cluster(o);
  Status s = cluster.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "starting lockd: %s\n", s.ToString().c_str());
    return 1;
  }
  test::TlsFiles tls = cluster.ServerTls();
  auto open_session = [&](std::unique_ptr<LockSession>* out) {
    LockSessionOptions so;
    so.service = cluster.lockd_address();
    so.tls_ca_file = tls.ca_file;
    so.tls_cert_file = tls.cert_file;
    so.tls_key_file = tls.key_file;
    return OpenLockSession(so, out);
  };
  std::unique_ptr<LockSession> session;
  s = open_session(&session);
  if (!s.ok()) {
    std::fprintf(stderr, "session: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("lockd %s, %ld CPUs; commit policy: group commit (one fsync per flush)\n",
              cluster.lockd_address().c_str(), sysconf(_SC_NPROCESSORS_ONLN));

  int64_t ms = 0, n = 0;
  std::unique_ptr<LockHandle> lock;
  s = session->Open("/bench/lock", kCreate | kLock, 0, &lock);
  n = Loop(args.seconds, [&] {
    RETURN_NOT_OK(lock->Lock(LockMode::kExclusive, 1000));
    return lock->Unlock();
  }, &ms);
  Report("lock+unlock cycle (1 client)", n, ms);

  int i = 0;
  int64_t step_ms[3] = {0, 0, 0};
  n = Loop(args.seconds, [&] {
    std::unique_ptr<LockHandle> e;
    int64_t t0 = MonoMs();
    RETURN_NOT_OK(session->Open("/bench/eph-" + std::to_string(i++),
                                kCreate | kEphemeral | kWrite, 0, &e));
    int64_t t1 = MonoMs();
    RETURN_NOT_OK(e->Delete());
    int64_t t2 = MonoMs();
    Status st = e->Close();
    step_ms[0] += t1 - t0;
    step_ms[1] += t2 - t1;
    step_ms[2] += MonoMs() - t2;
    return st;
  }, &ms);
  Report("ephemeral create+delete+close (1 client)", n, ms);
  if (n > 0) {
    std::printf("  per step: open+create %.2f ms, delete %.2f ms, close %.2f ms\n",
                step_ms[0] * 1.0 / n, step_ms[1] * 1.0 / n, step_ms[2] * 1.0 / n);
  }

  std::unique_ptr<LockHandle> data;
  s = session->Open("/bench/data", kCreate | kRead | kWrite, 0, &data);
  std::string value(100, 'v');
  n = Loop(args.seconds, [&] { return data->SetContents(value); }, &ms);
  Report("setContents 100 B, synced (1 client)", n, ms);
  std::string got;
  n = Loop(args.seconds, [&] { return data->GetContents(&got); }, &ms);
  Report("getContents 100 B (1 client)", n, ms);

  {
    std::vector<std::unique_ptr<LockSession>> sessions(args.clients);
    std::vector<std::unique_ptr<LockHandle>> handles(args.clients);
    for (int c = 0; c < args.clients; ++c) {
      if (!open_session(&sessions[c]).ok() ||
          !sessions[c]->Open("/bench/w" + std::to_string(c), kCreate | kWrite, 0, &handles[c])
               .ok()) {
        std::fprintf(stderr, "opening client %d failed\n", c);
        return 1;
      }
    }
    std::atomic<int64_t> total{0};
    std::vector<std::thread> threads;
    int64_t start = MonoMs();
    for (int c = 0; c < args.clients; ++c) {
      threads.emplace_back([&, c] {
        int64_t e = 0;
        total += Loop(args.seconds, [&] { return handles[c]->SetContents(value); }, &e);
      });
    }
    for (auto& t : threads) t.join();
    char what[64];
    std::snprintf(what, sizeof(what), "setContents 100 B, synced (%d clients)", args.clients);
    Report(what, total.load(), MonoMs() - start);
    for (auto& h : handles) (void)h->Close();
    for (auto& ss : sessions) (void)ss->Close();
  }

  // Idle sessions: each keeps one KeepAlive long poll outstanding, re-sent as
  // soon as it returns (what the client library does), over a few connections.
  {
    rpc::TlsOptions to;
    to.ca_file = tls.ca_file;
    to.cert_file = tls.cert_file;
    to.key_file = tls.key_file;
    std::shared_ptr<rpc::TlsContext> ctx;
    s = rpc::TlsContext::CreateClient(to, &ctx);
    const int kChannels = 16;
    std::vector<std::unique_ptr<rpc::Channel>> channels;
    for (int c = 0; c < kChannels; ++c) {
      rpc::ChannelOptions co;
      co.address = cluster.lockd_address();
      co.tls = ctx;
      channels.push_back(std::make_unique<rpc::Channel>(co));
    }
    pid_t lockd_pid = cluster.lockd()->pid();
    int64_t rss_before = RssKb(lockd_pid);
    std::vector<uint64_t> ids;
    int64_t start = MonoMs();
    for (int k = 0; k < args.idle_sessions; ++k) {
      std::string body, reply;
      EncodeRequest(kMsgCreateSession, LockRequest(), &body);
      s = channels[k % kChannels]->Call(kMsgCreateSession, body, &reply, 10000);
      LockReply rep;
      if (s.ok()) s = DecodeReply(kMsgCreateSession, reply, &rep);
      if (!s.ok()) {
        std::fprintf(stderr, "session %d: %s\n", k, s.ToString().c_str());
        break;
      }
      ids.push_back(rep.session_id);
    }
    Report("CreateSession (1 client)", static_cast<int64_t>(ids.size()), MonoMs() - start);
    std::atomic<int64_t> polls{0}, failures{0};
    std::atomic<bool> stop{false};
    std::function<void(size_t)> poll = [&](size_t k) {
      if (stop) return;
      LockRequest req;
      req.session_id = ids[k];
      req.wait_ms = 4000;
      std::string body;
      EncodeRequest(kMsgKeepAlive, req, &body);
      channels[k % kChannels]->CallAsync(kMsgKeepAlive, body, 15000,
                                         [&, k](Status st, std::string) {
                                           if (st.ok()) polls++; else failures++;
                                           poll(k);
                                         });
    };
    for (size_t k = 0; k < ids.size(); ++k) poll(k);
    // Two leases: every session must still be alive afterwards.
    std::this_thread::sleep_for(std::chrono::milliseconds(2 * o.lease_ms));
    std::vector<SessionInfo> live;
    s = session->ListSessions(&live);
    int64_t rss_after = RssKb(lockd_pid);
    std::printf("idle sessions: %zu created, %zu alive after %lld ms (2 leases), %lld polls "
                "answered, %lld failed; lockd RSS %lld KiB -> %lld KiB (%.2f KiB/session)\n",
                ids.size(), live.size() - 1, static_cast<long long>(2 * o.lease_ms),
                static_cast<long long>(polls.load()), static_cast<long long>(failures.load()),
                static_cast<long long>(rss_before), static_cast<long long>(rss_after),
                ids.empty() ? 0.0 : (rss_after - rss_before) * 1.0 / ids.size());
    stop = true;
    channels.clear();
  }
  (void)session->Close();
  return 0;
}

}  // namespace
}  // namespace kdi::lock

int main(int argc, char** argv) {
  kdi::lock::Args args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--seconds=", 0) == 0) args.seconds = std::stod(a.substr(10));
    else if (a.rfind("--idle_sessions=", 0) == 0) args.idle_sessions = std::stoi(a.substr(16));
    else if (a.rfind("--clients=", 0) == 0) args.clients = std::stoi(a.substr(10));
    else {
      std::fprintf(stderr, "usage: lockd_bench [--seconds=S] [--idle_sessions=N] [--clients=N]\n");
      return 2;
    }
  }
  return kdi::lock::Run(args);
}
