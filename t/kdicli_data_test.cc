// Tests of kdicli's data commands (set, get, erase, scan, count, load, dump)
// against local: tables, by running the built kdicli binary: outputs, exit
// codes, usage errors, and the exact dump | load round trip of binary data.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kdi/table.h"
#include "t/test_util.h"

namespace kdi {
namespace {

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q.push_back(c);
    }
  }
  return q + "'";
}

class KdicliDataTest : public ::testing::Test {
 protected:
  std::string Kdicli() const { return test::BuildDir() + "/kdicli/kdicli"; }
  std::string Uri(const std::string& name) const { return "local:" + dir_.Join(name); }

  // Runs a shell command line; "KDICLI" in it is replaced by the binary.
  Result Sh(std::string cmd, const std::string& stdin_text = "") {
    for (size_t p; (p = cmd.find("KDICLI")) != std::string::npos;) {
      cmd.replace(p, 6, Quote(Kdicli()));
    }
    std::string in = dir_.Join("stdin"), out = dir_.Join("stdout"), err = dir_.Join("stderr");
    {
      std::ofstream f(in, std::ios::binary);
      f << stdin_text;
    }
    std::string full = "env -u KDI_CONF sh -c " + Quote(cmd) + " <" + Quote(in) + " >" +
                       Quote(out) + " 2>" + Quote(err);
    Result r;
    int st = system(full.c_str());
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = ReadFile(out);
    r.err = ReadFile(err);
    return r;
  }
  Result Run(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    std::string cmd = "KDICLI";
    for (const auto& a : args) cmd += " " + Quote(a);
    return Sh(cmd, stdin_text);
  }

  std::vector<Cell> ReadAll(const std::string& name) {
    std::unique_ptr<Table> t;
    EXPECT_OK(Table::Open(Uri(name), &t));
    std::unique_ptr<CellStream> s;
    EXPECT_OK(t->Scan(ScanPredicate(), &s));
    std::vector<Cell> cells;
    for (Cell c; s->Next(&c);) cells.push_back(c);
    EXPECT_OK(s->status());
    return cells;
  }

  test::TempDir dir_;
};

std::string AllBytes() {
  std::string s;
  for (int i = 0; i < 256; i++) s.push_back(static_cast<char>(i));
  return s;
}

TEST_F(KdicliDataTest, SetGetScanCountErase) {
  std::string t = Uri("a");
  ASSERT_EQ(Run({"set", t, "r1", "f:x", "one", "--time", "10"}).code, 0);
  ASSERT_EQ(Run({"set", t, "r1", "f:x", "two", "--time", "20"}).code, 0);
  ASSERT_EQ(Run({"set", t, "r2", "f:y", "tab\there", "--time", "@30"}).code, 0);
  ASSERT_EQ(Run({"set", t, "r3", "f:z", "iso", "--time", "1970-01-01T00:00:01Z"}).code, 0);

  Result r = Run({"get", t, "r1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "r1\tf:x\t20\ttwo\n");
  r = Run({"get", t, "r1", "--versions", "0"});
  EXPECT_EQ(r.out, "r1\tf:x\t20\ttwo\nr1\tf:x\t10\tone\n");
  r = Run({"get", t, "r2", "f:y", "--format", "json"});
  EXPECT_EQ(r.out, "{\"column\":\"f:y\",\"row\":\"r2\",\"time\":30,\"value\":\"tab\\there\"}\n");
  r = Run({"get", t, "nosuchrow"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("NotFound"), std::string::npos) << r.err;

  r = Run({"scan", t});
  EXPECT_EQ(r.out,
            "r1\tf:x\t20\ttwo\nr1\tf:x\t10\tone\nr2\tf:y\t30\ttab\\there\nr3\tf:z\t1000000\tiso\n");
  r = Run({"scan", t, "row >= \"r2\""});
  EXPECT_EQ(r.out, "r2\tf:y\t30\ttab\\there\nr3\tf:z\t1000000\tiso\n");
  r = Run({"scan", t, "--limit", "1", "--format", "text"});
  EXPECT_EQ(r.out, "r1  f:x  1970-01-01T00:00:00.000020Z  two\n");
  r = Run({"count", t, "history = 1"});
  EXPECT_EQ(r.out, "3\n");

  ASSERT_EQ(Run({"erase", t, "r1", "f:x", "--time", "20"}).code, 0);
  EXPECT_EQ(Run({"get", t, "r1"}).out, "r1\tf:x\t10\tone\n");
  ASSERT_EQ(Run({"erase", t, "r2", "f:y"}).code, 0);
  ASSERT_EQ(Run({"erase", t, "r3"}).code, 0);
  EXPECT_EQ(Run({"count", t}).out, "1\n");
}

TEST_F(KdicliDataTest, DumpLoadRoundTripsBinaryDataExactly) {
  std::vector<Cell> want;
  {
    std::unique_ptr<Table> t;
    ASSERT_OK(Table::Open(Uri("src"), &t));
    std::string all = AllBytes();
    for (int i = 0; i < 256; i++) {
      std::string row = std::string(1, static_cast<char>(i)) + "\t\n\r\\row" + all.substr(i);
      if (i == 0) row = "{" + row;  // a row that starts like JSON
      ASSERT_OK(t->Set(row, "fam:" + all.substr(255 - i), -i * 1000003LL, all + row));
      ASSERT_OK(t->Set(row, "fam:utf8", i, "caf\xc3\xa9 \xe2\x82\xac"));
    }
    ASSERT_OK(t->Set("empty-value", "fam:", 1, ""));
    ASSERT_OK(t->Close());
  }
  want = ReadAll("src");
  ASSERT_EQ(want.size(), 513u);

  Result r = Sh("KDICLI dump " + Quote(Uri("src")) + " | KDICLI load " + Quote(Uri("tsv")));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("loaded 513 cells"), std::string::npos) << r.err;
  EXPECT_EQ(ReadAll("tsv"), want);

  r = Sh("KDICLI dump --format json " + Quote(Uri("src")) + " > " + Quote(dir_.Join("d.json")) +
         " && KDICLI load " + Quote(Uri("json")) + " " + Quote(dir_.Join("d.json")));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadAll("json"), want);

  // A predicate limits what is dumped.
  r = Run({"dump", Uri("src"), "column = \"fam:utf8\""});
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 256);
}

