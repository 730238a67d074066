// tablet_bench: measures what one tablet environment costs (open time, RSS) and
// commit rates, to size tabletd's per-tablet cache from a server budget.
//
//   t/tablet_bench [TABLETS [CACHE_KIB]]     (defaults 200, 256)
//
// Prints: open time per tablet, RSS growth per open tablet, synced single-put
// commits/s on one tablet, and 100-put batches (puts/s). Not a test: numbers
// depend on the machine; DESIGN.md §6 and doc/storage_format.md quote them.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "lib/storage/tablet.h"
#include "t/test_util.h"

namespace {

long RssKib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kdi;
  using namespace kdi::storage;
  int n = argc > 1 ? std::atoi(argv[1]) : 200;
  size_t cache_kib = argc > 2 ? static_cast<size_t>(std::atol(argv[2])) : 256;
  test::TempDir dir;
  TabletOptions o;
  o.cache_bytes = cache_kib * 1024;
  TabletMeta meta;
  meta.table = "bench";
  meta.schema = Schema::AcceptAny();
  {
    std::vector<std::unique_ptr<Tablet>> ts;
    for (int i = 0; i < n; ++i) {
      std::unique_ptr<Tablet> t;
      Status s = Tablet::Create(dir.Join("c" + std::to_string(i)), meta, o, &t);
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", s.ToString().c_str());
        return 1;
      }
    }
  }
  long rss0 = RssKib();
  auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<Tablet>> open;
  for (int i = 0; i < n; ++i) {
    std::unique_ptr<Tablet> t;
    Status s = Tablet::Open(dir.Join("c" + std::to_string(i)), o, &t);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    open.push_back(std::move(t));
  }
  double open_s = Seconds(start);
  long rss1 = RssKib();
  std::printf("tablets=%d cache=%zuKiB open=%.2fms/tablet rss=%.1fKiB/tablet\n", n, cache_kib,
              open_s * 1000 / n, static_cast<double>(rss1 - rss0) / n);

  Tablet* t = open[0].get();
  start = std::chrono::steady_clock::now();
  int k = 0;
  while (Seconds(start) < 1.0) {
    RowMutation m("r" + std::to_string(k++));
    m.Set("f:a", 1, "value");
    if (!t->Apply({m}, nullptr).ok() || !t->Sync().ok()) return 1;
  }
  std::printf("synced single-put commits: %.0f/s\n", k / Seconds(start));
  start = std::chrono::steady_clock::now();
  k = 0;
  while (Seconds(start) < 1.0) {
    std::vector<RowMutation> batch;
    for (int i = 0; i < 100; ++i) {
      batch.push_back(RowMutation("b" + std::to_string(k++)).Set("f:a", 1, "value"));
    }
    if (!t->Apply(batch, nullptr).ok() || !t->Sync().ok()) return 1;
  }
  std::printf("synced 100-put batches: %.0f puts/s\n", k / Seconds(start));
  return 0;
}
