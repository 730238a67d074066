// Tests of the option registry (lib/util/options.h): value syntax per type,
// ranges, flag spellings, config precedence and the generated --help.
#include "lib/util/options.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "t/test_util.h"

namespace kdi {
namespace {

// A registry shaped like a daemon's.
class OptionsTest : public ::testing::Test {
 protected:
  OptionsTest() : opts_("lockd", "[OPTION]...", "KDI lock service.") {
    AddConfigOption(&opts_);
    AddClusterOptions(&opts_);
    opts_.AddDurationMs("lockd_session_lease_ms", 12000, 1000, 600000, "session lease");
    opts_.AddPath("lockd_data_dir", "/var/lib/kdi/lockd", "data directory")
        .Alias("data")
        .ValueName("DIR");
    opts_.AddString("lockd_listen_address", "127.0.0.1:7100", "listen address")
        .Alias("listen")
        .ValueName("HOST:PORT");
    opts_.AddInt("lockd_max_sessions", 1000, 1, 100000, "session limit");
    opts_.AddBool("lockd_sync_commits", true, "fsync every commit");
    opts_.AddSize("lockd_cache_size", 8 << 20, 1 << 16, int64_t{1} << 34, "cache size");
    opts_.AddBool("foreground", false, "stay in the foreground").FlagOnly();
  }

  Status Parse(std::vector<std::string> args) {
    operands_.clear();
    return opts_.ParseArgs(args, Options::kInterleaved, &operands_);
  }

  Status Apply(const std::string& text, const std::string& section = "lockd") {
    ConfigFile c;
    RETURN_NOT_OK(ConfigFile::Parse(text, "kdi.conf", &c));
    return opts_.ApplyConfig(c, section);
  }

