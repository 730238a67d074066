// Tests of kdicli's cell formats: escaping, TSV and JSON lines, round trips of
// every byte value.
#include "kdicli/format.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "t/test_util.h"

namespace kdi::cli {
namespace {

std::string AllBytes() {
  std::string s;
  for (int i = 0; i < 256; i++) s.push_back(static_cast<char>(i));
  return s;
}

TEST(FormatTest, EscapeRoundTripsEveryByte) {
  std::string all = AllBytes();
  std::string esc = EscapeBytes(all, true);
  EXPECT_EQ(esc.find('\t'), std::string::npos);
  EXPECT_EQ(esc.find('\n'), std::string::npos);
  EXPECT_EQ(esc.find('\r'), std::string::npos);
  std::string back;
  ASSERT_OK(UnescapeBytes(esc, &back));
  EXPECT_EQ(back, all);
}

TEST(FormatTest, EscapeKeepsUtf8AndEscapesControls) {
  EXPECT_EQ(EscapeBytes("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(EscapeBytes(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(EscapeBytes("a\tb\nc\\d\re"), "a\\tb\\nc\\\\d\\re");
  EXPECT_EQ(EscapeBytes("\xff\xc3"), "\\xff\\xc3");  // invalid UTF-8
  EXPECT_EQ(EscapeBytes("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
  EXPECT_EQ(EscapeBytes("{x", true), "\\x7bx");
  EXPECT_EQ(EscapeBytes("{x", false), "{x");
  EXPECT_EQ(EscapeBytes("\x7f"), "\\x7f");
}

TEST(FormatTest, UnescapeRejectsBadInput) {
  std::string out;
  EXPECT_TRUE(UnescapeBytes("a\\", &out).IsInvalidArgument());
  EXPECT_TRUE(UnescapeBytes("a\\q", &out).IsInvalidArgument());
  EXPECT_TRUE(UnescapeBytes("a\\x4", &out).IsInvalidArgument());
  EXPECT_TRUE(UnescapeBytes("a\\xzz", &out).IsInvalidArgument());
  EXPECT_TRUE(UnescapeBytes("\\x41\\X", &out).IsInvalidArgument());
  ASSERT_OK(UnescapeBytes("\\x41\\\\", &out));
  EXPECT_EQ(out, "A\\");
}

TEST(FormatTest, Base64) {
  for (std::string s : {std::string(""), std::string("f"), std::string("fo"),
                        std::string("foo"), std::string("foob"), AllBytes()}) {
    std::string back;
    ASSERT_OK(Base64Decode(Base64Encode(s), &back));
    EXPECT_EQ(back, s);
  }
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  std::string out;
  EXPECT_FALSE(Base64Decode("Zm9", &out).ok());
  EXPECT_FALSE(Base64Decode("Zm=v", &out).ok());
  EXPECT_FALSE(Base64Decode("Z!9v", &out).ok());
}

TEST(FormatTest, TsvLineRoundTrip) {
  Cell c(AllBytes(), "fam:\t\n" + AllBytes(), -42, AllBytes() + AllBytes());
  std::string line = FormatCellTsv(c);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  Cell back;
  ASSERT_OK(ParseCellLine(line, &back));
  EXPECT_EQ(back, c);
}

TEST(FormatTest, TsvRowStartingWithBraceIsNotJson) {
  Cell c("{\"row\":1}", "a:b", 7, "v");
  Cell back;
  ASSERT_OK(ParseCellLine(FormatCellTsv(c), &back));
  EXPECT_EQ(back, c);
}

TEST(FormatTest, JsonLineRoundTrip) {
  Cell text("row1", "word:cat", 1234567, "caf\xc3\xa9 \"q\"");
  EXPECT_EQ(FormatCellJson(text),
            "{\"column\":\"word:cat\",\"row\":\"row1\",\"time\":1234567,"
            "\"value\":\"caf\xc3\xa9 \\\"q\\\"\"}");
  Cell bin(AllBytes(), "f:" + AllBytes(), INT64_MIN, AllBytes());
  for (const Cell& c : {text, bin}) {
    Cell back;
    ASSERT_OK(ParseCellLine(FormatCellJson(c), &back));
    EXPECT_EQ(back, c);
  }
}

TEST(FormatTest, ParseErrorsAreInvalidArgument) {
  Cell c;
  EXPECT_TRUE(ParseCellLine("a\tb\tc", &c).IsInvalidArgument());
  EXPECT_TRUE(ParseCellLine("a\tb\t12\tv\textra", &c).IsInvalidArgument());
  EXPECT_TRUE(ParseCellLine("a\tb\tnot-a-time\tv", &c).IsInvalidArgument());
  EXPECT_TRUE(ParseCellLine("\tb\t1\tv", &c).IsInvalidArgument());
  EXPECT_TRUE(ParseCellLine("{\"row\":\"a\"", &c).IsInvalidArgument());
  EXPECT_TRUE(ParseCellLine("{\"row\":\"a\",\"column\":\"c\",\"time\":1}", &c)
                  .IsInvalidArgument());
  EXPECT_TRUE(ParseCellLine("{\"row\":\"a\",\"column\":\"c\",\"time\":1,\"value\":\"\","
                            "\"x\":1}",
                            &c)
                  .IsInvalidArgument());
  EXPECT_TRUE(ParseCellLine("{\"row\":1,\"column\":\"c\",\"time\":1,\"value\":\"\"}", &c)
                  .IsInvalidArgument());
  Status s = ParseCellLine("a\tb\t1\tv\\q", &c);
  EXPECT_NE(s.message().find("value"), std::string::npos) << s.ToString();
}

TEST(FormatTest, TimeAcceptsLiterals) {
  Cell c;
  ASSERT_OK(ParseCellLine("r\tc\t@99\tv", &c));
  EXPECT_EQ(c.timestamp, 99);
  ASSERT_OK(ParseCellLine("r\tc\t1970-01-01T00:00:01Z\tv", &c));
  EXPECT_EQ(c.timestamp, 1000000);
  ASSERT_OK(ParseCellLine("{\"row\":\"r\",\"column\":\"c\",\"time\":\"@5\",\"value\":\"\"}", &c));
  EXPECT_EQ(c.timestamp, 5);
}

TEST(FormatTest, TextIsAligned) {
  std::ostringstream f;
  {
    CellWriter w(CellFormat::kText, &f);
    w.Write(Cell("a", "f:long-column", 0, "v1"));
    w.Write(Cell("longer-row", "f:c", 1000000, "v2"));
    ASSERT_OK(w.Finish());
    EXPECT_EQ(w.count(), 2u);
  }
  std::string out = f.str();
  EXPECT_EQ(out,
            "a           f:long-column  1970-01-01T00:00:00Z  v1\n"
            "longer-row  f:c            1970-01-01T00:00:01Z  v2\n");
}

TEST(FormatTest, FormatNames) {
  CellFormat f;
  ASSERT_OK(ParseCellFormat("json", &f));
  EXPECT_EQ(f, CellFormat::kJson);
  EXPECT_STREQ(CellFormatName(f), "json");
  EXPECT_TRUE(ParseCellFormat("xml", &f).IsInvalidArgument());
}

}  // namespace
}  // namespace kdi::cli
