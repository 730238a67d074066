// Round-trip check shared by the decoder fuzz targets: whatever a decoder
// accepts must re-encode to bytes that decode again, and the second encoding
// must equal the first (encode(decode(x)) is canonical). Header-only; no state.
#ifndef KDI_T_FUZZ_ROUND_TRIP_H_
#define KDI_T_FUZZ_ROUND_TRIP_H_

#include <string>
#include <string_view>

#include "kdi/status.h"
#include "t/fuzz/fuzz_targets.h"

namespace kdi::fuzz {

// decode: Status(std::string_view, T*); encode: void(const T&, std::string*).
// Returns true when `in` decoded (so the caller may check more on *out).
template <typename T, typename Decode, typename Encode>
bool CheckRoundTrip(std::string_view in, Decode decode, Encode encode, T* out) {
  if (!decode(in, out).ok()) return false;
  std::string e1;
  encode(*out, &e1);
  T again;
  Status s = decode(e1, &again);
  if (!s.ok()) fprintf(stderr, "re-decode failed: %s\n", s.ToString().c_str());
  KDI_FUZZ_CHECK(s.ok());
  std::string e2;
  encode(again, &e2);
  KDI_FUZZ_CHECK(e1 == e2);
  return true;
}

template <typename T, typename Decode, typename Encode>
bool CheckRoundTrip(std::string_view in, Decode decode, Encode encode) {
  T out;
  return CheckRoundTrip<T>(in, decode, encode, &out);
}

// Splits a fuzz input into a selector byte and the rest.
inline bool TakeSelector(const uint8_t* data, size_t size, uint8_t* sel,
                         std::string_view* rest) {
  if (size == 0) return false;
  *sel = data[0];
  *rest = std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1);
  return true;
}

}  // namespace kdi::fuzz

#endif  // KDI_T_FUZZ_ROUND_TRIP_H_
