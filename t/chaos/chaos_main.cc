// kdi-chaos: continuous ingest under a chaos schedule against a mini cluster of
// the built daemons (KDI_BUILD_DIR, default "."); see t/chaos/chaos_runner.h.
// `make check-chaos [CHAOS_SECONDS=N]` runs it.
//
//   t/chaos/kdi-chaos [--seconds=N] [--writers=N] [--tablet_servers=N]
//                     [--seed=N] [--min_interval_ms=N] [--max_interval_ms=N]
//                     [--rows_per_batch=N] [--batch_interval_ms=N]
//                     [--lease_ms=N] [--log_level=L]
//
// Progress (one line per fault) goes to stderr; the one summary line to stdout.
// Exit status: 0 when no acknowledged row is lost and nothing is undefined or
// duplicated, 1 when something is, 2 on a usage error or when the harness
// itself failed (daemon log tails are then printed to stderr).
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "t/chaos/chaos_runner.h"

namespace {

bool ParseInt(const std::string& arg, const char* name, int64_t min, int64_t* out) {
  std::string prefix = std::string("--") + name + "=";
  if (arg.compare(0, prefix.size(), prefix) != 0) return false;
  std::string v = arg.substr(prefix.size());
  char* end = nullptr;
  errno = 0;
  long long n = strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || n < min) {
    std::cerr << "kdi-chaos: bad value for --" << name << ": '" << v << "' (an integer >= "
              << min << ")\n";
    exit(2);
  }
  *out = n;
  return true;
}

void Usage() {
  std::cerr << "usage: kdi-chaos [--seconds=N] [--writers=N] [--tablet_servers=N] [--seed=N]\n"
               "                 [--min_interval_ms=N] [--max_interval_ms=N] [--lease_ms=N]\n"
               "                 [--rows_per_batch=N] [--batch_interval_ms=N]\n"
               "                 [--log_level=LEVEL]\n";
}

}  // namespace

int main(int argc, char** argv) {
  kdi::chaos::ChaosOptions o;
  o.progress = &std::cerr;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    int64_t n = 0;
    if (a == "--help" || a == "-h") {
      Usage();
      return 0;
    } else if (ParseInt(a, "seconds", 1, &n)) {
      o.seconds = n;
    } else if (ParseInt(a, "writers", 1, &n)) {
      o.writers = static_cast<int>(n);
    } else if (ParseInt(a, "tablet_servers", 2, &n)) {
      o.tablet_servers = static_cast<int>(n);
    } else if (ParseInt(a, "seed", 0, &n)) {
      o.seed = static_cast<uint64_t>(n);
    } else if (ParseInt(a, "min_interval_ms", 0, &n)) {
      o.min_interval_ms = n;
    } else if (ParseInt(a, "max_interval_ms", 0, &n)) {
      o.max_interval_ms = n;
    } else if (ParseInt(a, "rows_per_batch", 1, &n)) {
      o.rows_per_batch = static_cast<int>(n);
    } else if (ParseInt(a, "batch_interval_ms", 0, &n)) {
      o.batch_interval_ms = n;
    } else if (ParseInt(a, "lease_ms", 1000, &n)) {
      o.lease_ms = n;
    } else if (a.compare(0, 12, "--log_level=") == 0) {
      o.log_level = a.substr(12);
    } else {
      std::cerr << "kdi-chaos: unknown argument '" << a << "'\n";
      Usage();
      return 2;
    }
  }
  if (o.max_interval_ms < o.min_interval_ms) {
    std::cerr << "kdi-chaos: --max_interval_ms is below --min_interval_ms\n";
    return 2;
  }
  kdi::chaos::ChaosReport r;
  kdi::Status s = kdi::chaos::RunChaos(o, &r);
  for (const auto& p : r.problems) std::cerr << "chaos problem: " << p << "\n";
  if (!s.ok()) {
    std::cerr << "kdi-chaos: the run failed: " << s.ToString() << "\n";
    std::cout << kdi::chaos::SummaryLine(o, r) << std::endl;
    return 2;
  }
  std::cout << kdi::chaos::SummaryLine(o, r) << std::endl;
  return r.passed ? 0 : 1;
}
