#include "lib/rpc/frame.h"

#include <random>

#include "lib/util/coding.h"
#include "t/test_util.h"

namespace kdi::rpc {

TEST(FrameTest, HeaderRoundTripEveryField) {
  FrameHeader h;
  h.flags = kFlagReply;
  h.type = 0x1234;
  h.request_id = 0xCAFEBABE;
  h.body_length = 77;
  char buf[kFrameHeaderSize];
  EncodeFrameHeader(h, buf);
  EXPECT_EQ(static_cast<unsigned char>(buf[0]), 0x4B);
  EXPECT_EQ(static_cast<unsigned char>(buf[1]), 0x44);
  FrameHeader got;
  ASSERT_OK(DecodeFrameHeader(buf, 100, &got));
  EXPECT_EQ(got.magic, kFrameMagic);
  EXPECT_EQ(got.version, kProtocolVersion);
  EXPECT_EQ(got.flags, kFlagReply);
  EXPECT_TRUE(got.is_reply());
  EXPECT_EQ(got.type, 0x1234);
  EXPECT_EQ(got.request_id, 0xCAFEBABEu);
  EXPECT_EQ(got.body_length, 77u);
}

TEST(FrameTest, RejectsBadHeaders) {
  FrameHeader h;
  h.body_length = 10;
  char buf[kFrameHeaderSize];
  FrameHeader got;

  EncodeFrameHeader(h, buf);
  buf[0] = 'G';  // "GET /" from an HTTP client
  EXPECT_EQ(DecodeFrameHeader(buf, 100, &got).code(), Status::Code::kProtocolError);

  EncodeFrameHeader(h, buf);
  buf[2] = 9;
  Status s = DecodeFrameHeader(buf, 100, &got);
  EXPECT_EQ(s.code(), Status::Code::kNotSupported);
  EXPECT_NE(s.message().find("version 9"), std::string::npos);

  EncodeFrameHeader(h, buf);
  buf[3] = static_cast<char>(0x80);
  EXPECT_EQ(DecodeFrameHeader(buf, 100, &got).code(), Status::Code::kProtocolError);

  EncodeFrameHeader(h, buf);
  buf[7] = 1;
  EXPECT_EQ(DecodeFrameHeader(buf, 100, &got).code(), Status::Code::kProtocolError);

  h.body_length = 0xFFFFFFFF;
  EncodeFrameHeader(h, buf);
  EXPECT_EQ(DecodeFrameHeader(buf, kDefaultMaxBodyBytes, &got).code(),
            Status::Code::kResourceExhausted);
}

TEST(FrameTest, AppendFrameAndDecodeBody) {
  FrameHeader h;
  h.type = 301;
  h.request_id = 5;
  std::string out;
  AppendFrame(h, "hello", &out);
  ASSERT_EQ(out.size(), kFrameHeaderSize + 5);
  FrameHeader got;
  ASSERT_OK(DecodeFrameHeader(out.data(), 1000, &got));
  std::string body;
  ASSERT_OK(DecodeFrameBody(got, std::string_view(out).substr(kFrameHeaderSize), 1000, &body));
  EXPECT_EQ(body, "hello");
}

TEST(FrameTest, CompressedBodyRoundTripAndLimit) {
  std::string big(100000, 'a');
  FrameHeader h;
  std::string out;
  AppendFrame(h, big, &out, /*compress=*/true);
  EXPECT_LT(out.size(), big.size() / 10);
  FrameHeader got;
  ASSERT_OK(DecodeFrameHeader(out.data(), kDefaultMaxBodyBytes, &got));
  EXPECT_TRUE(got.flags & kFlagCompressed);
  std::string body;
  std::string_view raw = std::string_view(out).substr(kFrameHeaderSize);
  ASSERT_OK(DecodeFrameBody(got, raw, kDefaultMaxBodyBytes, &body));
  EXPECT_EQ(body, big);
  // A small limit refuses to inflate (zip bomb) before allocating.
  std::string small;
  EXPECT_EQ(DecodeFrameBody(got, raw, 1000, &small).code(), Status::Code::kResourceExhausted);
  EXPECT_TRUE(small.empty());
  // Corrupt stream.
  std::string corrupt(raw);
  corrupt[10] ^= 0x55;
  corrupt[11] ^= 0x55;
  EXPECT_FALSE(DecodeFrameBody(got, corrupt, kDefaultMaxBodyBytes, &body).ok());
  // Incompressible data stays plain.
  std::mt19937 rng(1);
  std::string noise(4096, 0);
  for (auto& c : noise) c = static_cast<char>(rng());
  std::string out2;
  AppendFrame(h, noise, &out2, true);
  ASSERT_OK(DecodeFrameHeader(out2.data(), kDefaultMaxBodyBytes, &got));
  EXPECT_FALSE(got.flags & kFlagCompressed);
}

// Small bodies (a point read's reply) are never deflated: on loopback and LAN
// that only burns CPU. Regression for zlib taking ~21% of tabletd's CPU.
TEST(FrameTest, SmallBodiesAreNeverCompressed) {
  FrameHeader h;
  FrameHeader got;
  std::string small(kMinCompressBytes - 1, 'a');
  std::string out;
  AppendFrame(h, small, &out, /*compress=*/true);
  ASSERT_OK(DecodeFrameHeader(out.data(), kDefaultMaxBodyBytes, &got));
  EXPECT_FALSE(got.flags & kFlagCompressed);
  std::string large(kMinCompressBytes, 'a');
  out.clear();
  AppendFrame(h, large, &out, /*compress=*/true);
  ASSERT_OK(DecodeFrameHeader(out.data(), kDefaultMaxBodyBytes, &got));
  EXPECT_TRUE(got.flags & kFlagCompressed);
}

// The sample judges a body by its front 4 KiB; small bodies are always tried.
TEST(FrameTest, WorthCompressingJudgesFromASampleOfTheFront) {
  std::mt19937 rng(7);
  std::string noise(1 << 20, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  EXPECT_FALSE(WorthCompressing(noise));
  std::string text;
  while (text.size() < (1 << 20)) text += "row:" + std::to_string(text.size()) + " ";
  EXPECT_TRUE(WorthCompressing(text));
  // Compressible front, noise behind: the sample says yes, the full deflate
  // (AppendFrame) then decides.
  EXPECT_TRUE(WorthCompressing(text.substr(0, 8192) + noise));
  EXPECT_TRUE(WorthCompressing(noise.substr(0, 1000)));
}

// After a miss the next kSkipAfterMiss large bodies are not tried; a hit makes
// every later one try. Regression for the deflate sample costing 8% of
// tabletd's CPU in full scans of incompressible values (23% in short scans).
TEST(FrameTest, CompressionGateSkipsAfterAMissAndRetriesAfterAHit) {
  CompressionGate gate;
  EXPECT_TRUE(gate.ShouldTry());
  gate.Record(false);
  for (uint32_t i = 0; i < CompressionGate::kSkipAfterMiss; i++) {
    EXPECT_FALSE(gate.ShouldTry()) << i;
  }
  EXPECT_TRUE(gate.ShouldTry());
  gate.Record(true);
  for (int i = 0; i < 100; i++) EXPECT_TRUE(gate.ShouldTry());
  gate.Record(false);
  EXPECT_FALSE(gate.ShouldTry());
}

TEST(FrameTest, TruncatedBodyIsAnError) {
  FrameHeader h;
  h.body_length = 10;
  std::string body;
  EXPECT_FALSE(DecodeFrameBody(h, "short", 100, &body).ok());
}

TEST(FrameTest, ReplyBody) {
  std::string body;
  EncodeReplyBody(Status::Conflict("generation 4 != 5"), "", &body);
  Status remote;
  std::string_view payload;
  ASSERT_OK(DecodeReplyBody(body, &remote, &payload));
  EXPECT_TRUE(remote.IsConflict());
  EXPECT_EQ(remote.message(), "generation 4 != 5");

  body.clear();
  EncodeReplyBody(Status::OK(), "payload", &body);
  ASSERT_OK(DecodeReplyBody(body, &remote, &payload));
  EXPECT_TRUE(remote.ok());
  EXPECT_EQ(payload, "payload");

  EXPECT_FALSE(DecodeReplyBody("\x01\x7f", &remote, &payload).ok());
  EXPECT_FALSE(DecodeReplyBody("", &remote, &payload).ok());
}

}  // namespace kdi::rpc
