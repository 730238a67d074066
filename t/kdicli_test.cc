// Tests of the kdicli program as a user sees it: --help and --version, exit
// codes (0 ok, 1 operation failed, 2 usage/config error), messages on stderr,
// configuration lookup (-c, KDI_CONF), and `ca init` / `ca issue` writing
// certificates with private keys of mode 0600. Runs the built ./kdicli/kdicli.
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "t/run_program.h"
#include "t/test_util.h"

namespace kdi {
namespace {

using test::ProgramResult;

ProgramResult Kdicli(const std::vector<std::string>& args,
                     const std::vector<std::string>& env = {}) {
  // Never read the installed /etc config from a test.
  std::vector<std::string> e = {"KDI_CONF=/dev/null"};
  e.insert(e.end(), env.begin(), env.end());
  return test::RunProgram("kdicli/kdicli", args, e);
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

int Mode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return st.st_mode & 07777;
}

// "CN" or "OU" of a PEM certificate's subject, "" if unreadable.
std::string SubjectField(const std::string& cert_path, int nid) {
  FILE* f = fopen(cert_path.c_str(), "r");
  if (f == nullptr) return "";
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  fclose(f);
  if (x == nullptr) return "";
  char buf[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(x), nid, buf, sizeof(buf));
  X509_free(x);
  return buf;
}

TEST(KdicliTest, Version) {
  ProgramResult r = Kdicli({"--version"});
  EXPECT_EQ(0, r.exit_code);
  EXPECT_EQ("kdicli (kdi) 0.1.0\n", r.out);
  EXPECT_EQ("", r.err);
}

TEST(KdicliTest, HelpEverywhere) {
  ProgramResult r = Kdicli({"--help"});
  EXPECT_EQ(0, r.exit_code) << r.err;
  for (const char* part : {"usage: kdicli", "--config=FILE", "--lockd_address=HOST:PORT",
                           "--tls_ca_file=FILE", "--version", "ca ...", "Exit status"}) {
    EXPECT_TRUE(Contains(r.out, part)) << part << "\n" << r.out;
  }
  r = Kdicli({"ca", "--help"});
  EXPECT_EQ(0, r.exit_code);
  EXPECT_TRUE(Contains(r.out, "ca init [--name NAME] [--days N] DIR")) << r.out;
  EXPECT_TRUE(Contains(r.out, "ca issue DIR --role ROLE NAME")) << r.out;

  r = Kdicli({"ca", "issue", "--help"});
  EXPECT_EQ(0, r.exit_code);
  for (const char* part : {"usage: kdicli ca issue DIR --role ROLE NAME", "--role=ROLE",
                           "--out=DIR", "--days=N", "--san=LIST", "server|admin|client"}) {
    EXPECT_TRUE(Contains(r.out, part)) << part << "\n" << r.out;
  }
  EXPECT_EQ(r.out, Kdicli({"help", "ca", "issue"}).out);
  EXPECT_EQ(r.out, Kdicli({"--help", "ca", "issue"}).out);
  r = Kdicli({"ca", "init", "-h"});
  EXPECT_EQ(0, r.exit_code);
  EXPECT_TRUE(Contains(r.out, "usage: kdicli ca init")) << r.out;
}

TEST(KdicliTest, UsageErrorsExitTwoWithAMessageOnStderr) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {{}, "kdicli: missing command"},
      {{"frobnicate"}, "kdicli: unknown command 'frobnicate'"},
      {{"--frobnicate", "ca", "init", "x"}, "kdicli: unknown option '--frobnicate'"},
      {{"ca"}, "kdicli: missing subcommand after 'ca'"},
      {{"ca", "frob"}, "kdicli: unknown command 'ca frob'"},
      {{"ca", "init"}, "kdicli ca init: expected one DIR"},
      {{"ca", "init", "a", "b"}, "kdicli ca init: expected one DIR"},
      {{"ca", "init", "--days=0", "d"}, "kdicli ca init: --days: bad value '0'"},
      {{"ca", "issue", "d", "name"}, "kdicli ca issue: --role is required"},
      {{"ca", "issue", "d", "--role", "king", "name"}, "want one of server|admin|client"},
      {{"ca", "issue", "d", "--role"}, "--role: missing value"},
      {{"ca", "issue", "--role=client", "d"}, "expected DIR and NAME"},
  };
  for (const Case& tc : cases) {
    ProgramResult r = Kdicli(tc.args);
    std::string shown = tc.args.empty() ? "(none)" : tc.args[0];
    EXPECT_EQ(2, r.exit_code) << shown << "\n" << r.err;
    EXPECT_TRUE(Contains(r.err, tc.message)) << shown << "\n" << r.err;
    EXPECT_EQ("", r.out) << shown;
  }
}

