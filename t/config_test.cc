// Tests of the kdi.conf parser (lib/util/config_file.h): grammar, limits, and
// error messages that name the file and line.
#include "lib/util/config_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include "t/test_util.h"

namespace kdi {
namespace {

TEST(ConfigFileTest, ParsesSectionsCommentsAndValues) {
  ConfigFile c;
  ASSERT_OK(ConfigFile::Parse("# top comment\n"
                              "log_level = debug\n"
                              "\n"
                              "[lockd]\n"
                              "  lockd_session_lease_ms=12000   \n"
                              "\t# indented comment\n"
                              "lockd_data_dir = /var/lib/kdi # trailing comment\n"
                              "[ kdicli ]\n"
                              "motd = \"a # not a comment \\\"quoted\\\" \\\\ \" # comment\n"
                              "empty =\n"
                              "url = http://x/#frag\n",
                              "kdi.conf", &c));
  ASSERT_EQ(6u, c.entries().size());
  EXPECT_EQ("global", c.entries()[0].section);
  EXPECT_EQ("log_level", c.entries()[0].key);
  EXPECT_EQ("debug", c.entries()[0].value);
  EXPECT_EQ(2, c.entries()[0].line);
  EXPECT_EQ("lockd", c.entries()[1].section);
  EXPECT_EQ("12000", c.entries()[1].value);
  EXPECT_EQ(5, c.entries()[1].line);
  EXPECT_EQ("/var/lib/kdi", c.Find("lockd", "lockd_data_dir")->value);
  EXPECT_EQ("a # not a comment \"quoted\" \\ ", c.Find("kdicli", "motd")->value);
  EXPECT_EQ("", c.Find("kdicli", "empty")->value);
  // '#' not preceded by a blank is part of the value.
  EXPECT_EQ("http://x/#frag", c.Find("kdicli", "url")->value);
  EXPECT_EQ(nullptr, c.Find("global", "lockd_data_dir"));
}

TEST(ConfigFileTest, RepeatedSectionsMerge) {
  ConfigFile c;
  ASSERT_OK(ConfigFile::Parse("[lockd]\na = 1\n[tabletd]\nb = 2\n[lockd]\nc = 3\n", "f", &c));
  EXPECT_EQ("1", c.Find("lockd", "a")->value);
  EXPECT_EQ("3", c.Find("lockd", "c")->value);
  EXPECT_EQ("2", c.Find("tabletd", "b")->value);
}

TEST(ConfigFileTest, EmptyAndCommentOnlyFilesAreValid) {
  ConfigFile c;
  ASSERT_OK(ConfigFile::Parse("", "f", &c));
  EXPECT_TRUE(c.entries().empty());
  ASSERT_OK(ConfigFile::Parse("# nothing\n\n   \n", "f", &c));
  EXPECT_TRUE(c.entries().empty());
  // No trailing newline and CRLF line ends.
  ASSERT_OK(ConfigFile::Parse("[lockd]\r\nx = 1\r\ny = 2", "f", &c));
  EXPECT_EQ("1", c.Find("lockd", "x")->value);
  EXPECT_EQ("2", c.Find("lockd", "y")->value);
}

// Each bad input yields InvalidArgument whose message starts with FILE:LINE.
TEST(ConfigFileTest, ErrorsNameFileAndLine) {
  struct Case {
    const char* text;
    const char* prefix;
    const char* words;
  } cases[] = {
      {"[lockd]\n[foo]\n", "kdi.conf:2: ", "unknown section 'foo'"},
      {"[lockd\n", "kdi.conf:1: ", "without ']'"},
      {"[lockd] junk\n", "kdi.conf:1: ", "unexpected text"},
      {"a = 1\njust words\n", "kdi.conf:2: ", "expected 'key = value'"},
      {"= 1\n", "kdi.conf:1: ", "missing key"},
      {"Bad-Key = 1\n", "kdi.conf:1: ", "bad key 'Bad-Key'"},
      {"[lockd]\na = 1\n\na = 2\n", "kdi.conf:4: ", "duplicate key 'a' in [lockd] (first set at line 2)"},
      {"a = \"open\n", "kdi.conf:1: ", "unterminated"},
      {"a = \"x\" y\n", "kdi.conf:1: ", "unexpected text after quoted value"},
      {"a = \"\\n\"\n", "kdi.conf:1: ", "bad escape"},
  };
  for (const Case& tc : cases) {
    ConfigFile c;
    Status s = ConfigFile::Parse(tc.text, "kdi.conf", &c);
    ASSERT_TRUE(s.IsInvalidArgument()) << tc.text << " -> " << s.ToString();
    EXPECT_EQ(0u, s.message().find(tc.prefix)) << s.message();
    EXPECT_NE(std::string::npos, s.message().find(tc.words)) << s.message();
    EXPECT_TRUE(c.entries().empty());
  }
}

TEST(ConfigFileTest, NulByteInLineIsAnError) {
  ConfigFile c;
  std::string text("a = 1\nb = x\0y\n", 14);
  Status s = ConfigFile::Parse(text, "kdi.conf", &c);
  ASSERT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(0u, s.message().find("kdi.conf:2: NUL")) << s.message();
}

TEST(ConfigFileTest, LimitsAreEnforced) {
  ConfigFile c;
  std::string long_line = "a = " + std::string(kMaxConfigLineBytes, 'x') + "\n";
  Status s = ConfigFile::Parse("[lockd]\n" + long_line, "kdi.conf", &c);
  ASSERT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(0u, s.message().find("kdi.conf:2: line too long")) << s.message();

  std::string huge(kMaxConfigFileBytes + 1, '#');
  s = ConfigFile::Parse(huge, "kdi.conf", &c);
  ASSERT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(std::string::npos, s.message().find("too large")) << s.message();
}

TEST(ConfigFileTest, LoadReadsFileAndNamesPathInErrors) {
  test::TempDir dir;
  std::string path = dir.Join("kdi.conf");
  {
    std::ofstream f(path);
    f << "[masterd]\nmasterd_x = 5\n[nope]\n";
  }
  ConfigFile c;
  Status s = ConfigFile::Load(path, &c);
  ASSERT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(0u, s.message().find(path + ":3: unknown section")) << s.message();

  {
    std::ofstream f(path);
    f << "[masterd]\nmasterd_x = 5\n";
  }
  ASSERT_OK(ConfigFile::Load(path, &c));
  EXPECT_EQ(path, c.origin());
  EXPECT_EQ("5", c.Find("masterd", "masterd_x")->value);

  s = ConfigFile::Load(dir.Join("missing.conf"), &c);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find("missing.conf"));
}

TEST(ConfigFileTest, KnownSections) {
  for (const char* s : {"global", "lockd", "masterd", "tabletd", "kdicli"}) {
    EXPECT_TRUE(IsConfigSection(s)) << s;
  }
  EXPECT_FALSE(IsConfigSection("Lockd"));
  EXPECT_FALSE(IsConfigSection(""));
}

}  // namespace
}  // namespace kdi
