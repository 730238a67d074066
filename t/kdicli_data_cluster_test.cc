// kdicli against a cluster it started itself: `kdicli local-cluster start` in
// a TempDir, a table created through the master, the data commands through
// `kdicli -c DIR/kdi.conf` (bare table names, kdi://), dump | load between two
// tables of the cluster, `local-cluster start` bringing back a killed daemon,
// status, and stop; the exact round trip of binary data and the exit status
// of cluster-side errors. The cluster is always stopped (RAII), also on failure.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "kdi/lock_client.h"
#include "kdi/table.h"
#include "lib/client/meta_client.h"
#include "lib/rpc/tls.h"
#include "t/test_util.h"

namespace kdi {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

class LocalClusterTest : public ::testing::Test {
 protected:
  ~LocalClusterTest() override {
    if (started_) Sh("KDICLI local-cluster stop " + Quote(Cluster()) + " --timeout 5s");
  }

  // Two levels that do not exist yet: `local-cluster start` creates them like
  // mkdir -p (regression: `make demo` failed on a fresh clone without var/).
  std::string Cluster() const { return dir_.Join("var/cluster"); }
  std::string Conf() const { return Cluster() + "/kdi.conf"; }

  Result Sh(std::string cmd) {
    std::string bin = Quote(test::BuildDir() + "/kdicli/kdicli");
    for (size_t p; (p = cmd.find("KDICLI")) != std::string::npos;) cmd.replace(p, 6, bin);
    std::string out = dir_.Join("out"), err = dir_.Join("err");
    std::string full = "env -u KDI_CONF sh -c " + Quote(cmd) + " </dev/null >" + Quote(out) +
                       " 2>" + Quote(err);
    int st = system(full.c_str());
    Result r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = ReadFile(out);
    r.err = ReadFile(err);
    return r;
  }

  std::string LockdAddress() {
    std::istringstream in(ReadFile(Conf()));
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("lockd_address = ", 0) == 0) return line.substr(16);
    }
    return "";
  }

  void CreateTable(const std::string& name) {
    lock::LockSessionOptions lo;
    lo.service = LockdAddress();
    lo.tls_ca_file = Cluster() + "/ca/ca.crt";
    lo.tls_cert_file = Cluster() + "/ca/admin.crt";
    lo.tls_key_file = Cluster() + "/ca/admin.key";
    std::unique_ptr<lock::LockSession> session;
    ASSERT_OK(lock::OpenLockSession(lo, &session));
    rpc::TlsOptions t{lo.tls_ca_file, lo.tls_cert_file, lo.tls_key_file};
    std::shared_ptr<rpc::TlsContext> tls;
    ASSERT_OK(rpc::TlsContext::CreateClient(t, &tls));
    meta::MetaClient::Options mo;
    mo.lock_session = session.get();
    mo.tls = tls;
    meta::MetaClient mc(mo);
    meta::CreateTableRequest req;
    req.name = name;
    req.schema = Schema::AcceptAny();
    req.split_rows = {"m"};
    ASSERT_OK(mc.CreateTable(req));
    ASSERT_OK(session->Close());
  }

  // Every cell of a table of the cluster (newest first, all versions).
  std::vector<Cell> ReadAll(const std::string& table) {
    std::unique_ptr<Table> t;
    EXPECT_OK(Table::Open("kdi://" + LockdAddress() + "/" + table + "?conf=" + Conf(), &t));
    std::vector<Cell> cells;
    if (t == nullptr) return cells;
    std::unique_ptr<CellStream> s;
    EXPECT_OK(t->Scan(ScanPredicate(), &s));
    for (Cell c; s->Next(&c);) cells.push_back(c);
    EXPECT_OK(s->status());
    return cells;
  }

  pid_t Pid(const std::string& daemon) {
    return static_cast<pid_t>(atol(ReadFile(Cluster() + "/run/" + daemon + ".pid").c_str()));
  }

  test::TempDir dir_;
  bool started_ = false;
};

