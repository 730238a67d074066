// The chaos schedule around a continuous ingest; see chaos_runner.h.
#include "t/chaos/chaos_runner.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <sstream>
#include <thread>

#include "kdi/schema.h"
#include "lib/client/admin_protocol.h"
#include "lib/client/meta_client.h"
#include "lib/client/meta_layout.h"
#include "lib/client/tablet_client.h"
#include "lib/rpc/tls.h"
#include "lib/util/log.h"
#include "t/mini_cluster.h"

namespace kdi::chaos {

namespace {

using test::MiniCluster;
using test::MonoMs;

constexpr const char* kTable = "ci";

void SleepMs(int64_t ms) {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

Status MakeTls(const test::TlsFiles& f, std::shared_ptr<rpc::TlsContext>* out) {
  rpc::TlsOptions o;
  o.ca_file = f.ca_file;
  o.cert_file = f.cert_file;
  o.key_file = f.key_file;
  return rpc::TlsContext::CreateClient(o, out);
}

// Counts the lines of a file that contain `needle`.
int CountLines(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) n++;
  }
  return n;
}

class Chaos {
 public:
  Chaos(const ChaosOptions& o, ChaosReport* r) : o_(o), r_(r) {}

  Status Run();

 private:
  void Progress(const std::string& line) {
    if (o_.progress == nullptr) return;
    char when[32];
    snprintf(when, sizeof(when), "+%.1fs", (MonoMs() - start_ms_) / 1000.0);
    *o_.progress << "chaos " << when << " " << line << std::endl;
  }
  void Problem(const std::string& what) {
    r_->problems.push_back(what);
    Progress("PROBLEM: " + what);
  }
  std::string Uri(int64_t timeout_ms) const {
    test::TlsFiles c = cluster_->ClientTls();
    return "kdi://" + cluster_->lockd_address() + "/" + kTable + "?tls_ca_file=" + c.ca_file +
           "&tls_cert_file=" + c.cert_file + "&tls_key_file=" + c.key_file +
           "&timeout_ms=" + std::to_string(timeout_ms);
  }
  Status StartCluster();
  Status CreateTable();
  // Waits until a master is active and every tablet server registered.
  Status Settle(int64_t timeout_ms);
  int RandomTabletServer();
  Status Inject(int kind, std::string* what);
  Status KillTabletd(std::string* what);
  Status KillMaster(std::string* what);
  Status KillLockd(std::string* what);
  Status PauseTabletd(std::string* what);
  Status Split(std::string* what);
  Status Move(std::string* what);
  Status ListTablets(std::vector<meta::TabletInfo>* tablets,
                     std::vector<meta::ServerInfo>* servers);
  Status SplitAt(const meta::TabletMeta& t, const std::string& row);
  int CountMasterLogLines(const std::string& needle) const;

