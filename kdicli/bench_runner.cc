#include "kdicli/bench_runner.h"

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "kdi/scan_predicate.h"

namespace kdi::bench {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t ElapsedNs(Clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double TimevalSeconds(const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

// What the workers share.
struct Shared {
  const RunConfig* config;
  Table* table;
  std::atomic<uint64_t> done{0};        // ops (or records, or cells) finished
  std::atomic<uint64_t> next_insert{0}; // next new record id
  std::atomic<uint64_t> newest{0};      // ids [0, newest) exist (key choosers)
  std::atomic<bool> stop{false};
  std::mutex mu;
  Status first_error;  // GUARDED_BY(mu)
  std::set<uint64_t> acked;  // GUARDED_BY(mu): inserted ids >= newest

  // Records that insert `id` completed. newest only moves past ids whose
  // inserts all completed (YCSB's acknowledged counter), so a chooser never
  // names a record whose insert is still in flight on another thread.
  void Acknowledge(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu);
    acked.insert(id);
    uint64_t n = newest.load();
    while (!acked.empty() && *acked.begin() == n) {
      acked.erase(acked.begin());
      ++n;
    }
    newest.store(n);
  }

  void Fail(const Status& s) {
    std::lock_guard<std::mutex> lock(mu);
    if (first_error.ok()) first_error = s;
    stop = true;
  }
};

// One worker's measurements, merged after join.
struct Local {
  OpResult per_type[static_cast<int>(OpType::kCount)];
  OpResult batch, sync, syncwrite;
  uint64_t records_written = 0, cells_read = 0, bytes_read = 0, conflicts = 0, not_found = 0;
};

RowMutation WholeRecord(uint64_t id, const RunConfig& c, Rng* rng, int64_t ts) {
  RowMutation m(RecordKey(id));
  for (int f = 0; f < c.fields; f++) m.Set(FieldColumn(f), ts, FieldValue(rng, c.value_size));
  return m;
}

// Reads one row (newest version of each column). *cells counts what came back.
Status ReadRow(Table* t, const std::string& key, std::vector<Cell>* cells, Local* l) {
  ScanPredicate p;
  p.SetRow(key).SetHistory(1);
  std::unique_ptr<CellStream> s;
  RETURN_NOT_OK(t->Scan(p, &s));
  cells->clear();
  for (Cell c; s->Next(&c);) {
    l->bytes_read += c.row.size() + c.column.size() + c.value.size();
    cells->push_back(std::move(c));
  }
  RETURN_NOT_OK(s->status());
  l->cells_read += cells->size();
  if (cells->empty()) l->not_found++;
  return Status::OK();
}

Status ShortScan(Table* t, const std::string& key, uint64_t rows, Local* l) {
  ScanPredicate p;
  p.SetRows(StringIntervalSet::AtLeast(key)).SetHistory(1);
  std::unique_ptr<CellStream> s;
  RETURN_NOT_OK(t->Scan(p, &s));
  uint64_t seen = 0;
  std::string last;
  Cell c;
  while (s->Next(&c)) {
    if (seen == 0 || c.row != last) {
      if (seen == rows) break;
      seen++;
      last = c.row;
    }
    l->cells_read++;
    l->bytes_read += c.row.size() + c.column.size() + c.value.size();
  }
  return s->status();
}

void RunLoad(Shared* sh, int index, Local* l) {
  const RunConfig& c = *sh->config;
  Rng rng(c.seed * 7919 + index);
  uint64_t per = c.records / c.threads, extra = c.records % c.threads;
  uint64_t begin = per * index + std::min<uint64_t>(index, extra);
  uint64_t end = begin + per + (static_cast<uint64_t>(index) < extra ? 1 : 0);
  std::vector<RowMutation> batch;
  for (uint64_t id = begin; id < end && !sh->stop; ) {
    batch.clear();
    int64_t ts = NowMicros();
    for (; id < end && batch.size() < static_cast<size_t>(c.batch); id++) {
      batch.push_back(WholeRecord(id, c, &rng, ts));
    }
    auto t0 = Clock::now();
    Status s = sh->table->ApplyBatch(batch);
    if (!s.ok()) return sh->Fail(s);
    l->batch.latency_ns.Record(ElapsedNs(t0));
    l->batch.count++;
    l->records_written += batch.size();
    sh->done += batch.size();
  }
}

void RunMixed(Shared* sh, int index, uint64_t ops, Local* l) {
  const RunConfig& c = *sh->config;
  Rng rng(c.seed * 104729 + index);
  OperationMix mix = OperationMix::For(c.workload);
  auto chooser = NewKeyChooser(c.distribution, c.records, &sh->newest);
  std::vector<Cell> cells;
  for (uint64_t i = 0; i < ops && !sh->stop; i++) {
    OpType type = c.workload == Workload::kSyncWrite ? OpType::kUpdate : mix.Choose(rng.NextDouble());
    Status s;
    auto t0 = Clock::now();
    OpResult* out = &l->per_type[static_cast<int>(type)];
    switch (type) {
      case OpType::kRead:
        s = ReadRow(sh->table, RecordKey(chooser->Next(&rng)), &cells, l);
        break;
      case OpType::kUpdate:
        if (c.workload == Workload::kSyncWrite) {
          out = &l->syncwrite;
          s = sh->table->Apply(WholeRecord(chooser->Next(&rng), c, &rng, NowMicros()));
          if (s.ok()) s = sh->table->Sync();
          if (s.ok()) l->records_written++;
        } else {
          RowMutation m(RecordKey(chooser->Next(&rng)));
          m.Set(FieldColumn(static_cast<int>(rng.Uniform(c.fields))), NowMicros(),
                FieldValue(&rng, c.value_size));
          s = sh->table->Apply(m);
        }
        break;
      case OpType::kInsert: {
        uint64_t id = sh->next_insert.fetch_add(1);
        s = sh->table->Apply(WholeRecord(id, c, &rng, NowMicros()));
        if (s.ok()) {
          l->records_written++;
          sh->Acknowledge(id);
        }
        break;
      }
      case OpType::kScan:
        s = ShortScan(sh->table, RecordKey(chooser->Next(&rng)), 1 + rng.Uniform(c.scan_max), l);
        break;
      case OpType::kReadModifyWrite: {
        std::string key = RecordKey(chooser->Next(&rng));
        s = ReadRow(sh->table, key, &cells, l);
        if (!s.ok()) break;
        std::string column = FieldColumn(static_cast<int>(rng.Uniform(c.fields)));
        std::vector<Condition> cond;
        cond.push_back(Condition::ColumnAbsent(column));
        for (const Cell& cell : cells) {
          if (cell.column == column) cond[0] = Condition::LatestEquals(column, cell.value);
        }
        RowMutation m(key);
        m.Set(column, NowMicros(), FieldValue(&rng, c.value_size));
        s = sh->table->ApplyIf(cond, m, nullptr);
        if (s.IsConflict()) {
          l->conflicts++;
          s = Status::OK();
        }
        break;
      }
      case OpType::kCount:
        break;
    }
    if (!s.ok()) return sh->Fail(s);
    out->latency_ns.Record(ElapsedNs(t0));
    out->count++;
    sh->done++;
  }
}

void RunFullScan(Shared* sh, Local* l) {
  auto t0 = Clock::now();
  std::unique_ptr<CellStream> s;
  Status st = sh->table->Scan(ScanPredicate(), &s);
  if (!st.ok()) return sh->Fail(st);
  uint64_t n = 0;
  for (Cell c; s->Next(&c);) {
    l->cells_read++;
    l->bytes_read += c.row.size() + c.column.size() + c.value.size();
    if (++n % 4096 == 0) sh->done += 4096;
  }
  if (!s->status().ok()) return sh->Fail(s->status());
  l->per_type[static_cast<int>(OpType::kScan)].latency_ns.Record(ElapsedNs(t0));
  l->per_type[static_cast<int>(OpType::kScan)].count++;
}

void Progress(Shared* sh, const RunConfig& c, uint64_t total, std::mutex* mu,
              std::condition_variable* cv, bool* finished) {
  auto start = Clock::now();
  std::unique_lock<std::mutex> lock(*mu);
  const char* unit = c.workload == Workload::kLoad ? "records"
                     : c.workload == Workload::kScan ? "cells" : "ops";
  while (!cv->wait_for(lock, std::chrono::seconds(1), [&] { return *finished; })) {
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    uint64_t done = sh->done.load();
    char line[200];
    if (total > 0) {
      snprintf(line, sizeof(line), "\r%s %s: %llu/%llu %s, %.0f %s/s   ", c.label.c_str(),
               WorkloadName(c.workload), static_cast<unsigned long long>(done),
               static_cast<unsigned long long>(total), unit, done / secs, unit);
    } else {
      snprintf(line, sizeof(line), "\r%s %s: %llu %s, %.0f %s/s   ", c.label.c_str(),
               WorkloadName(c.workload), static_cast<unsigned long long>(done), unit,
               done / secs, unit);
    }
    *c.progress << line << std::flush;
  }
  *c.progress << "\r" << std::string(78, ' ') << "\r" << std::flush;
}

}  // namespace

uint64_t RunResult::TotalOps() const {
  uint64_t n = 0;
  for (const OpResult& o : ops) {
    if (o.name != "sync") n += o.count;
  }
  return n;
}

const OpResult* RunResult::Find(const std::string& name) const {
  for (const OpResult& o : ops) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

Status RunWorkload(Table* table, const RunConfig& config, RunResult* result) {
  if (config.threads < 1 || config.fields < 1 || config.batch < 1 || config.scan_max < 1) {
    return Status::InvalidArgument("threads, fields, batch and scan_max must be >= 1");
  }
  Shared sh;
  sh.config = &config;
  sh.table = table;
  sh.next_insert = config.records;
  sh.newest = config.records;
  int threads = config.workload == Workload::kScan ? 1 : config.threads;
  std::vector<Local> locals(threads);

  rusage ru0, ru1;
  getrusage(RUSAGE_SELF, &ru0);
  auto start = Clock::now();

  std::mutex pmu;
  std::condition_variable pcv;
  bool finished = false;
  std::thread progress;
  uint64_t total = config.workload == Workload::kLoad ? config.records
                   : config.workload == Workload::kScan ? 0 : config.ops;
  if (config.progress != nullptr) {
    progress = std::thread(Progress, &sh, std::cref(config), total, &pmu, &pcv, &finished);
  }

  std::vector<std::thread> workers;
  for (int i = 0; i < threads; i++) {
    uint64_t share = config.ops / threads + (static_cast<uint64_t>(i) < config.ops % threads ? 1 : 0);
    workers.emplace_back([&, i, share] {
      switch (config.workload) {
        case Workload::kLoad: RunLoad(&sh, i, &locals[i]); break;
        case Workload::kScan: RunFullScan(&sh, &locals[i]); break;
        default: RunMixed(&sh, i, share, &locals[i]); break;
      }
    });
  }
  for (auto& w : workers) w.join();

  Local merged;
  if (config.workload == Workload::kLoad && sh.first_error.ok()) {
    auto t0 = Clock::now();
    Status s = table->Sync();
    if (!s.ok()) sh.Fail(s);
    merged.sync.latency_ns.Record(ElapsedNs(t0));
    merged.sync.count = 1;
  }
  result->wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  getrusage(RUSAGE_SELF, &ru1);
  {
    std::lock_guard<std::mutex> lock(pmu);
    finished = true;
  }
  pcv.notify_all();
  if (progress.joinable()) progress.join();

  result->client_user_seconds = TimevalSeconds(ru1.ru_utime) - TimevalSeconds(ru0.ru_utime);
  result->client_sys_seconds = TimevalSeconds(ru1.ru_stime) - TimevalSeconds(ru0.ru_stime);

  for (const Local& l : locals) {
    for (int t = 0; t < static_cast<int>(OpType::kCount); t++) {
      merged.per_type[t].count += l.per_type[t].count;
      merged.per_type[t].latency_ns.Merge(l.per_type[t].latency_ns);
    }
    merged.batch.count += l.batch.count;
    merged.batch.latency_ns.Merge(l.batch.latency_ns);
    merged.syncwrite.count += l.syncwrite.count;
    merged.syncwrite.latency_ns.Merge(l.syncwrite.latency_ns);
    merged.records_written += l.records_written;
    merged.cells_read += l.cells_read;
    merged.bytes_read += l.bytes_read;
    merged.conflicts += l.conflicts;
    merged.not_found += l.not_found;
  }
  result->ops.clear();
  for (int t = 0; t < static_cast<int>(OpType::kCount); t++) {
    if (merged.per_type[t].count == 0) continue;
    merged.per_type[t].name = OpTypeName(static_cast<OpType>(t));
    result->ops.push_back(std::move(merged.per_type[t]));
  }
  if (merged.batch.count > 0) {
    merged.batch.name = "batch";
    result->ops.push_back(std::move(merged.batch));
  }
  if (merged.syncwrite.count > 0) {
    merged.syncwrite.name = "syncwrite";
    result->ops.push_back(std::move(merged.syncwrite));
  }
  if (merged.sync.count > 0) {
    merged.sync.name = "sync";
    result->ops.push_back(std::move(merged.sync));
  }
  result->records_written = merged.records_written;
  result->cells_read = merged.cells_read;
  result->bytes_read = merged.bytes_read;
  result->conflicts = merged.conflicts;
  result->not_found = merged.not_found;
  std::lock_guard<std::mutex> lock(sh.mu);
  return sh.first_error;
}

}  // namespace kdi::bench
