// Frame codec; the byte layout is documented in frame.h and doc/protocol.md.
#include "lib/rpc/frame.h"

#include <zlib.h>

#include "lib/util/coding.h"

namespace kdi::rpc {

namespace {
constexpr uint32_t kMaxStatusMessageBytes = 64 * 1024;

// Compression pays only when it at least halves a body: deflate (level 1) and
// inflate cost ~5-10 ns per byte together, more than the wire time a smaller
// saving buys on the LANs KDI runs on (a profile of a full-table scan of
// random printable values, which deflate by ~25%, showed zlib at ~55% of the
// tabletd's CPU and ~14% of the client's).
bool CompressedEnough(size_t compressed, size_t plain) { return compressed <= plain / 2; }

}  // namespace

// Deflates a sample from the body's front: data that does not compress well
// enough is then sent as is without paying to deflate all of it.
bool WorthCompressing(std::string_view body) {
  constexpr size_t kSampleBytes = 4 * 1024;
  if (body.size() < 2 * kSampleBytes) return true;
  Bytef sample[kSampleBytes + kSampleBytes / 64 + 64];  // above zlib's compressBound
  uLongf bound = sizeof(sample);
  int rc = compress2(sample, &bound, reinterpret_cast<const Bytef*>(body.data()), kSampleBytes, 1);
  return rc == Z_OK && CompressedEnough(bound, kSampleBytes);
}

void EncodeFrameHeader(const FrameHeader& h, char out[kFrameHeaderSize]) {
  EncodeFixed16(out + 0, h.magic);
  out[2] = static_cast<char>(h.version);
  out[3] = static_cast<char>(h.flags);
  EncodeFixed16(out + 4, h.type);
  EncodeFixed16(out + 6, h.reserved);
  EncodeFixed32(out + 8, h.request_id);
  EncodeFixed32(out + 12, h.body_length);
}

Status DecodeFrameHeader(const char in[kFrameHeaderSize], uint32_t max_body, FrameHeader* h) {
  h->magic = DecodeFixed16(in + 0);
  h->version = static_cast<uint8_t>(in[2]);
  h->flags = static_cast<uint8_t>(in[3]);
  h->type = DecodeFixed16(in + 4);
  h->reserved = DecodeFixed16(in + 6);
  h->request_id = DecodeFixed32(in + 8);
  h->body_length = DecodeFixed32(in + 12);
  if (h->magic != kFrameMagic) return Status::ProtocolError("bad frame magic (not a KDI peer)");
  if (h->version != kProtocolVersion) {
    return Status::NotSupported("protocol version " + std::to_string(h->version) +
                                " not supported (this side speaks " +
                                std::to_string(kProtocolVersion) + ")");
  }
  if (h->flags & ~kKnownFlags) return Status::ProtocolError("unknown frame flags");
  if (h->reserved != 0) return Status::ProtocolError("reserved frame bits set");
  if (h->body_length > max_body) {
    return Status::ResourceExhausted("frame body of " + std::to_string(h->body_length) +
                                     " bytes exceeds the limit of " + std::to_string(max_body));
  }
  return Status::OK();
}

void AppendFrame(FrameHeader h, std::string_view body, std::string* out, bool compress) {
  std::string deflated;
  if (compress && body.size() >= kMinCompressBytes && body.size() <= UINT32_MAX &&
      WorthCompressing(body)) {
    uLongf bound = compressBound(body.size());
    deflated.resize(4 + bound);
    EncodeFixed32(&deflated[0], static_cast<uint32_t>(body.size()));
    int rc = compress2(reinterpret_cast<Bytef*>(&deflated[4]), &bound,
                       reinterpret_cast<const Bytef*>(body.data()), body.size(), 1);
    if (rc == Z_OK && CompressedEnough(4 + bound, body.size())) {
      deflated.resize(4 + bound);
      body = deflated;
      h.flags |= kFlagCompressed;
    }
  }
  h.body_length = static_cast<uint32_t>(body.size());
  char hdr[kFrameHeaderSize];
  EncodeFrameHeader(h, hdr);
  out->append(hdr, sizeof(hdr));
  out->append(body.data(), body.size());
}

Status DecodeFrameBody(const FrameHeader& h, std::string_view raw, uint32_t max_body,
                       std::string* body) {
  if (raw.size() != h.body_length) return Status::ProtocolError("frame body length mismatch");
  if (!(h.flags & kFlagCompressed)) {
    body->assign(raw.data(), raw.size());
    return Status::OK();
  }
  if (raw.size() < 4) return Status::ProtocolError("compressed body too short");
  uint32_t plain = DecodeFixed32(raw.data());
  if (plain > max_body) {
    return Status::ResourceExhausted("compressed body inflates to " + std::to_string(plain) +
                                     " bytes, over the limit of " + std::to_string(max_body));
  }
  body->resize(plain);
  uLongf out_len = plain;
  int rc = uncompress(reinterpret_cast<Bytef*>(body->data()), &out_len,
                      reinterpret_cast<const Bytef*>(raw.data() + 4), raw.size() - 4);
  if (rc != Z_OK || out_len != plain) {
    body->clear();
    return Status::ProtocolError("corrupt compressed frame body");
  }
  return Status::OK();
}

void EncodeReplyBody(const Status& status, std::string_view payload, std::string* out) {
  PutVarint32(out, static_cast<uint32_t>(status.code()));
  PutLengthPrefixed(out, status.message());
  out->append(payload.data(), payload.size());
}

Status DecodeReplyBody(std::string_view body, Status* status, std::string_view* payload) {
  Decoder d(body);
  uint32_t code;
  std::string_view msg;
  if (!d.GetVarint32(&code) || !d.GetLengthPrefixed(&msg) || msg.size() > kMaxStatusMessageBytes)
    return Status::ProtocolError("malformed reply status");
  *status = Status::FromCode(static_cast<int>(code), msg);
  *payload = d.rest();
  return Status::OK();
}

}  // namespace kdi::rpc
