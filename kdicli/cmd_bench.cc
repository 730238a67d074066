// kdicli bench: YCSB-style workloads against a table URI (the cluster) and,
// with --baseline, against a local: table in this process (the storage
// engine's own speed), reporting both and the ratio cluster/baseline.
//
//   kdicli bench --target kdi://127.0.0.1:7400/usertable --baseline local:/tmp/b
//       --workload c --records 100000 --ops 200000 --threads 16
//
// The workload machinery is in kdicli/bench_runner.h (drivers),
// kdicli/bench_workload.h (keys, distributions, mixes) and
// kdicli/bench_histogram.h (latency). This file parses flags, opens (and with
// --create creates) the tables, samples the daemons' CPU and peak RSS from
// /proc, and prints the report (text on stdout, JSON with --json FILE).
//
// Daemons: their pids are read from DIR/*.pid where DIR is --pid_dir, or by
// default the run/ directory beside the kdi.conf in use (the layout of
// `kdicli local-cluster`). CPU is the growth of utime+stime over the run,
// peak RSS is VmHWM (the peak since the daemon started).
//
// Threading: the command runs on kdicli's thread; RunWorkload starts and
// joins its own workers.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "kdi/lock_client.h"
#include "kdi/table.h"
#include "kdicli/bench_runner.h"
#include "kdicli/command.h"
#include "kdicli/table_uri.h"
#include "lib/client/meta_client.h"
#include "lib/rpc/tls.h"

