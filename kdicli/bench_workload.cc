#include "kdicli/bench_workload.h"

#include <cmath>
#include <mutex>

namespace kdi::bench {

namespace {

uint64_t SplitMix(uint64_t* x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

Rng::Rng(uint64_t seed) {
  s0_ = SplitMix(&seed);
  s1_ = SplitMix(&seed);
  if (s0_ == 0 && s1_ == 0) s1_ = 1;
}

uint64_t Rng::Next() {
  uint64_t x = s0_;
  const uint64_t y = s1_;
  s0_ = y;
  x ^= x << 23;
  s1_ = x ^ y ^ (x >> 17) ^ (y >> 26);
  return s1_ + y;
}

uint64_t Rng::Uniform(uint64_t n) {
  // Multiply-shift: unbiased enough for benchmark key choice.
  return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
}

double Rng::NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

uint64_t Fnv64(uint64_t v) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (int i = 0; i < 8; i++) {
    h ^= v & 0xff;
    h *= 0x100000001b3ULL;
    v >>= 8;
  }
  return h;
}

std::string RecordKey(uint64_t id) {
  static const char kHex[] = "0123456789abcdef";
  uint64_t h = Fnv64(id);
  std::string key = "user";
  key.resize(4 + 16);
  for (int i = 15; i >= 0; i--) {
    key[4 + i] = kHex[h & 15];
    h >>= 4;
  }
  return key;
}

std::string FieldColumn(int i) { return "f:field" + std::to_string(i); }

Status ParseDistribution(const std::string& text, Distribution* out) {
  if (text == "uniform") {
    *out = Distribution::kUniform;
  } else if (text == "zipfian") {
    *out = Distribution::kZipfian;
  } else if (text == "latest") {
    *out = Distribution::kLatest;
  } else {
    return Status::InvalidArgument("unknown distribution \"" + text +
                                   "\" (expected uniform, zipfian or latest)");
  }
  return Status::OK();
}

const char* DistributionName(Distribution d) {
  switch (d) {
    case Distribution::kUniform: return "uniform";
    case Distribution::kZipfian: return "zipfian";
    case Distribution::kLatest: return "latest";
  }
  return "?";
}

ZipfianGenerator::ZipfianGenerator(uint64_t items) : items_(0) {
  zeta2_ = 1.0 + 1.0 / std::pow(2.0, kTheta);
  alpha_ = 1.0 / (1.0 - kTheta);
  SetItems(items < 1 ? 1 : items);
}

void ZipfianGenerator::SetItems(uint64_t items) {
  if (items <= items_) return;
  for (uint64_t i = items_; i < items; i++) zetan_ += 1.0 / std::pow(static_cast<double>(i + 1), kTheta);
  items_ = items;
  Recompute();
}

void ZipfianGenerator::Recompute() {
  double n = static_cast<double>(items_);
  eta_ = (1.0 - std::pow(2.0 / n, 1.0 - kTheta)) / (1.0 - zeta2_ / zetan_);
}

uint64_t ZipfianGenerator::Next(Rng* rng) {
  double u = rng->NextDouble();
  double uz = u * zetan_;
  if (uz < 1.0) return 0;
  if (items_ >= 2 && uz < 1.0 + std::pow(0.5, kTheta)) return 1;
  double n = static_cast<double>(items_);
  uint64_t r = static_cast<uint64_t>(n * std::pow(eta_ * u - eta_ + 1.0, alpha_));
  return r >= items_ ? items_ - 1 : r;
}

namespace {

class UniformChooser : public KeyChooser {
 public:
  explicit UniformChooser(uint64_t n) : n_(n < 1 ? 1 : n) {}
  uint64_t Next(Rng* rng) override { return rng->Uniform(n_); }

 private:
  uint64_t n_;
};

// The zeta sum over n items costs O(n) once; share it between the threads of
// one run by caching the last generator built.
ZipfianGenerator CachedZipfian(uint64_t n) {
  static std::mutex mu;
  static std::unique_ptr<ZipfianGenerator> last;
  std::lock_guard<std::mutex> lock(mu);
  if (!last || last->items() != n) last = std::make_unique<ZipfianGenerator>(n);
  return *last;
}

class ScrambledZipfianChooser : public KeyChooser {
 public:
  explicit ScrambledZipfianChooser(uint64_t n) : n_(n < 1 ? 1 : n), zipf_(CachedZipfian(n_)) {}
  uint64_t Next(Rng* rng) override { return Fnv64(zipf_.Next(rng)) % n_; }