  Options opts_;
  std::vector<std::string> operands_;
};

TEST_F(OptionsTest, DefaultsBeforeAnythingIsSet) {
  EXPECT_EQ(12000, opts_.GetDurationMs("lockd_session_lease_ms"));
  EXPECT_EQ("/var/lib/kdi/lockd", opts_.GetString("lockd_data_dir"));
  EXPECT_TRUE(opts_.GetBool("lockd_sync_commits"));
  EXPECT_EQ(8 << 20, opts_.GetSize("lockd_cache_size"));
  EXPECT_EQ(1000, opts_.GetInt("lockd_max_sessions"));
  EXPECT_FALSE(opts_.IsSet("lockd_max_sessions"));
  EXPECT_EQ("default", opts_.Source("lockd_max_sessions"));
  EXPECT_FALSE(opts_.GetBool("help"));
  // Typed values can always be read back as text.
  EXPECT_EQ("12000", opts_.GetString("lockd_session_lease_ms"));
}

TEST_F(OptionsTest, FlagSpellings) {
  ASSERT_OK(Parse({"--lockd_session_lease_ms=5s", "--lockd-max-sessions", "7", "a",
                   "--data", "/d", "--listen=0.0.0.0:1", "--foreground", "-c", "/etc/x.conf",
                   "--no-lockd-sync-commits", "b", "--", "--not-a-flag"}));
  EXPECT_EQ(5000, opts_.GetDurationMs("lockd_session_lease_ms"));
  EXPECT_EQ(7, opts_.GetInt("lockd_max_sessions"));
  EXPECT_EQ("/d", opts_.GetString("lockd_data_dir"));
  EXPECT_EQ("0.0.0.0:1", opts_.GetString("lockd_listen_address"));
  EXPECT_TRUE(opts_.GetBool("foreground"));
  EXPECT_FALSE(opts_.GetBool("lockd_sync_commits"));
  EXPECT_EQ("/etc/x.conf", opts_.GetString("config"));
  EXPECT_EQ((std::vector<std::string>{"a", "b", "--not-a-flag"}), operands_);
  EXPECT_EQ("--lockd-max-sessions", opts_.Source("lockd_max_sessions"));
  EXPECT_TRUE(opts_.IsSet("lockd_max_sessions"));

  ASSERT_OK(Parse({"-c/other.conf", "-h", "--lockd_sync_commits=yes"}));
  EXPECT_EQ("/other.conf", opts_.GetString("config"));
  EXPECT_TRUE(opts_.GetBool("help"));
  EXPECT_TRUE(opts_.GetBool("lockd_sync_commits"));
}

TEST_F(OptionsTest, StopAtOperandLeavesTheRestAlone) {
  std::vector<std::string> ops;
  ASSERT_OK(opts_.ParseArgs({"-c", "f", "ca", "issue", "--role", "x"}, Options::kStopAtOperand,
                            &ops));
  EXPECT_EQ((std::vector<std::string>{"ca", "issue", "--role", "x"}), ops);
  EXPECT_EQ("f", opts_.GetString("config"));
}

TEST_F(OptionsTest, BadFlagsAreInvalidArgumentNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    const char* words;
  } cases[] = {
      {{"--nope=1"}, "unknown option '--nope'"},
      {{"-x"}, "unknown option '-x'"},
      {{"--lockd_max_sessions"}, "--lockd_max_sessions: missing value"},
      {{"--lockd_max_sessions=0"}, "0 is out of range 1..100000"},
      {{"--lockd_max_sessions=12abc"}, "bad value '12abc' for lockd_max_sessions"},
      {{"--lockd_max_sessions=99999999999999999999999"}, "want an integer"},
      {{"--lockd_session_lease_ms=5 days"}, "want a duration"},
      {{"--lockd_session_lease_ms=999"}, "out of range 1000..600000"},
      {{"--lockd_sync_commits=maybe"}, "want true or false"},
      {{"--lockd_cache_size=1Q"}, "want a size"},
      {{"--lockd_cache_size=1K"}, "1024 is out of range"},
      {{"--no-lockd_max_sessions"}, "unknown option"},
  };
  for (const Case& tc : cases) {
    Status s = Parse(tc.args);
    ASSERT_TRUE(s.IsInvalidArgument()) << tc.args[0] << " -> " << s.ToString();
    EXPECT_NE(std::string::npos, s.message().find(tc.words)) << s.message();
  }
}

TEST(OptionValueTest, Parsers) {
  int64_t v;
  bool b;
  EXPECT_TRUE(ParseDurationMsValue("250", &v) && v == 250);
  EXPECT_TRUE(ParseDurationMsValue("250ms", &v) && v == 250);
  EXPECT_TRUE(ParseDurationMsValue("3s", &v) && v == 3000);
  EXPECT_TRUE(ParseDurationMsValue("2m", &v) && v == 120000);
  EXPECT_TRUE(ParseDurationMsValue("1h", &v) && v == 3600000);
  EXPECT_FALSE(ParseDurationMsValue("", &v));
  EXPECT_FALSE(ParseDurationMsValue("-1", &v));
  EXPECT_FALSE(ParseDurationMsValue("1d", &v));
  EXPECT_FALSE(ParseDurationMsValue("99999999999999999h", &v));  // overflow
  EXPECT_TRUE(ParseSizeValue("4096", &v) && v == 4096);
  EXPECT_TRUE(ParseSizeValue("256K", &v) && v == 256 * 1024);
  EXPECT_TRUE(ParseSizeValue("64MiB", &v) && v == 64 << 20);
  EXPECT_TRUE(ParseSizeValue("2g", &v) && v == int64_t{2} << 30);
  EXPECT_FALSE(ParseSizeValue("9999999999T", &v));  // overflow
  EXPECT_FALSE(ParseSizeValue("K", &v));
  EXPECT_TRUE(ParseIntValue("-9223372036854775808", &v) && v == INT64_MIN);
  EXPECT_TRUE(ParseIntValue("9223372036854775807", &v) && v == INT64_MAX);
  EXPECT_FALSE(ParseIntValue("9223372036854775808", &v));
  EXPECT_FALSE(ParseIntValue("-", &v));
  EXPECT_FALSE(ParseIntValue(" 1", &v));
  for (const char* t : {"true", "YES", "on", "1"}) EXPECT_TRUE(ParseBoolValue(t, &b) && b) << t;
  for (const char* t : {"false", "No", "off", "0"}) EXPECT_TRUE(ParseBoolValue(t, &b) && !b) << t;
  EXPECT_FALSE(ParseBoolValue("", &b));
  EXPECT_FALSE(ParseBoolValue("2", &b));
}

TEST_F(OptionsTest, ConfigSectionOverridesGlobalAndFlagsOverrideBoth) {
  ASSERT_OK(Parse({"--lockd_max_sessions=3"}));
  ASSERT_OK(Apply("[lockd]\n"
                  "lockd_max_sessions = 50\n"
                  "tls_ca_file = /lockd/ca.crt\n"
                  "lockd_session_lease_ms = 30s\n"
                  "[global]\n"
                  "tls_ca_file = /global/ca.crt\n"
                  "tls_cert_file = /global/x.crt\n"
                  "log_level = debug\n"  // shared key lockd here does not declare: ignored
                  "[tabletd]\n"
                  "tabletd_anything = whatever\n"));  // another program's section
  EXPECT_EQ(3, opts_.GetInt("lockd_max_sessions"));
  EXPECT_EQ("--lockd_max_sessions", opts_.Source("lockd_max_sessions"));
  EXPECT_EQ("/lockd/ca.crt", opts_.GetString("tls_ca_file"));
  EXPECT_EQ("kdi.conf:3", opts_.Source("tls_ca_file"));
  EXPECT_EQ("/global/x.crt", opts_.GetString("tls_cert_file"));
  EXPECT_EQ(30000, opts_.GetDurationMs("lockd_session_lease_ms"));
  EXPECT_EQ("kdi.conf:4", opts_.Source("lockd_session_lease_ms"));
}

TEST_F(OptionsTest, ConfigErrorsNameFileLineAndKey) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"[lockd]\n\nfoo = 1\n", "kdi.conf:3: unknown key 'foo' in [lockd]"},
      {"[lockd]\nforeground = true\n", "kdi.conf:2: unknown key 'foreground' in [lockd]"},
      {"lockd_max_sessions = 5\n",
       "kdi.conf:1: unknown key 'lockd_max_sessions' in [global]; set it in [lockd]"},
      {"[global]\nbar = 5\n", "kdi.conf:2: unknown key 'bar' in [global]"},
      {"[lockd]\nlockd_max_sessions = lots\n",
       "kdi.conf:2: bad value 'lots' for lockd_max_sessions: want an integer"},
      {"[lockd]\nlockd_max_sessions = 0\n",
       "kdi.conf:2: bad value '0' for lockd_max_sessions: 0 is out of range 1..100000"},
  };
  for (const Case& tc : cases) {
    Status s = Apply(tc.text);
    ASSERT_TRUE(s.IsInvalidArgument()) << tc.text;
    EXPECT_EQ(tc.message, s.message());
  }
}

