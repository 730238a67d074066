// Tests of `kdicli bench`'s pieces: the latency histogram's buckets and
// quantiles, the key choosers' distributions, the YCSB operation mixes, the
// workload driver against an in-process mem: table, and the command's usage
// errors and a small end-to-end run of the kdicli binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <sstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kdi/table.h"
#include "kdicli/bench_histogram.h"
#include "kdicli/bench_runner.h"
#include "kdicli/bench_workload.h"
#include "t/run_program.h"
#include "t/test_util.h"

namespace kdi::bench {
namespace {

std::string ReadWholeFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(LatencyHistogramTest, BucketsCoverEveryValueWithBoundedError) {
  std::vector<uint64_t> probes = {0, 1, 63, 127, 128, 129, 255, 256, 1000, 12345, 999999,
                                  uint64_t{1} << 40, (uint64_t{1} << 63) + 12345, UINT64_MAX};
  for (uint64_t v : probes) {
    size_t i = LatencyHistogram::BucketIndex(v);
    ASSERT_LT(i, LatencyHistogram::BucketCount()) << v;
    EXPECT_LE(LatencyHistogram::BucketLowest(i), v) << v;
    EXPECT_GE(LatencyHistogram::BucketHighest(i), v) << v;
    // Width relative to the value is at most 1/64.
    EXPECT_LE(static_cast<double>(LatencyHistogram::BucketHighest(i) -
                                  LatencyHistogram::BucketLowest(i)),
              static_cast<double>(v) / 64.0 + 1e-9)
        << v;
  }
  // Buckets are contiguous and increasing.
  for (size_t i = 1; i < LatencyHistogram::BucketCount(); i++) {
    ASSERT_EQ(LatencyHistogram::BucketLowest(i), LatencyHistogram::BucketHighest(i - 1) + 1) << i;
  }
  EXPECT_EQ(LatencyHistogram::BucketHighest(LatencyHistogram::BucketCount() - 1), UINT64_MAX);
}

TEST(LatencyHistogramTest, QuantilesOfAUniformRamp) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100000; v++) h.Record(v * 1000);  // 1 us .. 100 ms in ns
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 100000000u);
  EXPECT_NEAR(h.Mean(), 50000500.0, 1.0);
  struct {
    double q;
    double want;
  } cases[] = {{0.5, 50e6}, {0.95, 95e6}, {0.99, 99e6}, {0.999, 99.9e6}, {1.0, 100e6}};
  for (const auto& c : cases) {
    double got = static_cast<double>(h.ValueAtQuantile(c.q));
    EXPECT_GE(got, c.want * (1 - 1e-9)) << c.q;
    EXPECT_LE(got, c.want * (1 + 1.0 / 64)) << c.q;
  }
  EXPECT_EQ(h.ValueAtQuantile(0.0), 1000u);
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverythingInOne) {
  LatencyHistogram a, b, all;
  Rng rng(3);
  for (int i = 0; i < 5000; i++) {
    uint64_t v = rng.Uniform(1000000);
    (i % 2 ? a : b).Record(v);
    all.Record(v);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (double q : {0.1, 0.5, 0.9, 0.99, 0.999}) {
    EXPECT_EQ(a.ValueAtQuantile(q), all.ValueAtQuantile(q)) << q;
  }
  LatencyHistogram empty;
  EXPECT_EQ(empty.ValueAtQuantile(0.99), 0u);
  a.Clear();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(a.max(), 0u);
}

TEST(LatencyHistogramTest, SmallValuesAreExactAndQuantilesNeverExceedMax) {
  LatencyHistogram h;
  for (int i = 0; i < 99; i++) h.Record(10);
  h.Record(5000);
  EXPECT_EQ(h.ValueAtQuantile(0.5), 10u);
  EXPECT_EQ(h.ValueAtQuantile(0.99), 10u);
  EXPECT_EQ(h.ValueAtQuantile(0.999), 5000u);  // clamped to the max, not the bucket end
}

TEST(WorkloadTest, MixesMatchYcsbProportions) {
  struct {
    Workload w;
    std::map<OpType, double> want;
  } cases[] = {
      {Workload::kA, {{OpType::kRead, 0.5}, {OpType::kUpdate, 0.5}}},
      {Workload::kB, {{OpType::kRead, 0.95}, {OpType::kUpdate, 0.05}}},
      {Workload::kC, {{OpType::kRead, 1.0}}},
      {Workload::kD, {{OpType::kRead, 0.95}, {OpType::kInsert, 0.05}}},
      {Workload::kE, {{OpType::kScan, 0.95}, {OpType::kInsert, 0.05}}},
      {Workload::kF, {{OpType::kRead, 0.5}, {OpType::kReadModifyWrite, 0.5}}},
  };
  const int kN = 200000;
  for (const auto& c : cases) {
    OperationMix mix = OperationMix::For(c.w);
    Rng rng(11);
    std::map<OpType, int> got;
    for (int i = 0; i < kN; i++) got[mix.Choose(rng.NextDouble())]++;
    for (const auto& [type, n] : got) {
      ASSERT_TRUE(c.want.count(type)) << WorkloadName(c.w) << " chose " << OpTypeName(type);
    }
    for (const auto& [type, p] : c.want) {
      EXPECT_NEAR(static_cast<double>(got[type]) / kN, p, 0.01)
          << WorkloadName(c.w) << " " << OpTypeName(type);
    }
  }
  EXPECT_EQ(OperationMix::DefaultDistribution(Workload::kD), Distribution::kLatest);
  EXPECT_EQ(OperationMix::DefaultDistribution(Workload::kA), Distribution::kZipfian);
  // Choose() at the very top of [0, 1) still picks a kind of the mix.
  EXPECT_EQ(OperationMix::For(Workload::kA).Choose(0.9999999999), OpType::kUpdate);
}

TEST(WorkloadTest, UniformChooserIsFlat) {
  std::atomic<uint64_t> newest{100};
  auto ch = NewKeyChooser(Distribution::kUniform, 100, &newest);
  Rng rng(5);
  std::vector<int> counts(100, 0);
  for (int i = 0; i < 200000; i++) {
    uint64_t id = ch->Next(&rng);
    ASSERT_LT(id, 100u);
    counts[id]++;
  }
  auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
  EXPECT_GT(*lo, 1700);  // expected 2000 each
  EXPECT_LT(*hi, 2300);
}

TEST(WorkloadTest, ZipfianRanksFollowPowerLaw) {
  const uint64_t kItems = 1000;
  ZipfianGenerator z(kItems);
  Rng rng(7);
  std::vector<int> counts(kItems, 0);
  const int kN = 500000;
  for (int i = 0; i < kN; i++) {
    uint64_t r = z.Next(&rng);
    ASSERT_LT(r, kItems);
    counts[r]++;
  }
  // P(rank k) = 1 / (k+1)^0.99 / zeta(n); zeta(1000, 0.99) ~ 7.3.
  double zeta = 0;
  for (uint64_t i = 1; i <= kItems; i++) zeta += 1.0 / std::pow(i, 0.99);
  for (int k : {0, 1, 9}) {
    double want = 1.0 / std::pow(k + 1, 0.99) / zeta;
    EXPECT_NEAR(static_cast<double>(counts[k]) / kN, want, want * 0.1) << k;
  }
  // Popularity decreases with rank: the top 10 ranks get ~40%, the bottom half ~10%.
  int top = 0, bottom = 0;
  for (int k = 0; k < 10; k++) top += counts[k];
  for (uint64_t k = kItems / 2; k < kItems; k++) bottom += counts[k];
  EXPECT_GT(top, bottom * 3);
}

TEST(WorkloadTest, ScrambledZipfianSpreadsHotKeys) {
  std::atomic<uint64_t> newest{10000};
  auto ch = NewKeyChooser(Distribution::kZipfian, 10000, &newest);
  Rng rng(9);
  std::map<uint64_t, int> counts;
  for (int i = 0; i < 100000; i++) {
    uint64_t id = ch->Next(&rng);
    ASSERT_LT(id, 10000u);
    counts[id]++;
  }
  std::vector<std::pair<int, uint64_t>> by_count;
  for (auto& [id, n] : counts) by_count.push_back({n, id});
  std::sort(by_count.rbegin(), by_count.rend());
  // Skewed: the hottest id gets far more than the 10 a uniform choice would give.
  EXPECT_GT(by_count[0].first, 500);
  // Scrambled: the 5 hottest ids are not the 5 smallest ids.
  std::set<uint64_t> hot;
  for (int i = 0; i < 5; i++) hot.insert(by_count[i].second);
  EXPECT_NE(hot, (std::set<uint64_t>{0, 1, 2, 3, 4}));
}

TEST(WorkloadTest, LatestPrefersNewestAndFollowsInserts) {
  std::atomic<uint64_t> newest{1000};
  auto ch = NewKeyChooser(Distribution::kLatest, 1000, &newest);
  Rng rng(13);
  int newest_hits = 0;
  for (int i = 0; i < 10000; i++) {
    uint64_t id = ch->Next(&rng);
    ASSERT_LT(id, 1000u);
    if (id == 999) newest_hits++;
  }
  EXPECT_GT(newest_hits, 1000);  // ~13% for rank 0 of a zipfian over 1000
  newest = 5000;
  bool saw_new = false;
  for (int i = 0; i < 1000; i++) {
    uint64_t id = ch->Next(&rng);
    ASSERT_LT(id, 5000u);
    saw_new = saw_new || id >= 1000;
  }
  EXPECT_TRUE(saw_new);
}

TEST(WorkloadTest, KeysValuesAndParsing) {
  EXPECT_EQ(RecordKey(0).size(), 20u);
  EXPECT_EQ(RecordKey(0).substr(0, 4), "user");
  EXPECT_NE(RecordKey(1), RecordKey(2));
  EXPECT_EQ(RecordKey(42), RecordKey(42));
  std::set<std::string> keys;
  for (uint64_t i = 0; i < 10000; i++) keys.insert(RecordKey(i));
  EXPECT_EQ(keys.size(), 10000u);
  EXPECT_EQ(FieldColumn(3), "f:field3");
  Rng rng(1);
  std::string v = FieldValue(&rng, 100000);
  EXPECT_EQ(v.size(), 100000u);
  for (char ch : v) ASSERT_TRUE(ch >= ' ' && ch <= '~');
  Workload w;
  EXPECT_OK(ParseWorkload("syncwrite", &w));
  EXPECT_EQ(w, Workload::kSyncWrite);
  EXPECT_TRUE(ParseWorkload("g", &w).IsInvalidArgument());
  Distribution d;
  EXPECT_OK(ParseDistribution("latest", &d));
  EXPECT_EQ(d, Distribution::kLatest);
  EXPECT_TRUE(ParseDistribution("pareto", &d).IsInvalidArgument());
}

// The driver against an in-process table: what it reports is what it did.
TEST(RunWorkloadTest, LoadThenMixedWorkloadsOnMemTable) {
  std::unique_ptr<Table> t;
  ASSERT_OK(Table::Open("mem:", &t));
  RunConfig c;
  c.workload = Workload::kLoad;
  c.records = 500;
  c.threads = 3;
  c.fields = 4;
  c.value_size = 20;
  c.batch = 32;
  RunResult r;
  ASSERT_OK(RunWorkload(t.get(), c, &r));
  EXPECT_EQ(r.records_written, 500u);
  ASSERT_NE(r.Find("batch"), nullptr);
  EXPECT_GE(r.Find("batch")->count, 500u / 32);
  ASSERT_NE(r.Find("sync"), nullptr);

  c.workload = Workload::kScan;
  ASSERT_OK(RunWorkload(t.get(), c, &r));
  EXPECT_EQ(r.cells_read, 500u * 4);
  EXPECT_EQ(r.bytes_read, 500u * 4 * (20 + 20 + 8));  // row 20, "f:fieldN" 8, value 20

  for (Workload w : {Workload::kA, Workload::kB, Workload::kC, Workload::kD, Workload::kE,
                     Workload::kF, Workload::kSyncWrite}) {
    c.workload = w;
    c.distribution = OperationMix::DefaultDistribution(w);
    c.ops = 300;
    c.scan_max = 10;
    SCOPED_TRACE(WorkloadName(w));
    ASSERT_OK(RunWorkload(t.get(), c, &r));
    EXPECT_EQ(r.TotalOps(), 300u) << WorkloadName(w);
    EXPECT_EQ(r.not_found, 0u) << WorkloadName(w);
    for (const OpResult& o : r.ops) {
      EXPECT_EQ(o.latency_ns.count(), o.count) << o.name;
      EXPECT_GT(o.latency_ns.max(), 0u) << o.name;
    }
  }
  // The last run was syncwrite: one record per op, all of it.
  EXPECT_EQ(r.records_written, 300u);
  ASSERT_NE(r.Find("syncwrite"), nullptr);

  // Short scans read whole rows, at most scan_max of them.
  c.workload = Workload::kE;
  c.threads = 1;
  c.ops = 50;
  ASSERT_OK(RunWorkload(t.get(), c, &r));
  ASSERT_NE(r.Find("scan"), nullptr);
  uint64_t scans = r.Find("scan")->count;
  EXPECT_LE(r.cells_read, scans * 10 * 4);
  EXPECT_GE(r.cells_read, scans * 4);
}

TEST(RunWorkloadTest, ErrorsStopTheRun) {
  std::unique_ptr<Table> t;
  ASSERT_OK(Table::Open("mem:", &t));
  ASSERT_OK(t->Close());  // every later call fails
  RunConfig c;
  c.workload = Workload::kA;
  c.records = 10;
  c.ops = 1000;
  c.threads = 2;
  RunResult r;
  Status s = RunWorkload(t.get(), c, &r);
  EXPECT_FALSE(s.ok());
  EXPECT_LT(r.TotalOps(), 1000u);
}

TEST(BenchCommandTest, UsageErrorsExitTwo) {
  auto r = test::RunProgram("kdicli/kdicli", {"bench", "--baseline", "mem:"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--workload"), std::string::npos) << r.err;
  r = test::RunProgram("kdicli/kdicli", {"bench", "--workload", "c"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = test::RunProgram("kdicli/kdicli", {"bench", "--workload", "z", "--baseline", "mem:"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = test::RunProgram("kdicli/kdicli", {"bench", "--workload", "c", "--baseline", "mem:",
                                         "--threads", "0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = test::RunProgram("kdicli/kdicli",
                       {"bench", "--workload", "load", "--target", "local:/x", "--create"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST(BenchCommandTest, RunsAgainstTargetAndBaselineAndWritesJson) {
  test::TempDir dir;
  std::string json = dir.path() + "/out.json";
  auto r = test::RunProgram(
      "kdicli/kdicli",
      {"bench", "--workload", "load", "--target", "local:" + dir.path() + "/t", "--baseline",
       "local:" + dir.path() + "/b", "--records", "200", "--threads", "2", "--json", json});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("target local:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("baseline local:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ratio cluster/baseline"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("p99.9"), std::string::npos) << r.out;
  r = test::RunProgram("kdicli/kdicli", {"bench", "--workload", "scan", "--target",
                                         "local:" + dir.path() + "/t", "--json", json});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("2000 cells"), std::string::npos) << r.out;
  std::string text = ReadWholeFile(json);
  EXPECT_NE(text.find("\"workload\":\"scan\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"cells_read\":2000"), std::string::npos) << text;
}

TEST(BenchCommandTest, VersionsSetsTheSchemaOfALocalTable) {
  test::TempDir dir;
  const std::string uri = "local:" + dir.path() + "/t";
  auto schema_of = [&](Schema* out) {
    std::unique_ptr<Table> t;
    ASSERT_OK(Table::Open(uri, TableOptions(), &t));
    ASSERT_OK(t->GetSchema(out));
    ASSERT_OK(t->Close());
  };
  // Default: one version of each field, like HBase's default for YCSB.
  auto r = test::RunProgram("kdicli/kdicli", {"bench", "--workload", "load", "--target", uri,
                                              "--records", "50"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  Schema s;
  schema_of(&s);
  EXPECT_EQ(s.ToString(), "*:versions=1");
  // Updates then keep one version per field: a full scan sees 50 x 10 cells.
  r = test::RunProgram("kdicli/kdicli", {"bench", "--workload", "a", "--target", uri,
                                         "--records", "50", "--ops", "400"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = test::RunProgram("kdicli/kdicli", {"bench", "--workload", "scan", "--target", uri,
                                         "--records", "50", "--versions", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(", 500 cells,"), std::string::npos) << r.out;
  schema_of(&s);
  EXPECT_EQ(s.ToString(), "*");
  r = test::RunProgram("kdicli/kdicli", {"bench", "--workload", "scan", "--target", uri,
                                         "--versions", "-1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

}  // namespace
}  // namespace kdi::bench
