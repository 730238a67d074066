// Readings of the monotonic (steady) clock as integers, for deadlines and
// spin limits. Thread-safe; no state.
#ifndef KDI_LIB_UTIL_MONO_CLOCK_H_
#define KDI_LIB_UTIL_MONO_CLOCK_H_

#include <chrono>
#include <cstdint>

namespace kdi {

inline int64_t MonoNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline int64_t MonoNowMs() { return MonoNowNs() / 1000000; }

}  // namespace kdi

#endif  // KDI_LIB_UTIL_MONO_CLOCK_H_