TEST_F(OptionsTest, RelativePaths) {
  ASSERT_OK(Parse({"--data", "rel/dir"}));
  opts_.MakePathsAbsolute("/work");
  EXPECT_EQ("/work/rel/dir", opts_.GetString("lockd_data_dir"));
  // In a config file, relative to the file's directory.
  ConfigFile c;
  ASSERT_OK(ConfigFile::Parse("[global]\ntls_key_file = keys/me.key\ntls_ca_file = /abs/ca\n",
                              "/etc/kdi/kdi.conf", &c));
  ASSERT_OK(opts_.ApplyConfig(c, "lockd"));
  EXPECT_EQ("/etc/kdi/keys/me.key", opts_.GetString("tls_key_file"));
  EXPECT_EQ("/abs/ca", opts_.GetString("tls_ca_file"));
}

TEST_F(OptionsTest, ChoicesAreChecked) {
  Options o("x");
  o.AddString("log_level", "info", "level").Choices({"debug", "info"});
  std::vector<std::string> ops;
  Status s = o.ParseArgs({"--log_level=loud"}, Options::kInterleaved, &ops);
  ASSERT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(std::string::npos, s.message().find("want one of debug|info")) << s.message();
  ASSERT_OK(o.ParseArgs({"--log_level=debug"}, Options::kInterleaved, &ops));
  EXPECT_EQ("debug", o.GetString("log_level"));
}

TEST_F(OptionsTest, HelpListsEveryVisibleOption) {
  opts_.AddString("lockd_secret_test_knob", "", "internal").Hidden();
  std::string help = opts_.HelpText();
  EXPECT_EQ(0u, help.find("usage: lockd [OPTION]...\nKDI lock service.\n")) << help;
  for (const Option* o : opts_.List()) {
    if (o->name() == "lockd_secret_test_knob") continue;
    EXPECT_NE(std::string::npos, help.find("--" + o->name())) << o->name();
  }
  EXPECT_EQ(std::string::npos, help.find("lockd_secret_test_knob"));
  EXPECT_NE(std::string::npos,
            help.find("  --lockd_session_lease_ms=MS\n      session lease (range "
                      "1000..600000; default 12000)\n"))
      << help;
  EXPECT_NE(std::string::npos, help.find("  -c, --config=FILE\n")) << help;
  EXPECT_NE(std::string::npos, help.find("--lockd_data_dir=DIR, --data\n")) << help;
  EXPECT_NE(std::string::npos, help.find("  -h, --help\n")) << help;
}

TEST(LoadConfigFileTest, ExplicitEnvAndDefault) {
  test::TempDir dir;
  std::string path = dir.Join("kdi.conf");
  {
    std::ofstream f(path);
    f << "[kdicli]\nlockd_address = 127.0.0.1:9\n";
  }
  std::string used;
  {
    Options o("kdicli");
    AddConfigOption(&o);
    AddClusterOptions(&o);
    std::vector<std::string> ops;
    ASSERT_OK(o.ParseArgs({"-c", path}, Options::kInterleaved, &ops));
    ASSERT_OK(LoadConfigFile(&o, "kdicli", &used));
    EXPECT_EQ(path, used);
    EXPECT_EQ("127.0.0.1:9", o.GetString("lockd_address"));
  }
  {
    Options o("kdicli");
    AddConfigOption(&o);
    AddClusterOptions(&o);
    setenv("KDI_CONF", path.c_str(), 1);
    Status s = LoadConfigFile(&o, "kdicli", &used);
    unsetenv("KDI_CONF");
    ASSERT_OK(s);
    EXPECT_EQ(path, used);
    EXPECT_EQ("127.0.0.1:9", o.GetString("lockd_address"));
  }
  {
    // A named file that does not exist is an error naming it.
    Options o("kdicli");
    AddConfigOption(&o);
    std::vector<std::string> ops;
    ASSERT_OK(o.ParseArgs({"--config", dir.Join("nope.conf")}, Options::kInterleaved, &ops));
    Status s = LoadConfigFile(&o, "kdicli", &used);
    EXPECT_TRUE(s.IsNotFound()) << s.ToString();
    EXPECT_NE(std::string::npos, s.message().find("nope.conf"));
  }
}

}  // namespace
}  // namespace kdi
