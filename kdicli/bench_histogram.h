// kdi::bench::LatencyHistogram: a low-overhead latency histogram in the style
// of HdrHistogram, for `kdicli bench`.
//
// Values are non-negative integers (the bench records nanoseconds). Buckets are
// log-linear: values below 128 are exact; above, each power-of-two range is
// split into 64 equal sub-buckets, so a reported percentile is within 1/64
// (1.6%) of the true value and never above the recorded maximum. Record() is a
// shift, a count-leading-zeros and an increment: no allocation, no locks.
//
// Ownership and threading: a histogram is a plain value (about 30 KiB of
// counters). It is NOT thread-safe: give each thread its own and Merge() them
// after the threads have been joined.
#ifndef KDI_KDICLI_BENCH_HISTOGRAM_H_
#define KDI_KDICLI_BENCH_HISTOGRAM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kdi::bench {

class LatencyHistogram {
 public:
  LatencyHistogram();

  void Record(uint64_t value);
  // Adds every sample of `other` to this histogram.
  void Merge(const LatencyHistogram& other);
  void Clear();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double Mean() const;

  // The value at quantile q (0 <= q <= 1): the smallest bucket value v such
  // that at least ceil(q * count) samples are <= v's bucket; the bucket's upper
  // bound, clamped to [min(), max()]; q <= 0 gives min(). 0 when the histogram
  // is empty.
  uint64_t ValueAtQuantile(double q) const;

  // Bucket arithmetic, public for the tests.
  static size_t BucketIndex(uint64_t value);
  static uint64_t BucketLowest(size_t index);
  static uint64_t BucketHighest(size_t index);
  static size_t BucketCount();

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace kdi::bench

#endif  // KDI_KDICLI_BENCH_HISTOGRAM_H_