TEST_F(LocalClusterTest, StartUseRestartStop) {
  started_ = true;
  Result r = Sh("KDICLI local-cluster start " + Quote(Cluster()) + " --tabletd 2");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("started tabletd-1"), std::string::npos) << r.out;
  r = Sh("KDICLI local-cluster status " + Quote(Cluster()));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("4 of 4 daemons running"), std::string::npos) << r.out;

  CreateTable("src");
  CreateTable("dst");
  std::string k = "KDICLI -c " + Quote(Conf()) + " ";
  r = Sh(k + "set src 'a\\trow' f:x 'va' --time 5");
  ASSERT_EQ(r.code, 0) << r.err;
  r = Sh(k + "set src $(printf 'z\\001') f:y \"$(printf 'two\\nlines')\" --time 6");
  ASSERT_EQ(r.code, 0) << r.err;
  r = Sh(k + "get src 'a\\trow'");
  EXPECT_EQ(r.out, "a\\\\trow\tf:x\t5\tva\n") << r.err;
  r = Sh(k + "count src");
  EXPECT_EQ(r.out, "2\n") << r.err;
  r = Sh(k + "dump src | " + k + "load dst");
  ASSERT_EQ(r.code, 0) << r.err;
  Result a = Sh(k + "dump src"), b = Sh(k + "dump dst");
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(std::count(a.out.begin(), a.out.end(), '\n'), 2);
  r = Sh(k + "get nosuchtable r");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no such table"), std::string::npos) << r.err;

  // A killed daemon comes back with `start`; the others are left alone.
  pid_t lockd = Pid("lockd");
  ASSERT_GT(Pid("tabletd-0"), 0);
  ASSERT_EQ(kill(Pid("tabletd-0"), SIGKILL), 0);
  for (int i = 0; i < 100 && Sh("KDICLI local-cluster status " + Quote(Cluster()))
                                     .out.find("3 of 4") == std::string::npos;
       i++) {
    usleep(50000);
  }
  r = Sh("KDICLI local-cluster start " + Quote(Cluster()));
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("started tabletd-0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lockd already running"), std::string::npos) << r.out;
  EXPECT_EQ(Pid("lockd"), lockd);
  r = Sh("KDICLI local-cluster status " + Quote(Cluster()));
  EXPECT_NE(r.out.find("4 of 4 daemons running"), std::string::npos) << r.out;
  // (Reading the killed server's tablets again depends on the master noticing
  // that a server restarted on the same address: see the client's report.)

  r = Sh("KDICLI local-cluster stop " + Quote(Cluster()));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("stopped lockd"), std::string::npos) << r.out;
  r = Sh("KDICLI local-cluster status " + Quote(Cluster()));
  EXPECT_NE(r.out.find("0 of 4 daemons running"), std::string::npos) << r.out;
  started_ = false;
}

std::string AllBytes() {
  std::string s;
  for (int i = 0; i < 256; i++) s.push_back(static_cast<char>(i));
  return s;
}

