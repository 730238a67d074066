// Log-linear buckets: index v for v < 128; above, shift s >= 1 such that
// v >> s is in [64, 128), index 128 + (s - 1) * 64 + ((v >> s) - 64).
#include "kdicli/bench_histogram.h"

#include <algorithm>
#include <cmath>

namespace kdi::bench {
namespace {

constexpr int kSubBits = 7;                   // 128 exact values, then 64 per octave
constexpr uint64_t kExact = 1u << kSubBits;   // 128
constexpr uint64_t kHalf = kExact / 2;        // 64
constexpr size_t kMaxShift = 64 - kSubBits;   // msb 63 -> shift 57

}  // namespace

size_t LatencyHistogram::BucketCount() { return kExact + kMaxShift * kHalf; }

size_t LatencyHistogram::BucketIndex(uint64_t value) {
  if (value < kExact) return static_cast<size_t>(value);
  int msb = 63 - __builtin_clzll(value);
  int shift = msb - (kSubBits - 1);
  uint64_t top = value >> shift;  // in [64, 128)
  return kExact + static_cast<size_t>(shift - 1) * kHalf + static_cast<size_t>(top - kHalf);
}

uint64_t LatencyHistogram::BucketLowest(size_t index) {
  if (index < kExact) return index;
  size_t rel = index - kExact;
  int shift = static_cast<int>(rel / kHalf) + 1;
  uint64_t top = kHalf + rel % kHalf;
  return top << shift;
}

uint64_t LatencyHistogram::BucketHighest(size_t index) {
  if (index < kExact) return index;
  size_t rel = index - kExact;
  int shift = static_cast<int>(rel / kHalf) + 1;
  uint64_t low = BucketLowest(index);
  uint64_t width = uint64_t{1} << shift;
  return low + (width - 1);  // no overflow: the top bucket ends at 2^64 - 1
}

LatencyHistogram::LatencyHistogram() : counts_(BucketCount(), 0) {}

void LatencyHistogram::Record(uint64_t value) {
  counts_[BucketIndex(value)]++;
  count_++;
  if (value < min_) min_ = value;
  if (value > max_) max_ = value;
  sum_ += static_cast<long double>(value);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); i++) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void LatencyHistogram::Clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
  sum_ = 0;
}

double LatencyHistogram::Mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

uint64_t LatencyHistogram::ValueAtQuantile(double q) const {
  if (count_ == 0) return 0;
  if (q <= 0.0) return min_;
  q = std::min(q, 1.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); i++) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(BucketHighest(i), min(), max_);
  }
  return max_;
}

}  // namespace kdi::bench