TEST(KdicliTest, ConfigurationErrorsExitTwoAndNameTheFile) {
  test::TempDir dir;
  std::string conf = dir.Join("kdi.conf");
  {
    std::ofstream f(conf);
    f << "[kdicli]\nlockd_address = 127.0.0.1:1\nbogus_key = 1\n";
  }
  ProgramResult r = Kdicli({"-c", conf, "ca", "init", dir.Join("ca")});
  EXPECT_EQ(2, r.exit_code);
  EXPECT_TRUE(Contains(r.err, conf + ":3: unknown key 'bogus_key' in [kdicli]")) << r.err;
  // The same through KDI_CONF.
  r = Kdicli({"ca", "init", dir.Join("ca")}, {"KDI_CONF=" + conf});
  EXPECT_EQ(2, r.exit_code);
  EXPECT_TRUE(Contains(r.err, conf + ":3: unknown key")) << r.err;
  // Help still works with a broken configuration.
  r = Kdicli({"ca", "init", "--help"}, {"KDI_CONF=" + conf});
  EXPECT_EQ(0, r.exit_code) << r.err;
  // A named file that does not exist.
  r = Kdicli({"--config", dir.Join("nope.conf"), "ca", "init", dir.Join("ca")});
  EXPECT_EQ(2, r.exit_code);
  EXPECT_TRUE(Contains(r.err, "nope.conf")) << r.err;
  EXPECT_EQ(-1, Mode(dir.Join("ca/ca.key")));
}

// The sample installed as $(sysconfdir)/kdi/kdi.conf is a valid configuration,
// also with its example lines uncommented.
TEST(KdicliTest, SampleConfigIsValid) {
  const char* src = std::getenv("KDI_SRC_DIR");
  std::string sample = std::string(src && *src ? src : ".") + "/doc/kdi.conf.sample";
  test::TempDir dir;
  ProgramResult r = Kdicli({"-c", sample, "ca", "init", dir.Join("ca1")});
  EXPECT_EQ(0, r.exit_code) << r.err;
  std::ifstream in(sample);
  ASSERT_TRUE(in.good()) << sample;
  std::string line, text;
  int uncommented = 0;
  while (std::getline(in, line)) {
    // "#key = value" lines are examples; "# text" lines are prose.
    if (line.size() > 1 && line[0] == '#' && line[1] != ' ' && line.find(" = ") != std::string::npos) {
      line = line.substr(1);
      uncommented++;
    }
    text += line + "\n";
  }
  EXPECT_GE(uncommented, 8);
  std::string conf = dir.Join("kdi.conf");
  std::ofstream(conf) << text;
  r = Kdicli({"-c", conf, "ca", "init", dir.Join("ca2")});
  EXPECT_EQ(0, r.exit_code) << r.err;
}

TEST(KdicliTest, CaInitAndIssueWritePrivateKeysWithMode0600) {
  test::TempDir dir;
  std::string ca = dir.Join("ca");
  ProgramResult r = Kdicli({"ca", "init", ca});
  ASSERT_EQ(0, r.exit_code) << r.err;
  EXPECT_TRUE(Contains(r.out, ca + "/ca.crt")) << r.out;
  EXPECT_EQ(0600, Mode(ca + "/ca.key"));
  EXPECT_NE(-1, Mode(ca + "/ca.crt"));

  r = Kdicli({"ca", "issue", ca, "--role", "server", "lockd1", "--san", "127.0.0.1,localhost"});
  ASSERT_EQ(0, r.exit_code) << r.err;
  EXPECT_EQ(0600, Mode(ca + "/lockd1.key"));
  EXPECT_EQ("lockd1", SubjectField(ca + "/lockd1.crt", NID_commonName));
  EXPECT_EQ("server", SubjectField(ca + "/lockd1.crt", NID_organizationalUnitName));

  std::string out = dir.Join("admin-out");
  r = Kdicli({"ca", "issue", "--role=admin", "--out", out, "--days", "30", ca, "ops"});
  ASSERT_EQ(0, r.exit_code) << r.err;
  EXPECT_EQ(0600, Mode(out + "/ops.key"));
  EXPECT_EQ("admin", SubjectField(out + "/ops.crt", NID_organizationalUnitName));
  EXPECT_EQ(-1, Mode(ca + "/ops.key"));

  // A second init refuses to overwrite the CA: an operation error, exit 1.
  r = Kdicli({"ca", "init", ca});
  EXPECT_EQ(1, r.exit_code);
  EXPECT_TRUE(Contains(r.err, "kdicli ca init: AlreadyExists")) << r.err;
  EXPECT_TRUE(Contains(r.err, ca)) << r.err;
  // Issuing from a directory without a CA names it.
  r = Kdicli({"ca", "issue", dir.Join("no-ca"), "--role", "client", "bob"});
  EXPECT_EQ(1, r.exit_code);
  EXPECT_TRUE(Contains(r.err, "kdicli ca issue:")) << r.err;
  EXPECT_TRUE(Contains(r.err, "no-ca")) << r.err;
}

}  // namespace
}  // namespace kdi