 private:
  uint64_t n_;
  ZipfianGenerator zipf_;
};

class LatestChooser : public KeyChooser {
 public:
  LatestChooser(uint64_t n, const std::atomic<uint64_t>* newest)
      : newest_(newest), zipf_(CachedZipfian(n < 1 ? 1 : n)) {}
  uint64_t Next(Rng* rng) override {
    uint64_t n = newest_->load(std::memory_order_relaxed);
    if (n < 1) n = 1;
    zipf_.SetItems(n);
    uint64_t back = zipf_.Next(rng);
    return back >= n ? 0 : n - 1 - back;
  }

 private:
  const std::atomic<uint64_t>* newest_;
  ZipfianGenerator zipf_;
};

}  // namespace

std::unique_ptr<KeyChooser> NewKeyChooser(Distribution d, uint64_t records,
                                          const std::atomic<uint64_t>* newest) {
  switch (d) {
    case Distribution::kUniform: return std::make_unique<UniformChooser>(records);
    case Distribution::kZipfian: return std::make_unique<ScrambledZipfianChooser>(records);
    case Distribution::kLatest: return std::make_unique<LatestChooser>(records, newest);
  }
  return nullptr;
}

Status ParseWorkload(const std::string& text, Workload* out) {
  static const struct {
    const char* name;
    Workload w;
  } kNames[] = {{"load", Workload::kLoad}, {"a", Workload::kA},       {"b", Workload::kB},
                {"c", Workload::kC},       {"d", Workload::kD},       {"e", Workload::kE},
                {"f", Workload::kF},       {"scan", Workload::kScan},
                {"syncwrite", Workload::kSyncWrite}};
  for (const auto& n : kNames) {
    if (text == n.name) {
      *out = n.w;
      return Status::OK();
    }
  }
  return Status::InvalidArgument("unknown workload \"" + text +
                                 "\" (expected load, a, b, c, d, e, f, scan or syncwrite)");
}

const char* WorkloadName(Workload w) {
  switch (w) {
    case Workload::kLoad: return "load";
    case Workload::kA: return "a";
    case Workload::kB: return "b";
    case Workload::kC: return "c";
    case Workload::kD: return "d";
    case Workload::kE: return "e";
    case Workload::kF: return "f";
    case Workload::kScan: return "scan";
    case Workload::kSyncWrite: return "syncwrite";
  }
  return "?";
}

const char* OpTypeName(OpType t) {
  switch (t) {
    case OpType::kRead: return "read";
    case OpType::kUpdate: return "update";
    case OpType::kInsert: return "insert";
    case OpType::kScan: return "scan";
    case OpType::kReadModifyWrite: return "rmw";
    case OpType::kCount: break;
  }
  return "?";
}

OpType OperationMix::Choose(double u) const {
  if (u < read) return OpType::kRead;
  u -= read;
  if (u < update) return OpType::kUpdate;
  u -= update;
  if (u < insert) return OpType::kInsert;
  u -= insert;
  if (u < scan) return OpType::kScan;
  u -= scan;
  if (u < rmw) return OpType::kReadModifyWrite;
  // Rounding: fall back to the last non-zero kind.
  if (rmw > 0) return OpType::kReadModifyWrite;
  if (scan > 0) return OpType::kScan;
  if (insert > 0) return OpType::kInsert;
  if (update > 0) return OpType::kUpdate;
  return OpType::kRead;
}

OperationMix OperationMix::For(Workload w) {
  OperationMix m;
  switch (w) {
    case Workload::kA: m.read = 0.5; m.update = 0.5; break;
    case Workload::kB: m.read = 0.95; m.update = 0.05; break;
    case Workload::kC: m.read = 1.0; break;
    case Workload::kD: m.read = 0.95; m.insert = 0.05; break;
    case Workload::kE: m.scan = 0.95; m.insert = 0.05; break;
    case Workload::kF: m.read = 0.5; m.rmw = 0.5; break;
    case Workload::kLoad:
    case Workload::kScan:
    case Workload::kSyncWrite: m.insert = 1.0; break;
  }
  return m;
}

Distribution OperationMix::DefaultDistribution(Workload w) {
  return w == Workload::kD ? Distribution::kLatest : Distribution::kZipfian;
}

std::string FieldValue(Rng* rng, size_t bytes) {
  static const std::string* pool = [] {
    auto* p = new std::string(1 << 16, ' ');
    Rng r(42);
    for (char& c : *p) c = static_cast<char>(' ' + r.Uniform(95));
    return p;
  }();
  std::string out;
  out.reserve(bytes);
  while (out.size() < bytes) {
    size_t off = rng->Uniform(pool->size());
    size_t n = std::min(bytes - out.size(), pool->size() - off);
    out.append(*pool, off, n);
  }
  return out;
}

}  // namespace kdi::bench
