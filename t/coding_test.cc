#include "lib/util/coding.h"
#include "lib/util/field_codec.h"

#include <random>

#include "t/test_util.h"

namespace kdi {

TEST(CodingTest, FixedRoundTripAndOrder) {
  std::string s;
  PutFixed16(&s, 0xBEEF);
  PutFixed32(&s, 0xDEADBEEF);
  PutFixed64(&s, 0x0123456789ABCDEFull);
  Decoder d(s);
  uint16_t a;
  uint32_t b;
  uint64_t c;
  ASSERT_TRUE(d.GetFixed16(&a));
  ASSERT_TRUE(d.GetFixed32(&b));
  ASSERT_TRUE(d.GetFixed64(&c));
  EXPECT_EQ(a, 0xBEEF);
  EXPECT_EQ(b, 0xDEADBEEFu);
  EXPECT_EQ(c, 0x0123456789ABCDEFull);
  ASSERT_OK(d.status("fixed"));
  // Big-endian: byte order is numeric order.
  std::string x, y;
  PutFixed64(&x, 255);
  PutFixed64(&y, 256);
  EXPECT_LT(x, y);
}

TEST(CodingTest, VarintRoundTrip) {
  std::vector<uint64_t> values = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX,
                                  (1ull << 35) + 7, UINT64_MAX};
  std::string s;
  for (uint64_t v : values) PutVarint64(&s, v);
  Decoder d(s);
  for (uint64_t v : values) {
    uint64_t got;
    ASSERT_TRUE(d.GetVarint64(&got));
    EXPECT_EQ(got, v);
    EXPECT_EQ(VarintLength(v), [&] { std::string t; PutVarint64(&t, v); return (int)t.size(); }());
  }
  EXPECT_TRUE(d.empty());
}

TEST(CodingTest, SignedVarints) {
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{-64}, INT64_MIN, INT64_MAX}) {
    std::string s;
    PutVarsint64(&s, v);
    Decoder d(s);
    int64_t got;
    ASSERT_TRUE(d.GetVarsint64(&got));
    EXPECT_EQ(got, v);
  }
}

TEST(CodingTest, VarintOverflowAndTruncation) {
  std::string eleven(11, '\xff');
  Decoder d1(eleven);
  uint64_t v;
  EXPECT_FALSE(d1.GetVarint64(&v));
  EXPECT_FALSE(d1.status("varint").ok());
  // 10th byte may only carry one bit.
  std::string ten(9, '\xff');
  ten.push_back('\x02');
  Decoder d2(ten);
  EXPECT_FALSE(d2.GetVarint64(&v));
  std::string truncated = "\x80\x80";
  Decoder d3(truncated);
  EXPECT_FALSE(d3.GetVarint64(&v));
  // A varint32 that does not fit in 32 bits.
  std::string big;
  PutVarint64(&big, 1ull << 33);
  Decoder d4(big);
  uint32_t v32;
  EXPECT_FALSE(d4.GetVarint32(&v32));
}

TEST(CodingTest, LengthPrefixedBeyondInputFailsWithoutAllocating) {
  std::string s;
  PutVarint64(&s, 1ull << 40);  // claims a terabyte
  s += "abc";
  Decoder d(s);
  std::string out;
  EXPECT_FALSE(d.GetLengthPrefixed(&out));
  EXPECT_EQ(out.capacity() < 1024, true);
  // And a later read fails too (sticky error).
  uint32_t x;
  EXPECT_FALSE(d.GetVarint32(&x));
  EXPECT_EQ(d.status("body").code(), Status::Code::kProtocolError);
}

TEST(CodingTest, LengthPrefixedMaxLen) {
  std::string s;
  PutLengthPrefixed(&s, "hello");
  Decoder d(s);
  std::string out;
  EXPECT_FALSE(d.GetLengthPrefixed(&out, 4));
  Decoder d2(s);
  ASSERT_TRUE(d2.GetLengthPrefixed(&out, 5));
  EXPECT_EQ(out, "hello");
}

TEST(CodingTest, CountIsBoundedByRemainingInput) {
  std::string s;
  PutVarint32(&s, 1000000);
  s += "xy";
  Decoder d(s);
  uint32_t n;
  EXPECT_FALSE(d.GetCount(&n, 1));
  Decoder d2(s);
  EXPECT_FALSE(d2.GetCount(&n, 0, 10));
}

TEST(CodingTest, TrailingBytesAreAnError) {
  std::string s;
  PutVarint32(&s, 5);
  s += "z";
  Decoder d(s);
  uint32_t n;
  ASSERT_TRUE(d.GetVarint32(&n));
  EXPECT_FALSE(d.status("msg").ok());
  EXPECT_OK(d.status("msg", /*require_end=*/false));
}

TEST(CodingTest, BoolRejectsOtherBytes) {
  std::string s = "\x02";
  Decoder d(s);
  bool b;
  EXPECT_FALSE(d.GetBool(&b));
}

