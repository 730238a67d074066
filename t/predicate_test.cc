// The scan predicate language: every operator, 'or', 'and', history, time
// literals, errors with positions, canonical text and binary round trips.
#include "kdi/scan_predicate.h"

#include "t/test_util.h"

namespace kdi {

namespace {

ScanPredicate P(const std::string& text) {
  ScanPredicate p;
  Status s = ScanPredicate::Parse(text, &p);
  EXPECT_TRUE(s.ok()) << text << ": " << s.ToString();
  return p;
}

void ExpectRoundTrips(const ScanPredicate& p) {
  ScanPredicate back;
  ASSERT_OK(ScanPredicate::Parse(p.ToString(), &back));
  EXPECT_EQ(back, p) << p.ToString() << " reparsed as " << back.ToString();
  std::string bin;
  p.EncodeTo(&bin);
  ScanPredicate dec;
  ASSERT_OK(ScanPredicate::DecodeFrom(bin, &dec));
  EXPECT_EQ(dec, p);
}

}  // namespace

TEST(PredicateTest, EmptyMatchesEverything) {
  ScanPredicate p = P("");
  EXPECT_TRUE(p.rows().IsAll());
  EXPECT_TRUE(p.columns().IsAll());
  EXPECT_TRUE(p.times().IsAll());
  EXPECT_EQ(p.history(), 0);
  EXPECT_EQ(p.ToString(), "");
  ExpectRoundTrips(p);
}

TEST(PredicateTest, EveryStringOperator) {
  struct Case {
    const char* text;
    std::vector<std::string> in, out;
  } cases[] = {
      {"row < \"b\"", {"", "a", "azz"}, {"b", "ba", "c"}},
      {"row <= \"b\"", {"a", "b"}, {std::string("b\0", 2), "ba", "c"}},
      {"row > \"b\"", {std::string("b\0", 2), "ba", "c"}, {"a", "b"}},
      {"row >= \"b\"", {"b", "ba", "c"}, {"a", "azz"}},
      {"row = \"b\"", {"b"}, {"a", "ba", std::string("b\0", 2)}},
      {"row ~= \"b\"", {"b", "ba", "b\xff"}, {"a", "c", "B"}},
      {"\"a\" < row < \"c\"", {"a0", "b"}, {"a", "c"}},
      {"\"a\" <= row <= \"c\"", {"a", "b", "c"}, {"c0", "0"}},
      {"\"c\" > row >= \"a\"", {"a", "b"}, {"c", "0"}},
      {"row ~= \"\\xff\\xff\"", {"\xff\xff", "\xff\xff\xff"}, {"\xff", "\xfe\xff\xff"}},
  };
  for (const Case& c : cases) {
    ScanPredicate p = P(c.text);
    for (const std::string& s : c.in) EXPECT_TRUE(p.rows().Contains(s)) << c.text << " " << s;
    for (const std::string& s : c.out) EXPECT_FALSE(p.rows().Contains(s)) << c.text << " " << s;
    ExpectRoundTrips(p);
  }
}

TEST(PredicateTest, OrIsUnionAndIsIntersection) {
  ScanPredicate p = P("row = \"a\" or row ~= \"k\" or row >= \"x\"");
  EXPECT_TRUE(p.rows().Contains("a"));
  EXPECT_TRUE(p.rows().Contains("kite"));
  EXPECT_TRUE(p.rows().Contains("zebra"));
  EXPECT_FALSE(p.rows().Contains("b"));
  EXPECT_EQ(p.rows().intervals().size(), 3u);
  ExpectRoundTrips(p);

  ScanPredicate q = P("row >= \"b\" and row < \"d\" and column ~= \"f:\" and row ~= \"c\"");
  EXPECT_TRUE(q.rows().Contains("cat"));
  EXPECT_FALSE(q.rows().Contains("b"));
  EXPECT_TRUE(q.columns().Contains("f:x"));
  EXPECT_FALSE(q.columns().Contains("g:x"));
  ExpectRoundTrips(q);

  // Overlapping intervals merge.
  ScanPredicate m = P("row < \"m\" or row >= \"c\"");
  EXPECT_TRUE(m.rows().IsAll());
  // Disjoint intersection matches nothing and still round-trips.
  ScanPredicate none = P("row < \"b\" and row > \"c\"");
  EXPECT_TRUE(none.MatchesNothing());
  ExpectRoundTrips(none);
}

TEST(PredicateTest, ExampleFromTheDesign) {
  ScanPredicate p =
      P("row ~= \"com.foo\" and \"word:cat\" < column <= \"word:dog\" and history = 1");
  EXPECT_TRUE(p.rows().Contains("com.foo.www"));
  EXPECT_FALSE(p.columns().Contains("word:cat"));
  EXPECT_TRUE(p.columns().Contains("word:cow"));
  EXPECT_TRUE(p.columns().Contains("word:dog"));
  EXPECT_EQ(p.history(), 1);
  ExpectRoundTrips(p);
}

TEST(PredicateTest, TimeOperatorsAndLiterals) {
  ScanPredicate p = P("time >= @100 and time < @200");
  EXPECT_TRUE(p.times().Contains(100));
  EXPECT_TRUE(p.times().Contains(199));
  EXPECT_FALSE(p.times().Contains(200));
  EXPECT_FALSE(p.times().Contains(99));
  ExpectRoundTrips(p);
  EXPECT_TRUE(P("time = @-5").times().Contains(-5));
  EXPECT_FALSE(P("time > @5").times().Contains(5));
  EXPECT_TRUE(P("time <= @5").times().Contains(5));
  EXPECT_TRUE(P("@1 <= time <= @3 or time = @10").times().Contains(10));

  int64_t t = 0;
  ASSERT_OK(ParseTimeLiteral("1970-01-01T00:00:01Z", &t));
  EXPECT_EQ(t, 1000000);
  ASSERT_OK(ParseTimeLiteral("2000-03-01", &t));
  EXPECT_EQ(t, 951868800LL * 1000000);
  ASSERT_OK(ParseTimeLiteral("2026-11-28T17:55:00.25+01:00", &t));
  EXPECT_EQ(t, (1795888500LL - 3600) * 1000000 + 250000);
  EXPECT_EQ(FormatTimeIso8601(1000000), "1970-01-01T00:00:01Z");
  EXPECT_EQ(FormatTimeIso8601(-1), "1969-12-31T23:59:59.999999Z");
  ASSERT_OK(ParseTimeLiteral(FormatTimeIso8601(1795888500123456LL), &t));
  EXPECT_EQ(t, 1795888500123456LL);
  EXPECT_FALSE(ParseTimeLiteral("2026-02-30", &t).ok());
  EXPECT_FALSE(ParseTimeLiteral("2026-11-28T25:00", &t).ok());
  EXPECT_FALSE(ParseTimeLiteral("@12x", &t).ok());

  ScanPredicate iso = P("time >= 1970-01-01T00:00:01Z and time < \"1970-01-01T00:00:02Z\"");
  EXPECT_TRUE(iso.times().Contains(1000000));
  EXPECT_FALSE(iso.times().Contains(2000000));
  ExpectRoundTrips(iso);
}

TEST(PredicateTest, HistoryPositiveAndNegative) {
  EXPECT_EQ(P("history = 3").history(), 3);
  EXPECT_EQ(P("history = -2").history(), -2);
  ExpectRoundTrips(P("history = -2 and column = \"a:b\""));
}

TEST(PredicateTest, StringEscapes) {
  ScanPredicate p = P("row = \"a\\\"b\\\\c\\x00\\xFFd\\n\"");
  std::string want = std::string("a\"b\\c") + '\0' + "\xff" + "d\n";
  EXPECT_TRUE(p.rows().Contains(want));
  ExpectRoundTrips(p);
}

TEST(PredicateTest, ErrorsNameThePositionAndToken) {
  struct Case {
    const char* text;
    const char* expect;  // substring of the message
  } cases[] = {
      {"rowx = \"a\"", "position 0 near 'rowx'"},
      {"row = \"a\" and", "position 13 (end of input)"},
      {"row = \"a\" or column = \"b\"", "position 13 near 'column'"},
      {"row = a", "position 6 near 'a'"},
      {"row == \"a\"", "position 5 near '='"},
      {"row = \"abc", "unterminated"},
      {"row = \"\\q\"", "position 7 near '\\q'"},
      {"row = \"\\xZZ\"", "bad \\x escape"},
      {"time ~= @5", "position 5 near '~='"},
      {"time = 2026-13-01", "position 7 near '2026-13-01'"},
      {"row = @5", "\"string\" literal"},
      {"history = 0", "must not be 0"},
      {"history = 1 and history = 2", "position 16 near 'history': 'history' given twice"},
      {"\"a\" < row > \"b\"", "same way"},
      {"row = \"a\" row", "position 10 near 'row': expected 'and'"},
      {"row ! \"a\"", "position 4 near '!'"},
  };
  for (const Case& c : cases) {
    ScanPredicate p;
    Status s = ScanPredicate::Parse(c.text, &p);
    ASSERT_TRUE(s.IsInvalidArgument()) << c.text;
    EXPECT_NE(s.message().find(c.expect), std::string::npos)
        << c.text << " -> " << s.message() << " (want " << c.expect << ")";
  }
}

TEST(PredicateTest, BuildersAndBinaryRejects) {
  ScanPredicate p;
  p.SetRowPrefix("com.").SetFamily("word").SetTimeRange(5, 10).SetHistory(2);
  EXPECT_TRUE(p.rows().Contains("com.x"));
  EXPECT_TRUE(p.columns().Contains("word:x"));
  EXPECT_FALSE(p.columns().Contains("wordy:x"));
  ExpectRoundTrips(p);
  std::string bin;
  p.EncodeTo(&bin);
  ScanPredicate d;
  for (size_t cut = 0; cut < bin.size(); ++cut) {
    EXPECT_TRUE(ScanPredicate::DecodeFrom(bin.substr(0, cut), &d).IsInvalidArgument()) << cut;
  }
  EXPECT_TRUE(ScanPredicate::DecodeFrom(bin + "x", &d).IsInvalidArgument());
  std::string huge = std::string("\x01\x01", 2) + "\xff\xff\xff\xff\x0f";
  EXPECT_TRUE(ScanPredicate::DecodeFrom(huge, &d).IsInvalidArgument());
}

}  // namespace kdi
