// Encoding helpers shared by the protocol, the storage and the lock service.
//
// Fixed-width integers are big-endian (network byte order) so that encoded
// unsigned integers compare like the numbers they hold. Varints are the usual
// base-128 little-endian groups (leveldb's). Length-prefixed bytes are a varint32
// length followed by the bytes.
//
// Encoders append to a std::string. Decoding goes through Decoder, which never
// reads past its input and never allocates more than the bytes it actually has:
// a claimed length larger than what remains is an error, checked before any
// allocation. All functions are pure; any thread may call them.
#ifndef KDI_LIB_UTIL_CODING_H_
#define KDI_LIB_UTIL_CODING_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "kdi/status.h"

namespace kdi {

constexpr int kMaxVarint32Bytes = 5;
constexpr int kMaxVarint64Bytes = 10;

void PutFixed16(std::string* dst, uint16_t v);
void PutFixed32(std::string* dst, uint32_t v);
void PutFixed64(std::string* dst, uint64_t v);
void PutVarint32(std::string* dst, uint32_t v);
void PutVarint64(std::string* dst, uint64_t v);
// Signed values zig-zag encoded so small negative numbers stay small.
void PutVarsint64(std::string* dst, int64_t v);
void PutLengthPrefixed(std::string* dst, std::string_view bytes);
void PutBool(std::string* dst, bool v);

// Raw big-endian accessors over memory the caller knows is long enough.
void EncodeFixed16(char* buf, uint16_t v);
void EncodeFixed32(char* buf, uint32_t v);
void EncodeFixed64(char* buf, uint64_t v);
uint16_t DecodeFixed16(const char* buf);
uint32_t DecodeFixed32(const char* buf);
uint64_t DecodeFixed64(const char* buf);

int VarintLength(uint64_t v);

// Bounds-checked reader over a byte string it does not own.
// Every Get* returns false (and leaves the output unspecified) on truncated or
// malformed input; after the first failure every later call fails too, so a
// decoder may check once at the end with status().
class Decoder {
 public:
  explicit Decoder(std::string_view input) : in_(input) {}

  bool GetFixed16(uint16_t* v);
  bool GetFixed32(uint32_t* v);
  bool GetFixed64(uint64_t* v);
  bool GetVarint32(uint32_t* v);
  bool GetVarint64(uint64_t* v);
  bool GetVarsint64(int64_t* v);
  bool GetBool(bool* v);
  // The view points into the decoder's input.
  bool GetLengthPrefixed(std::string_view* v);
  // As above, but fails when the length exceeds max_len (checked before copying).
  bool GetLengthPrefixed(std::string* v, size_t max_len = SIZE_MAX);
  bool GetBytes(size_t n, std::string_view* v);
  // A count of following items, each at least min_item_bytes long: fails when the
  // remaining input cannot hold that many, so callers may reserve() safely.
  bool GetCount(uint32_t* n, size_t min_item_bytes = 1, uint32_t max_count = UINT32_MAX);

  bool ok() const { return ok_; }
  bool empty() const { return in_.empty(); }
  size_t remaining() const { return in_.size(); }
  std::string_view rest() const { return in_; }

  // OK if every read so far succeeded and, when require_end, all input was used.
  // Otherwise ProtocolError naming what was being decoded.
  Status status(std::string_view what, bool require_end = true) const;

 private:
  bool Fail() {
    ok_ = false;
    return false;
  }
  std::string_view in_;
  bool ok_ = true;
};

// Order-preserving encoding of a byte string inside a composite key: 0x00 becomes
// 0x00 0xFF and the string ends with 0x00 0x01, so that comparing encoded keys
// bytewise compares the strings first, shorter before longer.
void PutOrderedBytes(std::string* dst, std::string_view bytes);
bool GetOrderedBytes(std::string_view* in, std::string* out);

}  // namespace kdi

#endif  // KDI_LIB_UTIL_CODING_H_