// Issue 6 through a real cluster: `kdicli create` with repeated --family (and
// the space-separated form), binary rows, columns and values (bytes
// 0x00-0xFF, tabs, newlines, a row that looks like JSON) written by an
// application, `kdicli dump | kdicli load` into other tables in TSV and in
// JSON, compared cell by cell; `alter` with repeated --family/--remove; and
// cluster-side errors exiting 1 with the server's message.
TEST_F(LocalClusterTest, DumpLoadRoundTripsBinaryDataThroughTheCluster) {
  started_ = true;
  Result r = Sh("KDICLI local-cluster start " + Quote(Cluster()) + " --tabletd 2");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  std::string k = "KDICLI -c " + Quote(Conf()) + " ";
  r = Sh(k + "create src --family f --family g:versions=3 --split m");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("created table src with 2 tablets"), std::string::npos) << r.out;
  r = Sh(k + "describe src");
  EXPECT_NE(r.out.find("family: f\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("family: g:versions=3\n"), std::string::npos) << r.out;
  ASSERT_EQ(Sh(k + "create tsv --family 'f g:versions=3' --split m --split t").code, 0);
  ASSERT_EQ(Sh(k + "create json --family=f --family=g:versions=3 d").code, 0);
  r = Sh(k + "describe tsv");
  EXPECT_NE(r.out.find("family: g:versions=3\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tablets: 3"), std::string::npos) << r.out;

  std::string uri = "kdi://" + LockdAddress() + "/src?conf=" + Conf();
  size_t written = 0;
  {
    std::unique_ptr<Table> t;
    ASSERT_OK(Table::Open(uri, &t));
    std::string all = AllBytes();
    for (int i = 0; i < 256; i++) {
      std::string row = std::string(1, static_cast<char>(i)) + "\t\n\r\\row" + all.substr(i);
      if (i == 0) row = "{" + row;  // a row that starts like JSON
      ASSERT_OK(t->Set(row, "f:" + all.substr(255 - i), (i - 128) * 1000003LL, all + row));
      ASSERT_OK(t->Set(row, "g:utf8", i + 1, "caf\xc3\xa9 \xe2\x82\xac\n"));
      ASSERT_OK(t->Set(row, "g:utf8", i + 2, std::string("\0\t\n", 3)));
      written += 3;
    }
    ASSERT_OK(t->Set("empty-value", "f:", 1, ""));
    written++;
    ASSERT_OK(t->Close());
  }
  std::vector<Cell> want = ReadAll("src");
  ASSERT_EQ(want.size(), written);

  r = Sh(k + "dump src | " + k + "load tsv");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("loaded " + std::to_string(written) + " cells"), std::string::npos)
      << r.err;
  std::string file = dir_.Join("src.json");
  r = Sh(k + "dump --format json src > " + Quote(file) + " && " + k + "load json " + Quote(file));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadAll("tsv"), want);
  EXPECT_EQ(ReadAll("json"), want);
  Result a = Sh(k + "dump src"), b = Sh(k + "dump tsv"), c = Sh(k + "dump json");
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.out, c.out);
  EXPECT_EQ(static_cast<size_t>(std::count(a.out.begin(), a.out.end(), '\n')), written);

  // alter takes families as create does.
  r = Sh(k + "alter tsv --family h --family i:versions=2");
  ASSERT_EQ(r.code, 0) << r.err;
  r = Sh(k + "describe tsv");
  EXPECT_NE(r.out.find("family: h\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("family: i:versions=2\n"), std::string::npos) << r.out;
  ASSERT_EQ(Sh(k + "alter tsv --remove h --remove i").code, 0);
  r = Sh(k + "describe tsv");
  EXPECT_EQ(r.out.find("family: h"), std::string::npos) << r.out;

  // Errors of the cluster: exit 1, "kdicli CMD: " and the server's message.
  struct Case {
    std::string args;
    std::string code;
    std::string message;  // as the server (or the cluster's schema) says it
  } cases[] = {
      {"get nosuch r", "NotFound", "no such table: nosuch"},
      {"scan nosuch", "NotFound", "no such table: nosuch"},
      {"count nosuch", "NotFound", "no such table: nosuch"},
      {"dump nosuch", "NotFound", "no such table: nosuch"},
      {"set nosuch r f:x v", "NotFound", "no such table: nosuch"},
      {"erase nosuch r", "NotFound", "no such table: nosuch"},
      {"load nosuch " + Quote(file), "NotFound", "no such table: nosuch"},
      {"describe nosuch", "NotFound", "no such table: nosuch"},
      {"tablets nosuch", "NotFound", "no such table: nosuch"},
      {"drop nosuch", "NotFound", "no such table: nosuch"},
      {"alter nosuch --family x", "NotFound", "no such table: nosuch"},
      {"create src --family f", "AlreadyExists", "table src already exists"},
      {"set src r nofamily:x v", "InvalidArgument", "unknown column family 'nofamily'"},
      {"lock cat /kdi/no/such/node", "NotFound", "no such node: /kdi/no/such/node"},
  };
  for (const Case& tc : cases) {
    r = Sh(k + tc.args);
    std::string cmd = tc.args.substr(0, tc.args.find(' '));
    if (cmd == "lock") cmd = "lock cat";
    EXPECT_EQ(r.code, 1) << tc.args << "\n" << r.err;
    EXPECT_NE(r.err.find("kdicli " + cmd + ": "), std::string::npos) << tc.args << "\n" << r.err;
    EXPECT_NE(r.err.find(tc.code), std::string::npos) << tc.args << "\n" << r.err;
    EXPECT_NE(r.err.find(tc.message), std::string::npos) << tc.args << "\n" << r.err;
    EXPECT_EQ(r.err.find("usage:"), std::string::npos) << tc.args << "\n" << r.err;
    EXPECT_EQ(r.out, "") << tc.args;
  }

  r = Sh("KDICLI local-cluster stop " + Quote(Cluster()));
  ASSERT_EQ(r.code, 0) << r.err;
  started_ = false;
}

TEST_F(LocalClusterTest, BadUsage) {
  for (std::string cmd : {"local-cluster start", "local-cluster stop", "local-cluster status",
                          "local-cluster start a b", "local-cluster start x --tabletd 0"}) {
    Result r = Sh("KDICLI " + cmd);
    EXPECT_EQ(r.code, 2) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("usage: kdicli local-cluster"), std::string::npos) << r.err;
  }
  Result r = Sh("KDICLI local-cluster status " + Quote(dir_.Join("none")));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no local cluster"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kdi
