// The KDI frame: every message on every connection is a 16-byte header followed
// by a body. Layout (all integers big-endian, see doc/protocol.md):
//
//   offset size field
//        0    2 magic        0x4B44 ("KD")
//        2    1 version      kProtocolVersion
//        3    1 flags        kFlagReply | kFlagCompressed
//        4    2 type         message type (numbered in blocks, message_types.h)
//        6    2 reserved     must be zero
//        8    4 request_id   chosen by the caller, echoed in the reply
//       12    4 body_length  bytes of body that follow
//
// A reply body starts with the status: varint32 code, length-prefixed message,
// then the payload (only meaningful when the code is 0).
// A compressed body (kFlagCompressed) is a fixed32 uncompressed length followed
// by a zlib stream; the uncompressed length is checked against the limit before
// anything is inflated.
//
// These functions are pure and thread-compatible.
#ifndef KDI_LIB_RPC_FRAME_H_
#define KDI_LIB_RPC_FRAME_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "kdi/status.h"

namespace kdi::rpc {

constexpr uint16_t kFrameMagic = 0x4B44;
constexpr uint8_t kProtocolVersion = 1;
constexpr size_t kFrameHeaderSize = 16;
// Default ceiling on a body: values may be up to 64 MiB, plus room for keys.
constexpr uint32_t kDefaultMaxBodyBytes = 72u << 20;

enum FrameFlags : uint8_t {
  kFlagReply = 0x01,
  kFlagCompressed = 0x02,
};
constexpr uint8_t kKnownFlags = kFlagReply | kFlagCompressed;
// Bodies smaller than this are never compressed: on the fast networks KDI runs
// on, deflating a small reply costs more than sending it (a profile of point
// reads showed zlib at ~21% of tabletd's CPU with a 512-byte threshold).
constexpr size_t kMinCompressBytes = 16 * 1024;

struct FrameHeader {
  uint16_t magic = kFrameMagic;
  uint8_t version = kProtocolVersion;
  uint8_t flags = 0;
  uint16_t type = 0;
  uint16_t reserved = 0;
  uint32_t request_id = 0;
  uint32_t body_length = 0;

  bool is_reply() const { return flags & kFlagReply; }
};

// The wire image of the header; sizeof is part of the protocol.
struct WireFrameHeader {
  unsigned char bytes[kFrameHeaderSize];
};
static_assert(sizeof(WireFrameHeader) == 16, "the frame header is 16 bytes on the wire");

void EncodeFrameHeader(const FrameHeader& h, char out[kFrameHeaderSize]);

// Decodes and validates a header: magic, version, unknown flags, reserved bits
// and body_length <= max_body. Errors are ProtocolError (or NotSupported for a
// version mismatch, so the peer can say which versions differ).
Status DecodeFrameHeader(const char in[kFrameHeaderSize], uint32_t max_body, FrameHeader* h);

// Appends a complete frame (header + body) to out. When compress is true, the
// body is at least kMinCompressBytes and deflating at least halves it, the body
// is sent deflated and kFlagCompressed set (a smaller gain costs more CPU on
// both ends than it saves on the wire).
void AppendFrame(FrameHeader h, std::string_view body, std::string* out, bool compress = false);

// Whether a body of at least kMinCompressBytes deflates to at most half,
// judged from a 4 KiB sample of its front (deflating a sample costs a quarter
// of what a 16 KiB one did; a profile of YCSB's short scans showed the old
// sample at 23% of tabletd's CPU).
bool WorthCompressing(std::string_view body);

// One connection's memory of whether its large frames compress: after a body
// that did not (random or already-compressed values), the next kSkipAfterMiss
// large bodies are sent as they are without deflating even a sample; a body
// that did compress makes every later one try again. Thread-safe (relaxed
// atomics: a race costs at most one attempt more or less).
class CompressionGate {
 public:
  static constexpr uint32_t kSkipAfterMiss = 32;
  // True if this large body should be tried (counts down a skip).
  bool ShouldTry() {
    uint32_t skip = skip_.load(std::memory_order_relaxed);
    if (skip == 0) return true;
    skip_.store(skip - 1, std::memory_order_relaxed);
    return false;
  }
  void Record(bool compressed) {
    skip_.store(compressed ? 0 : kSkipAfterMiss, std::memory_order_relaxed);
  }

 private:
  std::atomic<uint32_t> skip_{0};
};

// Given a decoded header and its raw body bytes, produces the logical body
// (inflating if kFlagCompressed), refusing to inflate beyond max_body.
Status DecodeFrameBody(const FrameHeader& h, std::string_view raw, uint32_t max_body,
                       std::string* body);

// Reply bodies: status followed by payload.
void EncodeReplyBody(const Status& status, std::string_view payload, std::string* out);
// On success *status holds the remote status and *payload the rest of the body.
// A non-OK return means the body itself was malformed.
Status DecodeReplyBody(std::string_view body, Status* status, std::string_view* payload);

}  // namespace kdi::rpc

#endif  // KDI_LIB_RPC_FRAME_H_