namespace kdi::cli {
namespace {

using bench::OpResult;
using bench::RunConfig;
using bench::RunResult;

std::string ReadSmall(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// kdi://HOST:PORT/NAME[?...] -> lockd HOST:PORT (default port 7400) and NAME.
Status SplitKdiUri(const std::string& uri, std::string* lockd, std::string* name) {
  std::string rest = DisplayUri(uri).substr(6);
  size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) {
    return Status::InvalidArgument("expected kdi://HOST[:PORT]/TABLE, got " + DisplayUri(uri));
  }
  *lockd = rest.substr(0, slash);
  if (lockd->find(':') == std::string::npos) *lockd += ":7400";
  *name = rest.substr(slash + 1);
  if (name->find('%') != std::string::npos) {
    return Status::InvalidArgument("--create: escaped table names are not supported");
  }
  return Status::OK();
}

// Creates the cluster table (with `schema`) with `splits` split rows
// spread evenly over the hex key space of bench records; an existing table is
// left as it is.
Status CreateTable(Context* ctx, const std::string& uri, int splits, const Schema& schema,
                   std::ostream& out) {
  std::string lockd, name;
  RETURN_NOT_OK(SplitKdiUri(uri, &lockd, &name));
  rpc::TlsOptions t;
  RETURN_NOT_OK_PREPEND(ctx->ClientTls(&t), "--create");
  lock::LockSessionOptions lo;
  lo.service = lockd;
  lo.tls_ca_file = t.ca_file;
  lo.tls_cert_file = t.cert_file;
  lo.tls_key_file = t.key_file;
  std::unique_ptr<lock::LockSession> session;
  RETURN_NOT_OK_PREPEND(lock::OpenLockSession(lo, &session), "lockd " + lockd);
  std::shared_ptr<rpc::TlsContext> tls;
  RETURN_NOT_OK(rpc::TlsContext::CreateClient(t, &tls));
  meta::MetaClient::Options mo;
  mo.lock_session = session.get();
  mo.tls = tls;
  meta::MetaClient mc(mo);
  meta::CreateTableRequest req;
  req.name = name;
  req.schema = schema;
  for (int i = 1; i <= splits; i++) {
    // Record keys are "user" + 16 hex digits, uniformly spread.
    uint64_t cut = static_cast<uint64_t>((static_cast<unsigned __int128>(i) << 64) / (splits + 1));
    char hex[17];
    snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(cut));
    req.split_rows.push_back(std::string("user") + hex);
  }
  Status s = mc.CreateTable(req);
  if (s.IsAlreadyExists()) {
    out << "table " << name << " exists; using it\n";
    s = Status::OK();
  } else if (s.ok()) {
    out << "created table " << name << " with " << splits + 1 << " tablet(s)\n";
  }
  Status c = session->Close();
  RETURN_NOT_OK(s);
  return c;
}

// ---- daemons ----

struct DaemonSample {
  std::string name;
  pid_t pid = 0;
  double cpu_before = 0, cpu_after = 0;  // seconds of utime + stime
  int64_t hwm_kib = -1, rss_kib = -1;
  bool alive = false;
};

bool ProcCpuSeconds(pid_t pid, double* secs) {
  std::string stat = ReadSmall("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return false;
  std::istringstream in(stat.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // After ")": state is field 3; utime is field 14, stime 15.
  for (int i = 3; i <= 15 && in >> field; i++) {
    if (i == 14) utime = strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stime = strtoull(field.c_str(), nullptr, 10);
  }
  *secs = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  return true;
}

void ProcMemory(pid_t pid, int64_t* hwm, int64_t* rss) {
  std::istringstream in(ReadSmall("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) *hwm = atoll(line.c_str() + 6);
    if (line.rfind("VmRSS:", 0) == 0) *rss = atoll(line.c_str() + 6);
  }
}

std::vector<DaemonSample> FindDaemons(const std::string& pid_dir) {
  std::vector<DaemonSample> out;
  if (pid_dir.empty()) return out;
  DIR* d = opendir(pid_dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string f = e->d_name;
    if (f.size() <= 4 || f.substr(f.size() - 4) != ".pid") continue;
    DaemonSample s;
    s.name = f.substr(0, f.size() - 4);
    s.pid = static_cast<pid_t>(atol(ReadSmall(pid_dir + "/" + f).c_str()));
    if (s.pid > 0 && ProcCpuSeconds(s.pid, &s.cpu_before)) {
      s.alive = true;
      out.push_back(s);
    }
  }
  closedir(d);
  std::sort(out.begin(), out.end(),
            [](const DaemonSample& a, const DaemonSample& b) { return a.name < b.name; });
  return out;
}

void FinishDaemons(std::vector<DaemonSample>* ds) {
  for (DaemonSample& s : *ds) {
    s.alive = ProcCpuSeconds(s.pid, &s.cpu_after);
    if (s.alive) ProcMemory(s.pid, &s.hwm_kib, &s.rss_kib);
  }
}

// ---- report ----

struct Run {
  std::string role;  // target | baseline
  std::string uri;
  RunResult result;
  std::vector<DaemonSample> daemons;
};

double OpsPerSec(const OpResult& o, double wall) { return wall > 0 ? o.count / wall : 0; }

double Us(uint64_t ns) { return ns / 1000.0; }

// The headline rate of a run: records/s for load, cells/s for scan, else ops/s.
double HeadlineRate(const RunConfig& c, const RunResult& r, const char** unit) {
  double w = r.wall_seconds > 0 ? r.wall_seconds : 1e-9;
  if (c.workload == bench::Workload::kLoad) {
    *unit = "records/s";
    return r.records_written / w;
  }
  if (c.workload == bench::Workload::kScan) {
    *unit = "cells/s";
    return r.cells_read / w;
  }
  *unit = "ops/s";
  return r.TotalOps() / w;
}

void PrintRun(const RunConfig& c, const Run& run, std::ostream& out) {
  const RunResult& r = run.result;
  out << run.role << " " << DisplayUri(run.uri) << "\n";
  char line[256];
  snprintf(line, sizeof(line), "  %-10s %10s %12s %10s %10s %10s %10s %10s\n", "op", "count",
           "ops/s", "p50(us)", "p95(us)", "p99(us)", "p99.9(us)", "max(us)");
  out << line;
  for (const OpResult& o : r.ops) {
    const auto& h = o.latency_ns;
    snprintf(line, sizeof(line), "  %-10s %10llu %12.0f %10.1f %10.1f %10.1f %10.1f %10.1f\n",
             o.name.c_str(), static_cast<unsigned long long>(o.count), OpsPerSec(o, r.wall_seconds),
             Us(h.ValueAtQuantile(0.5)), Us(h.ValueAtQuantile(0.95)), Us(h.ValueAtQuantile(0.99)),
             Us(h.ValueAtQuantile(0.999)), Us(h.max()));
    out << line;
  }
  const char* unit;
  double rate = HeadlineRate(c, r, &unit);
  snprintf(line, sizeof(line), "  rate %.0f %s", rate, unit);
  out << line;
  if (c.workload == bench::Workload::kScan || c.workload == bench::Workload::kE) {
    snprintf(line, sizeof(line), ", %llu cells, %.1f MB/s",
             static_cast<unsigned long long>(r.cells_read),
             r.bytes_read / 1e6 / (r.wall_seconds > 0 ? r.wall_seconds : 1e-9));
    out << line;
  }
  if (r.conflicts > 0) out << ", " << r.conflicts << " rmw conflicts";
  if (r.not_found > 0) out << ", " << r.not_found << " reads found no row";
  out << "\n";
  snprintf(line, sizeof(line), "  wall %.3f s, client CPU %.3f s (user %.3f, sys %.3f)\n",
           r.wall_seconds, r.client_user_seconds + r.client_sys_seconds, r.client_user_seconds,
           r.client_sys_seconds);
  out << line;
  for (const DaemonSample& d : run.daemons) {
    if (!d.alive) {
      out << "  daemon " << d.name << " (pid " << d.pid << ") is gone\n";
      continue;
    }
    snprintf(line, sizeof(line), "  daemon %-10s pid %-7d CPU %.3f s, peak RSS %.1f MiB, RSS %.1f MiB\n",
             d.name.c_str(), static_cast<int>(d.pid), d.cpu_after - d.cpu_before,
             d.hwm_kib / 1024.0, d.rss_kib / 1024.0);
    out << line;
  }
}

double Ratio(double a, double b) { return b > 0 ? a / b : 0; }

void PrintRatio(const RunConfig& c, const Run& t, const Run& b, std::ostream& out) {
  const char* unit;
  double rt = HeadlineRate(c, t.result, &unit), rb = HeadlineRate(c, b.result, &unit);
  char line[256];
  snprintf(line, sizeof(line), "ratio cluster/baseline: %s %.3f\n", unit, Ratio(rt, rb));
  out << line;
  for (const OpResult& o : t.result.ops) {
    const OpResult* ob = b.result.Find(o.name);
    if (ob == nullptr) continue;
    snprintf(line, sizeof(line), "  %-10s ops/s %.3f  p50 %.2fx  p99 %.2fx\n", o.name.c_str(),
             Ratio(OpsPerSec(o, t.result.wall_seconds), OpsPerSec(*ob, b.result.wall_seconds)),
             Ratio(o.latency_ns.ValueAtQuantile(0.5), ob->latency_ns.ValueAtQuantile(0.5)),
             Ratio(o.latency_ns.ValueAtQuantile(0.99), ob->latency_ns.ValueAtQuantile(0.99)));
    out << line;
  }
}

std::string JsonString(const std::string& s) {
  std::string o = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      o.push_back('\\');
      o.push_back(static_cast<char>(ch));
    } else if (ch < 0x20) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04x", ch);
      o += buf;
    } else {
      o.push_back(static_cast<char>(ch));
    }
  }
  return o + "\"";
}

std::string JsonRun(const RunConfig& c, const Run& run) {
  const RunResult& r = run.result;
  std::ostringstream j;
  j.precision(10);
  const char* unit;
  double rate = HeadlineRate(c, r, &unit);
  j << "{\"role\":" << JsonString(run.role) << ",\"uri\":" << JsonString(DisplayUri(run.uri))
    << ",\"wall_seconds\":" << r.wall_seconds << ",\"client_user_seconds\":"
    << r.client_user_seconds << ",\"client_sys_seconds\":" << r.client_sys_seconds
    << ",\"rate\":" << rate << ",\"rate_unit\":" << JsonString(unit)
    << ",\"records_written\":" << r.records_written << ",\"cells_read\":" << r.cells_read
    << ",\"bytes_read\":" << r.bytes_read << ",\"conflicts\":" << r.conflicts
    << ",\"not_found\":" << r.not_found << ",\"ops\":[";
  for (size_t i = 0; i < r.ops.size(); i++) {
    const OpResult& o = r.ops[i];
    const auto& h = o.latency_ns;
    j << (i ? "," : "") << "{\"name\":" << JsonString(o.name) << ",\"count\":" << o.count
      << ",\"ops_per_sec\":" << OpsPerSec(o, r.wall_seconds)
      << ",\"p50_us\":" << Us(h.ValueAtQuantile(0.5))
      << ",\"p95_us\":" << Us(h.ValueAtQuantile(0.95))
      << ",\"p99_us\":" << Us(h.ValueAtQuantile(0.99))
      << ",\"p999_us\":" << Us(h.ValueAtQuantile(0.999)) << ",\"max_us\":" << Us(h.max())
      << ",\"mean_us\":" << h.Mean() / 1000.0 << "}";
  }
  j << "],\"daemons\":[";
  for (size_t i = 0; i < run.daemons.size(); i++) {
    const DaemonSample& d = run.daemons[i];
    j << (i ? "," : "") << "{\"name\":" << JsonString(d.name) << ",\"pid\":" << d.pid
      << ",\"alive\":" << (d.alive ? "true" : "false")
      << ",\"cpu_seconds\":" << (d.alive ? d.cpu_after - d.cpu_before : 0)
      << ",\"peak_rss_kib\":" << d.hwm_kib << ",\"rss_kib\":" << d.rss_kib << "}";
  }
  j << "]}";
  return j.str();
}

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

int RunBench(Context* ctx) {
  Options* f = ctx->flags();
  f->AddString("target", "", "table to measure: kdi://HOST[:PORT]/TABLE, a table name of "
               "the configured cluster, local:DIR or mem:").ValueName("URI");
  f->AddString("baseline", "", "also run the workload on this table in-process "
               "(normally local:DIR) and report the ratio target/baseline").ValueName("URI");
  f->AddString("workload", "", "load, a, b, c, d, e, f, scan or syncwrite (required)")
      .Choices({"load", "a", "b", "c", "d", "e", "f", "scan", "syncwrite"})
      .ValueName("W");
  f->AddInt("records", 100000, 1, int64_t{1} << 40, "records in the table (load: to insert)")
      .ValueName("N");
  f->AddInt("ops", 100000, 1, int64_t{1} << 40, "operations of a..f and syncwrite, in total")
      .ValueName("N");
  f->AddInt("threads", 1, 1, 1024, "client threads").ValueName("N");
  f->AddInt("value_size", 100, 1, 1 << 24, "bytes per field").ValueName("B");
  f->AddInt("fields", 10, 1, 1000, "fields (columns f:field0..) per record").ValueName("F");
  f->AddString("distribution", "", "request distribution: uniform, zipfian or latest "
               "(default: latest for d, zipfian otherwise)")
      .Choices({"uniform", "zipfian", "latest"})
      .ValueName("D");
  f->AddInt("batch", 100, 1, 100000, "load: records per batch").ValueName("N");
  f->AddInt("scan_length", 100, 1, 100000, "e: longest short scan, in rows").ValueName("N");
  f->AddInt("seed", 1, 0, INT64_MAX, "random seed").ValueName("N");
  f->AddPath("json", "", "also write the results as JSON to FILE").ValueName("FILE");
  f->AddBool("create", false, "create the kdi:// target table first (an existing one is kept)");
  f->AddInt("splits", 0, 0, 4096, "with --create: split rows, spread over the key space")
      .ValueName("N");
  f->AddPath("pid_dir", "", "directory of NAME.pid files of the daemons to sample "
             "(default: run/ beside the kdi.conf in use)").ValueName("DIR");
  f->AddInt("versions", 1, 0, UINT32_MAX, "versions kept per field in the table --create "
            "makes and in a local:/mem: table (0: all; 1 is HBase's default)").ValueName("N");
  f->AddInt("baseline_cache_mb", 161, 1, 1 << 20, "Berkeley DB cache of a local: table")
      .ValueName("MB");
  std::vector<std::string> args;
  int rc;
  if (!ctx->Parse(&args, &rc)) return rc;
  if (!args.empty()) return ctx->UsageError("unexpected argument " + args[0]);
  if (f->GetString("workload").empty()) return ctx->UsageError("--workload is required");
  if (f->GetString("target").empty() && f->GetString("baseline").empty()) {
    return ctx->UsageError("give --target URI and/or --baseline URI");
  }

  RunConfig c;
  Status s = bench::ParseWorkload(f->GetString("workload"), &c.workload);
  if (!s.ok()) return ctx->UsageError(s.message());
  c.distribution = bench::OperationMix::DefaultDistribution(c.workload);
  if (!f->GetString("distribution").empty()) {
    s = bench::ParseDistribution(f->GetString("distribution"), &c.distribution);
    if (!s.ok()) return ctx->UsageError(s.message());
  }
  c.records = static_cast<uint64_t>(f->GetInt("records"));
  c.ops = static_cast<uint64_t>(f->GetInt("ops"));
  c.threads = static_cast<int>(f->GetInt("threads"));
  c.value_size = static_cast<size_t>(f->GetInt("value_size"));
  c.fields = static_cast<int>(f->GetInt("fields"));
  c.batch = static_cast<int>(f->GetInt("batch"));
  c.scan_max = static_cast<int>(f->GetInt("scan_length"));
  c.seed = static_cast<uint64_t>(f->GetInt("seed"));
  if (&ctx->err() == &std::cerr && isatty(2)) c.progress = &ctx->err();

  std::string pid_dir = f->GetString("pid_dir");
  if (pid_dir.empty() && !ctx->config_path().empty()) pid_dir = Dirname(ctx->config_path()) + "/run";

  // Every family (the wildcard) keeps `versions` versions of each field.
  Schema schema;
  FamilyOptions any;
  any.name = Schema::kWildcard;
  any.max_versions = static_cast<uint32_t>(f->GetInt("versions"));
  s = schema.AddFamily(any);
  if (!s.ok()) return ctx->Fail(s);

  TableOptions topts;
  if (c.workload == bench::Workload::kE) {
    // One page holds a whole short scan.
    topts.scan_page_cells = static_cast<size_t>(c.scan_max + 1) * c.fields;
  }

  std::ostream& out = ctx->out();
  char head[256];
  snprintf(head, sizeof(head),
           "kdicli bench: workload %s, %llu records, %llu ops, %d threads, %d x %zu B fields, %s\n",
           bench::WorkloadName(c.workload), static_cast<unsigned long long>(c.records),
           static_cast<unsigned long long>(c.ops), c.threads, c.fields, c.value_size,
           bench::DistributionName(c.distribution));
  out << head;

  std::vector<Run> runs;
  for (const char* role : {"target", "baseline"}) {
    std::string given = f->GetString(role);
    if (given.empty()) continue;
    Run run;
    run.role = role;
    s = ResolveTableUri(ctx, given, &run.uri);
    if (!s.ok()) return ctx->Fail(Status::InvalidArgument("--" + std::string(role) + ": " + s.message()));
    bool remote = run.uri.rfind("kdi://", 0) == 0;
    if (f->GetBool("create") && std::string(role) == "target") {
      if (!remote) return ctx->UsageError("--create needs a kdi:// target");
      s = CreateTable(ctx, run.uri, static_cast<int>(f->GetInt("splits")), schema, out);
      if (!s.ok()) return ctx->Fail(s);
    }
    TableOptions o = topts;
    o.cache_bytes = static_cast<size_t>(f->GetInt("baseline_cache_mb")) << 20;
    if (!remote) o.schema = schema;
    std::unique_ptr<Table> table;
    s = Table::Open(run.uri, o, &table);
    if (!s.ok()) return ctx->Fail(Status::FromCode(static_cast<int>(s.code()),
                                                   "open " + DisplayUri(run.uri) + ": " + s.message()));
    if (remote) run.daemons = FindDaemons(pid_dir);
    c.label = role;
    s = bench::RunWorkload(table.get(), c, &run.result);
    FinishDaemons(&run.daemons);
    Status cs = table->Close();
    if (s.ok()) s = cs;
    PrintRun(c, run, out);
    runs.push_back(std::move(run));
    if (!s.ok()) return ctx->Fail(Status::FromCode(static_cast<int>(s.code()),
                                                   std::string(role) + ": " + s.message()));
  }
  if (runs.size() == 2) PrintRatio(c, runs[0], runs[1], out);

  if (!f->GetString("json").empty()) {
    std::ofstream j(f->GetString("json"));
    j << "{\"workload\":" << JsonString(bench::WorkloadName(c.workload))
      << ",\"records\":" << c.records << ",\"ops\":" << c.ops << ",\"threads\":" << c.threads
      << ",\"value_size\":" << c.value_size << ",\"fields\":" << c.fields
      << ",\"distribution\":" << JsonString(bench::DistributionName(c.distribution))
      << ",\"runs\":[";
    for (size_t i = 0; i < runs.size(); i++) j << (i ? "," : "") << JsonRun(c, runs[i]);
    j << "]";
    if (runs.size() == 2) {
      const char* unit;
      j << ",\"ratio\":" << Ratio(HeadlineRate(c, runs[0].result, &unit),
                                  HeadlineRate(c, runs[1].result, &unit));
    }
    j << "}\n";
    j.close();
    if (!j) return ctx->Fail(Status::IOError("cannot write " + f->GetString("json")));
  }
  return kExitOk;
}

}  // namespace
}  // namespace kdi::cli

KDICLI_COMMAND("bench", kdi::cli::RunBench,
               "--workload load|a|b|c|d|e|f|scan|syncwrite [--target URI] [--baseline URI] "
               "[--records N] [--ops N] [--threads N] [--value-size B] [--fields F] "
               "[--distribution uniform|zipfian|latest] [--json FILE] [--create [--splits N]] "
               "[--versions N]",
               "run a YCSB-style benchmark against a table and a local: baseline");
