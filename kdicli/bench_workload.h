// kdi::bench workload generators for `kdicli bench`: YCSB-style key choosers
// (uniform, scrambled zipfian, latest), the operation mix of each core
// workload, record keys and field values.
//
// Semantics follow YCSB's CoreWorkload: record i's key is "user" + 16 hex
// digits of FNV-1a-64(i) (so inserts in id order scatter over the key space);
// zipfian uses Gray et al.'s generator with theta 0.99 over the ids, then
// scrambles the rank with FNV so hot keys are spread; latest is a zipfian over
// the ids counted down from the newest inserted record.
//
// Threading: choosers and Rng are per-thread values, not thread-safe. The
// shared "newest record" counter that latest reads is an std::atomic owned by
// the caller. Parse* functions are pure.
#ifndef KDI_KDICLI_BENCH_WORKLOAD_H_
#define KDI_KDICLI_BENCH_WORKLOAD_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "kdi/status.h"

namespace kdi::bench {

// xorshift128+ seeded through splitmix64: fast, per thread.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t Next();
  // Uniform in [0, n); n > 0.
  uint64_t Uniform(uint64_t n);
  // Uniform in [0, 1).
  double NextDouble();

 private:
  uint64_t s0_, s1_;
};

uint64_t Fnv64(uint64_t v);

// "user" + 16 lower-case hex digits of Fnv64(id).
std::string RecordKey(uint64_t id);
// "f:field" + i: the column of field i.
std::string FieldColumn(int i);

enum class Distribution { kUniform, kZipfian, kLatest };
Status ParseDistribution(const std::string& text, Distribution* out);
const char* DistributionName(Distribution d);

// Chooses a record id among those that exist.
class KeyChooser {
 public:
  virtual ~KeyChooser() = default;
  virtual uint64_t Next(Rng* rng) = 0;
};

// Zipfian over [0, n) with theta 0.99: rank 0 is the most popular. n may grow
// (SetItems) and zeta is extended incrementally, as YCSB does.
class ZipfianGenerator {
 public:
  static constexpr double kTheta = 0.99;
  explicit ZipfianGenerator(uint64_t items);
  void SetItems(uint64_t items);  // items >= current
  uint64_t items() const { return items_; }
  uint64_t Next(Rng* rng);

 private:
  void Recompute();
  uint64_t items_;
  double zetan_ = 0;
  double zeta2_;
  double alpha_;
  double eta_ = 0;
};

// records: the ids [0, records) exist at the start; newest: the shared count
// of ids that exist now (>= records; grows with inserts; for latest only).
std::unique_ptr<KeyChooser> NewKeyChooser(Distribution d, uint64_t records,
                                          const std::atomic<uint64_t>* newest);

enum class Workload { kLoad, kA, kB, kC, kD, kE, kF, kScan, kSyncWrite };
Status ParseWorkload(const std::string& text, Workload* out);
const char* WorkloadName(Workload w);

enum class OpType { kRead = 0, kUpdate, kInsert, kScan, kReadModifyWrite, kCount };
const char* OpTypeName(OpType t);

// Proportions of one workload's operations (sum to 1).
struct OperationMix {
  double read = 0, update = 0, insert = 0, scan = 0, rmw = 0;
  // Picks the operation for u uniform in [0, 1).
  OpType Choose(double u) const;
  // The YCSB mix of a, b, c, d, e, f (load/scan/syncwrite: insert-only).
  static OperationMix For(Workload w);
  // The request distribution YCSB uses by default (d: latest, else zipfian).
  static Distribution DefaultDistribution(Workload w);
};

// A value of `bytes` printable bytes from a fixed pseudo-random pool, at an
// offset chosen by rng (cheap; not compressible to nothing).
std::string FieldValue(Rng* rng, size_t bytes);

}  // namespace kdi::bench

#endif  // KDI_KDICLI_BENCH_WORKLOAD_H_
