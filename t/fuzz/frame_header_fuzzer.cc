// Fuzz target for the frame codec: header, (compressed) body and reply body.
// Input: 16 header bytes, then the body bytes. Invariants: a decoded header
// re-encodes to the same bytes and respects the limit; a decoded body is within
// the limit and survives a re-encode; a decoded reply re-encodes to the same
// status and payload.
#include <string>
#include <string_view>

#include "lib/rpc/frame.h"
#include "t/fuzz/fuzz_targets.h"

namespace kdi::fuzz {

namespace {
constexpr uint32_t kMaxBody = 1u << 20;  // small, so the fuzzer never needs much memory

void CheckReply(std::string_view body) {
  Status remote;
  std::string_view payload;
  if (!rpc::DecodeReplyBody(body, &remote, &payload).ok()) return;
  KDI_FUZZ_CHECK(payload.size() <= body.size());
  std::string again;
  rpc::EncodeReplyBody(remote, payload, &again);
  Status remote2;
  std::string_view payload2;
  KDI_FUZZ_CHECK(rpc::DecodeReplyBody(again, &remote2, &payload2).ok());
  KDI_FUZZ_CHECK(remote2.code() == remote.code());
  KDI_FUZZ_CHECK(remote2.message() == remote.message());
  KDI_FUZZ_CHECK(payload2 == payload);
}
}  // namespace

int FrameHeaderTarget(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  CheckReply(in);
  if (size < rpc::kFrameHeaderSize) return 0;
  rpc::FrameHeader h;
  if (!rpc::DecodeFrameHeader(in.data(), kMaxBody, &h).ok()) return 0;
  KDI_FUZZ_CHECK(h.body_length <= kMaxBody);
  char hdr[rpc::kFrameHeaderSize];
  rpc::EncodeFrameHeader(h, hdr);
  KDI_FUZZ_CHECK(std::string_view(hdr, sizeof(hdr)) == in.substr(0, rpc::kFrameHeaderSize));

  std::string_view rest = in.substr(rpc::kFrameHeaderSize);
  std::string body;
  // A body of the wrong length must be refused, not read past.
  if (rest.size() != h.body_length) {
    KDI_FUZZ_CHECK(!rpc::DecodeFrameBody(h, rest, kMaxBody, &body).ok());
  }
  if (rest.size() < h.body_length) return 0;
  std::string_view raw = rest.substr(0, h.body_length);
  if (!rpc::DecodeFrameBody(h, raw, kMaxBody, &body).ok()) return 0;
  KDI_FUZZ_CHECK(body.size() <= kMaxBody);
  if (!(h.flags & rpc::kFlagCompressed)) KDI_FUZZ_CHECK(body == raw);

  // Re-frame the logical body (compressed if it gains) and decode it again.
  std::string frame;
  rpc::FrameHeader h2 = h;
  h2.flags &= static_cast<uint8_t>(~rpc::kFlagCompressed);
  rpc::AppendFrame(h2, body, &frame, /*compress=*/true);
  rpc::FrameHeader h3;
  KDI_FUZZ_CHECK(rpc::DecodeFrameHeader(frame.data(), UINT32_MAX, &h3).ok());
  KDI_FUZZ_CHECK(h3.type == h.type && h3.request_id == h.request_id);
  std::string body3;
  KDI_FUZZ_CHECK(rpc::DecodeFrameBody(h3, std::string_view(frame).substr(rpc::kFrameHeaderSize),
                                      kMaxBody, &body3)
                     .ok());
  KDI_FUZZ_CHECK(body3 == body);

  if (h.is_reply()) CheckReply(body);
  return 0;
}

}  // namespace kdi::fuzz

#ifdef KDI_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kdi::fuzz::FrameHeaderTarget(data, size);
}
#endif