  const ChaosOptions& o_;
  ChaosReport* r_;
  std::mt19937_64 rng_;
  std::unique_ptr<MiniCluster> cluster_;
  int64_t start_ms_ = 0;
};

Status Chaos::StartCluster() {
  test::MiniClusterOptions co;
  co.num_masters = 2;
  co.num_tablet_servers = o_.tablet_servers;
  co.shared_data_root = true;
  co.lease_ms = o_.lease_ms;
  co.log_level = o_.log_level;
  co.master_args = {"--masterd_balance=true", "--masterd_balance_interval_ms=1000"};
  cluster_ = std::make_unique<MiniCluster>(co);
  RETURN_NOT_OK_PREPEND(cluster_->Start(), "starting the cluster");
  RETURN_NOT_OK(Settle(60000));
  return CreateTable();
}

Status Chaos::CreateTable() {
  std::unique_ptr<lock::LockSession> session;
  RETURN_NOT_OK(cluster_->OpenLockSession(&session));
  std::shared_ptr<rpc::TlsContext> tls;
  RETURN_NOT_OK(MakeTls(cluster_->AdminTls(), &tls));
  meta::MetaClient::Options mo;
  mo.lock_session = session.get();
  mo.tls = tls;
  mo.retry_ms = 60000;
  meta::CreateTableRequest req;
  req.name = kTable;
  RETURN_NOT_OK(Schema::Parse(kIngestFamily, &req.schema));
  req.split_rows = o_.initial_splits;
  Status s;
  {
    meta::MetaClient mc(mo);
    s = mc.CreateTable(req);
  }
  (void)session->Close();
  return s.ok() ? s : s.CloneAndPrepend("creating table " + std::string(kTable));
}

Status Chaos::Settle(int64_t timeout_ms) {
  int64_t deadline = MonoMs() + timeout_ms;
  int active = -1;
  RETURN_NOT_OK(cluster_->WaitForActiveMaster(&active, timeout_ms));
  return cluster_->WaitForTabletServers(o_.tablet_servers,
                                        std::max<int64_t>(1000, deadline - MonoMs()));
}

int Chaos::RandomTabletServer() {
  return static_cast<int>(rng_() % static_cast<uint64_t>(cluster_->num_tablet_servers()));
}

Status Chaos::KillTabletd(std::string* what) {
  int i = RandomTabletServer();
  test::ExternalDaemon* d = cluster_->tablet_server(i);
  *what = "kill -9 " + d->name();
  RETURN_NOT_OK(d->Kill());
  SleepMs(static_cast<int64_t>(rng_() % 2000));
  RETURN_NOT_OK(d->Start());
  return d->WaitUntilReady(30000);
}

Status Chaos::KillMaster(std::string* what) {
  int active = -1;
  RETURN_NOT_OK_PREPEND(cluster_->WaitForActiveMaster(&active, 30000), "finding the master");
  test::ExternalDaemon* d = cluster_->master(active);
  *what = "kill -9 active " + d->name();
  int64_t t0 = MonoMs();
  RETURN_NOT_OK(d->Kill());
  int next = -1;
  Status s = cluster_->WaitForActiveMaster(&next, 60000);
  int64_t failover = MonoMs() - t0;
  r_->longest_master_failover_ms = std::max(r_->longest_master_failover_ms, failover);
  *what += ", standby took over in " + std::to_string(failover) + " ms";
  RETURN_NOT_OK(d->Start());
  RETURN_NOT_OK(d->WaitUntilReady(30000));
  return s.ok() ? s : s.CloneAndPrepend("standby did not take over");
}

Status Chaos::KillLockd(std::string* what) {
  test::ExternalDaemon* d = cluster_->lockd();
  *what = "kill -9 lockd";
  RETURN_NOT_OK(d->Kill());
  SleepMs(static_cast<int64_t>(rng_() % 1500));
  RETURN_NOT_OK(d->Start());
  return d->WaitUntilReady(30000);
}

Status Chaos::PauseTabletd(std::string* what) {
  int i = RandomTabletServer();
  test::ExternalDaemon* d = cluster_->tablet_server(i);
  int64_t ms = o_.lease_ms + 2000 + static_cast<int64_t>(rng_() % 3000);
  *what = "SIGSTOP " + d->name() + " for " + std::to_string(ms) + " ms";
  RETURN_NOT_OK(d->Pause());
  SleepMs(ms);
  return d->Resume();
}

Status Chaos::ListTablets(std::vector<meta::TabletInfo>* tablets,
                          std::vector<meta::ServerInfo>* servers) {
  std::unique_ptr<lock::LockSession> session;
  RETURN_NOT_OK(cluster_->OpenLockSession(&session));
  std::shared_ptr<rpc::TlsContext> tls;
  Status s = MakeTls(cluster_->AdminTls(), &tls);
  if (s.ok()) {
    meta::MetaClient::Options mo;
    mo.lock_session = session.get();
    mo.tls = tls;
    meta::MetaClient mc(mo);
    s = mc.ListTablets(kTable, tablets);
    if (s.ok() && servers != nullptr) s = mc.ListServers(servers);
  }
  (void)session->Close();
  return s;
}

Status Chaos::SplitAt(const meta::TabletMeta& t, const std::string& row) {
  if (t.state != meta::TabletState::kAssigned || t.start_row == row || !t.Contains(row)) {
    return Status::ServiceUnavailable("tablet " + t.DebugString() + " is not splittable at " +
                                      row + " now");
  }
  std::shared_ptr<rpc::TlsContext> server_tls;
  RETURN_NOT_OK(MakeTls(cluster_->ServerTls(), &server_tls));
  client::TabletClient::Options to;
  to.address = t.server;
  to.tls = server_tls;
  to.timeout_ms = 30000;
  client::TabletClient tc(to);
  client::SplitTabletRequest req;
  req.tablet = client::TabletRef{t.table, t.id};
  req.split_row = row;
  client::SplitInfo info;
  return tc.SplitTablet(req, &info);
}

Status Chaos::Split(std::string* what) {
  *what = "split";
  std::vector<meta::TabletInfo> tablets;
  RETURN_NOT_OK(ListTablets(&tablets, nullptr));
  // A random row; split the tablet holding it there.
  std::string row = IngestRowKey(rng_());
  for (const auto& t : tablets) {
    if (t.meta.Contains(row)) {
      *what = "split " + t.meta.DebugString() + " at " + row;
      return SplitAt(t.meta, row);
    }
  }
  return Status::Corruption("no tablet of " + std::string(kTable) + " covers " + row);
}

Status Chaos::Move(std::string* what) {
  // kdicli has no admin "move": make the master's balancer move a tablet by
  // splitting tablets of the busiest server until it has three more than the
  // idlest, then wait for the balancer's move.
  *what = "move (balancer)";
  int before = CountMasterLogLines("balancer: moving");
  int64_t deadline = MonoMs() + 30000;
  while (MonoMs() < deadline) {
    std::vector<meta::TabletInfo> tablets;
    std::vector<meta::ServerInfo> servers;
    RETURN_NOT_OK(ListTablets(&tablets, &servers));
    std::map<std::string, uint32_t> load;
    for (const auto& sv : servers) {
      if (sv.live) load[sv.address] = sv.tablets;
    }
    if (load.size() < 2) return Status::ServiceUnavailable("fewer than 2 live servers");
    auto busiest = std::max_element(load.begin(), load.end(), [](auto& a, auto& b) {
      return a.second < b.second;
    });
    auto idlest = std::min_element(load.begin(), load.end(), [](auto& a, auto& b) {
      return a.second < b.second;
    });
    if (CountMasterLogLines("balancer: moving") > before) {
      *what = "move (balancer, after splits on " + busiest->first + ")";
      return Status::OK();
    }
    Progress("move: busiest " + busiest->first + " has " + std::to_string(busiest->second) +
             " tablets, idlest " + idlest->first + " " + std::to_string(idlest->second));
    if (busiest->second < idlest->second + 3) {  // +3: META may be counted
      std::vector<const meta::TabletMeta*> mine;
      for (const auto& t : tablets) {
        if (t.meta.server == busiest->first && t.meta.state == meta::TabletState::kAssigned) {
          mine.push_back(&t.meta);
        }
      }
      if (!mine.empty()) {
        const meta::TabletMeta* t = mine[rng_() % mine.size()];
        // A random 16-hex row inside the tablet: retry a few draws.
        for (int i = 0; i < 64; i++) {
          std::string row = IngestRowKey(rng_());
          if (t->Contains(row) && row != t->start_row) {
            Status s = SplitAt(*t, row);
            if (s.ok()) {
              r_->faults[kSplit]++;
            } else {
              Progress("move: split of " + t->DebugString() + " failed: " + s.ToString());
            }
            break;
          }
        }
      }
    }
    SleepMs(1000);
  }
  return Status::TimedOut("the balancer made no move within 30 s");
}

Status Chaos::Inject(int kind, std::string* what) {
  switch (kind) {
    case kKillTabletd:
      return KillTabletd(what);
    case kKillMaster:
      return KillMaster(what);
    case kKillLockd:
      return KillLockd(what);
    case kPauseTabletd:
      return PauseTabletd(what);
    case kSplit:
      return Split(what);
    case kMove:
      return Move(what);
    default:
      return Status::InvalidArgument("fault kind " + std::to_string(kind));
  }
}

int Chaos::CountMasterLogLines(const std::string& needle) const {
  int n = 0;
  for (int i = 0; i < cluster_->num_masters(); i++) {
    n += CountLines(cluster_->master(i)->log_path(), needle);
  }
  return n;
}

Status Chaos::Run() {
  r_->seed = o_.seed != 0 ? o_.seed
                          : static_cast<uint64_t>(
                                std::chrono::system_clock::now().time_since_epoch().count());
  rng_.seed(r_->seed);
  start_ms_ = MonoMs();
  // The harness's own lock sessions would log every open and close.
  log::SetLevel(log::WARN);
  Progress("seed " + std::to_string(r_->seed) + ", starting the cluster");
  Status s = StartCluster();
  if (!s.ok()) {
    cluster_->MarkFailed();
    return s;
  }

  IngestOptions io;
  io.uri = Uri(o_.client_timeout_ms);
  io.writers = o_.writers;
  io.rows_per_batch = o_.rows_per_batch;
  io.batch_interval_ms = o_.batch_interval_ms;
  io.seed = r_->seed;
  ContinuousIngest ingest(io);
  s = ingest.Start();
  if (!s.ok()) {
    cluster_->MarkFailed();
    return s;
  }
  int64_t run_start = MonoMs();
  Progress("ingest started (" + std::to_string(o_.writers) + " writers)");

  // The first round: every injectable kind once, in random order.
  std::vector<int> first_round = {kKillTabletd, kKillMaster, kKillLockd,
                                  kPauseTabletd, kSplit, kMove};
  std::shuffle(first_round.begin(), first_round.end(), rng_);
  size_t next_first = 0;
  int64_t end_ms = run_start + o_.seconds * 1000;
  int64_t span = std::max<int64_t>(0, o_.max_interval_ms - o_.min_interval_ms);
  for (;;) {
    int64_t wait = o_.min_interval_ms + static_cast<int64_t>(rng_() % (span + 1));
    if (MonoMs() + wait >= end_ms) {
      // The first round always completes (a short run has every kind once).
      if (next_first >= first_round.size()) {
        SleepMs(end_ms - MonoMs());
        break;
      }
      wait = std::min(wait, std::max<int64_t>(0, end_ms - MonoMs()));
    }
    SleepMs(wait);
    int kind = next_first < first_round.size()
                   ? first_round[next_first++]
                   : static_cast<int>(rng_() % kNumFaultKinds);
    std::string what;
    int64_t t0 = MonoMs();
    Status f = Inject(kind, &what);
    if (f.ok()) {
      r_->faults[kind]++;
    } else {
      r_->fault_errors++;
      // A split refused because the tablet is busy is not a finding.
      if (kind == kSplit || kind == kMove) {
        Progress(what + ": not done: " + f.ToString());
      } else {
        Problem(std::string(FaultKindName(kind)) + " (" + what + "): " + f.ToString());
      }
    }
    Status settled = Settle(90000);
    int64_t settle_ms = MonoMs() - t0;
    r_->longest_settle_ms = std::max(r_->longest_settle_ms, settle_ms);
    IngestStats st = ingest.Stats();
    Progress(what + (f.ok() ? "" : " (failed)") + "; settled in " + std::to_string(settle_ms) +
             " ms; acknowledged " + std::to_string(st.acknowledged_rows) + " rows, " +
             std::to_string(st.failed_batches) + " failed batches");
    if (!settled.ok()) {
      Problem("cluster did not settle 90 s after " + what + ": " + settled.ToString());
      // Bring back whatever is down so the run can go on.
      Status b = cluster_->StartAllStopped();
      if (!b.ok()) Problem("restarting daemons: " + b.ToString());
    }
  }

  // Heal, stop the writers, verify.
  s = cluster_->StartAllStopped();
  if (!s.ok()) Problem("restarting daemons at the end: " + s.ToString());
  Status settled = Settle(90000);
  if (!settled.ok()) Problem("cluster did not settle at the end: " + settled.ToString());
  Progress("stopping the writers");
  ingest.Stop();
  r_->duration_ms = MonoMs() - run_start;
  r_->ingest = ingest.Stats();
  r_->balancer_moves = CountMasterLogLines("balancer: moving");
  r_->splits_recorded = CountMasterLogLines(" recorded: ");
  Progress("verifying");
  std::vector<uint64_t> acked = ingest.AcknowledgedKeys();
  Status v;
  for (int attempt = 0; attempt < 2; attempt++) {
    v = VerifyTable(Uri(120000), acked, &r_->verify);
    if (v.ok()) break;
    Progress("verify attempt failed: " + v.ToString());
    SleepMs(5000);
  }
  if (!v.ok()) {
    cluster_->MarkFailed();
    return v;
  }
  r_->passed = r_->verify.acknowledged_missing == 0 && r_->verify.undefined == 0 &&
               r_->verify.duplicates == 0;
  if (!r_->passed) {
    for (const auto& e : r_->verify.examples) Problem(e);
    cluster_->MarkFailed();
  }
  return Status::OK();
}

}  // namespace

