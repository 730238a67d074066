#include "lib/util/coding.h"

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
      if (a < b) EXPECT_LT(ea, eb);
      if (a > b) EXPECT_GT(ea, eb);
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

}  // namespace kdi
