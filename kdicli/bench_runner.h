// kdi::bench::RunWorkload: drives one YCSB-style workload against an open
// kdi::Table from N client threads and measures it.
//
// Per workload (see kdicli/bench_workload.h for key choice and mixes):
//   load       ids [0, records) split into contiguous ranges, one per thread;
//              each thread applies `batch` records per ApplyBatch; one Sync at
//              the end. Ops: "batch" (one per ApplyBatch), "sync".
//   a b c d f  `ops` operations in total over the threads, mixed per YCSB:
//              read = scan of one row (history 1), update = one field Set,
//              insert = a new record (ids from `records` up), rmw = read then
//              ApplyIf(LatestEquals(old value)) of one field (a lost race is
//              counted as a conflict, not an error).
//   e          scans from a chosen key of 1..scan_max rows, 5% inserts.
//   scan       one full-table scan from one thread: cells/s and MB/s.
//   syncwrite  `ops` writes of one whole record, each followed by Sync().
// A failed operation (other than a conflict) stops the run; RunWorkload
// returns that status with the partial result filled in.
//
// Threading: RunWorkload blocks the caller; it starts `threads` workers (plus
// a progress printer when progress != nullptr) and joins them before return.
// The Table must be thread-safe (every kdi::Table is).
#ifndef KDI_KDICLI_BENCH_RUNNER_H_
#define KDI_KDICLI_BENCH_RUNNER_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "kdi/status.h"
#include "kdi/table.h"
#include "kdicli/bench_histogram.h"
#include "kdicli/bench_workload.h"

namespace kdi::bench {

struct RunConfig {
  Workload workload = Workload::kC;
  uint64_t records = 1000;
  uint64_t ops = 1000;
  int threads = 1;
  size_t value_size = 100;
  int fields = 10;
  Distribution distribution = Distribution::kZipfian;
  int batch = 100;     // load: records per ApplyBatch
  int scan_max = 100;  // e: longest scan in rows
  uint64_t seed = 1;
  std::ostream* progress = nullptr;  // a terminal: "\r..." once a second
  std::string label;                 // shown on the progress line
};

struct OpResult {
  std::string name;
  uint64_t count = 0;
  LatencyHistogram latency_ns;
};

struct RunResult {
  std::vector<OpResult> ops;  // those that ran, in a stable order
  double wall_seconds = 0;
  double client_user_seconds = 0;  // getrusage of this process over the run
  double client_sys_seconds = 0;
  uint64_t records_written = 0;    // load/insert/syncwrite rows
  uint64_t cells_read = 0;
  uint64_t bytes_read = 0;         // row + column + value bytes of cells read
  uint64_t conflicts = 0;          // rmw ApplyIf that lost a race
  uint64_t not_found = 0;          // reads of a row with no cell
  // The total of the mixed operations (every OpResult except "sync").
  uint64_t TotalOps() const;
  const OpResult* Find(const std::string& name) const;
};

Status RunWorkload(Table* table, const RunConfig& config, RunResult* result);

}  // namespace kdi::bench

#endif  // KDI_KDICLI_BENCH_RUNNER_H_