TEST_F(KdicliDataTest, LoadStopsAtBadLineKeepingWhatCameBefore) {
  std::string file = dir_.Join("in.tsv");
  {
    std::ofstream f(file);
    f << "a\tf:x\t1\tv1\n"
      << "{\"row\":\"b\",\"column\":\"f:x\",\"time\":2,\"value\":\"v2\"}\n"
      << "\n"
      << "c\tf:x\t3\tv3\n"
      << "d\tf:x\tnot-a-time\tv4\n"
      << "e\tf:x\t5\tv5\n";
  }
  Result r = Run({"load", Uri("t"), file, "--batch_cells", "2"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(file + ":5:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("time"), std::string::npos) << r.err;
  std::vector<Cell> cells = ReadAll("t");
  ASSERT_EQ(cells.size(), 3u);
  EXPECT_EQ(cells[2].row, "c");

  r = Run({"load", Uri("t2"), dir_.Join("missing.tsv")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("missing.tsv"), std::string::npos) << r.err;
}

TEST_F(KdicliDataTest, BadUsageExitsTwoWithUsage) {
  std::string t = Uri("u");
  std::vector<std::vector<std::string>> bad = {
      {"set"},
      {"set", t, "r", "c"},
      {"set", t, "r", "c", "v", "extra"},
      {"set", t, "r", "c", "v", "--time", "yesterday"},
      {"set", t, "", "c", "v"},
      {"get", t},
      {"get", t, "r", "c", "x"},
      {"get", t, "r", "--format", "xml"},
      {"erase", t},
      {"erase", t, "r", "--time", "5"},
      {"scan"},
      {"scan", t, "row = "},
      {"scan", t, "--limit", "-1"},
      {"count"},
      {"count", t, "bogus predicate"},
      {"load"},
      {"load", t, "a", "b"},
      {"dump"},
      {"dump", t, "--format", "text"},
      {"scan", t, "--no-such-flag"},
  };
  for (const auto& args : bad) {
    Result r = Run(args);
    std::string what;
    for (const auto& a : args) what += a + " ";
    EXPECT_EQ(r.code, 2) << what << "\n" << r.err;
    EXPECT_NE(r.err.find("usage: kdicli " + args[0]), std::string::npos) << what << "\n" << r.err;
  }
  for (const char* cmd : {"set", "get", "erase", "scan", "count", "load", "dump"}) {
    Result r = Run({cmd, "--help"});
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_NE(r.out.find(std::string("kdicli ") + cmd), std::string::npos) << r.out;
  }
}

TEST_F(KdicliDataTest, TableErrorsExitOne) {
  // A bare table name with no cluster configured: a configuration problem.
  Result r = Run({"scan", "webtable"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("lockd_address"), std::string::npos) << r.err;
  // A kdi:// table whose lockd does not answer fails with the reason.
  r = Run({"count", "kdi://127.0.0.1:1/t?timeout_ms=300&rpc_timeout_ms=100&tls_ca_file=/nonexistent"
                    "&tls_cert_file=/nonexistent&tls_key_file=/nonexistent"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("kdicli count:"), std::string::npos) << r.err;
  r = Run({"scan", "bogus:uri"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown table URI"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kdi