const char* FaultKindName(int kind) {
  switch (kind) {
    case kKillTabletd:
      return "kill_tabletd";
    case kKillMaster:
      return "kill_master";
    case kKillLockd:
      return "kill_lockd";
    case kPauseTabletd:
      return "pause_tabletd";
    case kSplit:
      return "split";
    case kMove:
      return "move";
    default:
      return "unknown";
  }
}

Status RunChaos(const ChaosOptions& options, ChaosReport* report) {
  *report = ChaosReport();
  Chaos chaos(options, report);
  return chaos.Run();
}

std::string SummaryLine(const ChaosOptions& options, const ChaosReport& r) {
  std::ostringstream out;
  uint64_t verified = r.verify.acknowledged - r.verify.acknowledged_missing;
  out << "chaos summary: seconds=" << options.seconds << " acknowledged=" << r.ingest.acknowledged_rows
      << " verified=" << verified << " lost=" << r.verify.acknowledged_missing
      << " undefined=" << r.verify.undefined << " duplicates=" << r.verify.duplicates
      << " rows=" << r.verify.rows << " referenced=" << r.verify.referenced
      << " unreferenced=" << r.verify.unreferenced << " failed_batches=" << r.ingest.failed_batches
      << " faults:";
  for (int k = 0; k < kNumFaultKinds; k++) out << " " << FaultKindName(k) << "=" << r.faults[k];
  out << " (balancer_moves=" << r.balancer_moves << " splits_recorded=" << r.splits_recorded
      << ") longest_unavailable_ms=" << r.ingest.longest_unavailable_ms
      << " longest_master_failover_ms=" << r.longest_master_failover_ms
      << " problems=" << r.problems.size() << " seed=" << r.seed
      << " result=" << (r.passed ? "PASS" : "FAIL");
  return out.str();
}

}  // namespace kdi::chaos
