// kdi::Schema: validation, text and binary forms.
#include "kdi/schema.h"

#include "t/test_util.h"

namespace kdi {

TEST(SchemaTest, TextRoundTripAndLookup) {
  Schema s;
  ASSERT_OK(Schema::Parse("word:versions=3:compress=zlib meta:ttl=86400  *", &s));
  ASSERT_EQ(s.families().size(), 3u);
  EXPECT_EQ(s.FindFamily("word")->max_versions, 3u);
  EXPECT_EQ(s.FindFamily("word")->compression, Compression::kZlib);
  EXPECT_EQ(s.FindFamily("meta")->max_age_seconds, 86400);
  EXPECT_EQ(s.FindFamily("other")->name, "*");  // wildcard
  EXPECT_EQ(s.FindFamilyOfColumn("word:cat")->name, "word");
  Schema back;
  ASSERT_OK(Schema::Parse(s.ToString(), &back));
  EXPECT_EQ(back, s);
  std::string bin;
  s.EncodeTo(&bin);
  Schema dec;
  ASSERT_OK(Schema::DecodeFrom(bin, &dec));
  EXPECT_EQ(dec, s);
  for (size_t cut = 0; cut < bin.size(); ++cut) {
    EXPECT_FALSE(Schema::DecodeFrom(bin.substr(0, cut), &dec).ok());
  }
}

TEST(SchemaTest, RejectsBadSpecs) {
  Schema s;
  EXPECT_TRUE(Schema::Parse("a a", &s).IsInvalidArgument());  // duplicate
  EXPECT_TRUE(Schema::Parse("a:versions=x", &s).IsInvalidArgument());
  EXPECT_TRUE(Schema::Parse("a:ttl=-1", &s).IsInvalidArgument());
  EXPECT_TRUE(Schema::Parse("a:compress=lz4", &s).IsInvalidArgument());
  EXPECT_TRUE(Schema::Parse("a:bogus=1", &s).IsInvalidArgument());
  Schema none;
  EXPECT_EQ(none.FindFamily("a"), nullptr);
  EXPECT_NE(Schema::AcceptAny().FindFamily("anything"), nullptr);
}

}  // namespace kdi
