// A chaos run: starts a mini cluster (lockd, 2 masters, N tabletds on one
// shared data root, t/mini_cluster.h), creates a pre-split table, runs the
// continuous ingest of t/chaos/ingest.h against it and, at random intervals,
// injects faults:
//   kill_tabletd   kill -9 a tabletd, restart it with its data
//   kill_master    kill -9 the active masterd (the standby takes over), restart it
//   kill_lockd     kill -9 lockd, restart it with its data
//   pause_tabletd  SIGSTOP a tabletd for longer than the lockd lease, SIGCONT
//   split          order a split of a random tablet of the table at a random row
//                  (SplitTablet, 402, to the serving tabletd with a server-role
//                  certificate; the tabletd reports it to the master)
//   move           a tablet migration by the master's balancer (--masterd_balance;
//                  kdicli has no admin "move" command): tablets of the busiest
//                  server are split until it has three more than the idlest
//                  (ListServers may count META, the balancer does not), then
//                  the run waits (30 s at most) for "balancer: moving" in the
//                  masters' logs
// The first round injects every kind once (random order; it completes even
// when that takes longer than `seconds`), later ones pick kinds at random. After the run every daemon is resumed/restarted, the writers stop
// and the verifier scans the table (VerifyTable).
//
// The run passes when no acknowledged row is missing, no row is undefined and
// the scan returned no duplicate.
//
// Threading: RunChaos runs the cluster from the calling thread (it must be the
// thread that owns the children, see mini_cluster.h); the writers run on their
// own threads.
#ifndef KDI_T_CHAOS_CHAOS_RUNNER_H_
#define KDI_T_CHAOS_CHAOS_RUNNER_H_

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "kdi/status.h"
#include "t/chaos/ingest.h"

namespace kdi::chaos {

enum FaultKind {
  kKillTabletd = 0,
  kKillMaster,
  kKillLockd,
  kPauseTabletd,
  kSplit,
  kMove,
  kNumFaultKinds
};
const char* FaultKindName(int kind);

struct ChaosOptions {
  int64_t seconds = 300;          // length of the ingest under faults
  int writers = 4;
  int rows_per_batch = 10;
  int64_t batch_interval_ms = 50;  // each writer's pause after a batch
  int tablet_servers = 3;
  uint64_t seed = 0;              // 0: from the clock
  int64_t min_interval_ms = 5000; // pause between two faults, uniform in [min, max]
  int64_t max_interval_ms = 20000;
  int64_t lease_ms = 6000;        // lockd session lease of the cluster
  int64_t client_timeout_ms = 60000;  // the writers' kdi:// deadline per call
  std::vector<std::string> initial_splits = {"4", "8", "c"};
  std::string log_level = "info";     // of the daemons
  std::ostream* progress = nullptr;   // one line per fault (null: none)
};

struct ChaosReport {
  uint64_t seed = 0;
  int64_t duration_ms = 0;
  int faults[kNumFaultKinds] = {};
  int fault_errors = 0;                // faults whose injection itself failed
  int64_t longest_master_failover_ms = 0;
  int64_t longest_settle_ms = 0;       // fault to master + all servers registered
  int splits_recorded = 0;             // "split of ... recorded" in the masters' logs
  int balancer_moves = 0;              // "balancer: moving" in the masters' logs
  IngestStats ingest;
  VerifyResult verify;
  std::vector<std::string> problems;   // did-not-settle notes, fault errors
  bool passed = false;
};

// Runs the whole thing. Returns an error only when the harness itself could
// not work (cluster did not start, the verifier could not scan); the verdict
// is report->passed.
Status RunChaos(const ChaosOptions& options, ChaosReport* report);

// The one summary line.
std::string SummaryLine(const ChaosOptions& options, const ChaosReport& report);

}  // namespace kdi::chaos

#endif  // KDI_T_CHAOS_CHAOS_RUNNER_H_