TEST(CodingTest, OrderedBytesPreserveOrder) {
  std::vector<std::string> strs = {"", std::string("\0", 1), std::string("\0\0", 2),
                                   std::string("\0\x01", 2), "a", std::string("a\0", 2),
                                   "ab", "b", "\xff", "\xff\xff"};
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) {
    std::string r;
    int len = rng() % 6;
    for (int j = 0; j < len; ++j) r.push_back(static_cast<char>(rng() % 4 == 0 ? 0 : rng()));
    strs.push_back(r);
  }
  for (const auto& a : strs) {
    for (const auto& b : strs) {
      std::string ea, eb;
      PutOrderedBytes(&ea, a);
      PutOrderedBytes(&eb, b);
      // Append a suffix to show composite keys keep the order of the first part.
      ea += "\xff";
      eb += std::string("\0", 1);
      if (a < b) {
        EXPECT_LT(ea, eb);
      }
      if (a > b) {
        EXPECT_GT(ea, eb);
      }
    }
    std::string enc;
    PutOrderedBytes(&enc, a);
    enc += "tail";
    std::string_view in(enc);
    std::string out;
    ASSERT_TRUE(GetOrderedBytes(&in, &out));
    EXPECT_EQ(out, a);
    EXPECT_EQ(in, "tail");
  }
  std::string bad = std::string("a\0\x05", 3);
  std::string_view in(bad);
  std::string out;
  EXPECT_FALSE(GetOrderedBytes(&in, &out));
}


// A message described once with FieldWriter/FieldReader (lib/util/field_codec.h).
struct Sample {
  enum Color : uint32_t { kRed = 0, kGreen = 1, kBlue = 2 };
  uint64_t id = 0;
  int64_t delta = 0;
  uint32_t crc = 0;
  bool flag = false;
  Color color = kRed;
  std::string name;
  std::vector<std::string> tags;
};

template <class C>
void SampleFields(C& c, Sample* s) {
  c.Varint64(&s->id);
  c.Varsint64(&s->delta);
  c.Fixed32(&s->crc);
  c.Bool(&s->flag);
  c.Enum(&s->color, Sample::kBlue, Sample::kRed);
  c.Bytes(&s->name, 16);
  c.List(&s->tags, 1, 3, [](C& tc, std::string* t) { tc.Bytes(t, 8); });
}

std::string EncodeSample(const Sample& s) {
  std::string out;
  FieldWriter w(&out);
  SampleFields(w, const_cast<Sample*>(&s));
  return out;
}

Status DecodeSample(std::string_view body, Sample* s) {
  FieldReader r(body);
  SampleFields(r, s);
  return r.status("sample");
}

TEST(FieldCodecTest, OneDescriptionRoundTrips) {
  Sample in;
  in.id = 1ull << 60;
  in.delta = -12345;
  in.crc = 0xdeadbeef;
  in.flag = true;
  in.color = Sample::kBlue;
  in.name = std::string("a\0b", 3);
  in.tags = {"x", "", "yz"};
  Sample out;
  ASSERT_OK(DecodeSample(EncodeSample(in), &out));
  EXPECT_EQ(out.id, in.id);
  EXPECT_EQ(out.delta, in.delta);
  EXPECT_EQ(out.crc, in.crc);
  EXPECT_EQ(out.flag, in.flag);
  EXPECT_EQ(out.color, in.color);
  EXPECT_EQ(out.name, in.name);
  EXPECT_EQ(out.tags, in.tags);
}

TEST(FieldCodecTest, LimitsAndTruncationAreProtocolErrors) {
  Sample in;
  in.name = std::string(17, 'n');  // over the 16-byte limit
  Sample out;
  EXPECT_TRUE(DecodeSample(EncodeSample(in), &out).code() == Status::Code::kProtocolError);

  in.name = "ok";
  in.tags = {"a", "b", "c", "d"};  // over the 3-item limit
  EXPECT_TRUE(DecodeSample(EncodeSample(in), &out).code() == Status::Code::kProtocolError);

  in.tags = {"a"};
  std::string body = EncodeSample(in);
  for (size_t cut = 0; cut < body.size(); ++cut) {
    EXPECT_FALSE(DecodeSample(body.substr(0, cut), &out).ok()) << "cut at " << cut;
  }
  EXPECT_TRUE(DecodeSample(body + "x", &out).code() == Status::Code::kProtocolError);  // trailing byte
}

TEST(FieldCodecTest, UnknownEnumValueReadsAsFallback) {
  Sample in;
  std::string body = EncodeSample(in);
  // The enum is the byte after varint id(1) varsint delta(1) fixed32(4) bool(1).
  body[7] = 9;
  Sample out;
  out.color = Sample::kGreen;
  ASSERT_OK(DecodeSample(body, &out));
  EXPECT_EQ(out.color, Sample::kRed);
}

}  // namespace kdi
