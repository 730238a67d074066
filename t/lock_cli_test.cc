// Tests of `kdicli lock ls|cat|stat|put|rm|sessions` (kdicli/cmd_lock.cc): the
// real kdicli binary against the real lockd (t/mini_cluster.h), checking
// output and exit codes.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "kdi/lock_client.h"
#include "t/mini_cluster.h"
#include "t/test_util.h"

namespace kdi::lock {
namespace {

struct Result {
  int code = -1;
  std::string output;  // stdout and stderr
};

class LockCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::MiniClusterOptions o;
    o.num_masters = 0;
    o.num_tablet_servers = 0;
    o.lease_ms = 3000;
    cluster_ = std::make_unique<test::MiniCluster>(o);
    ASSERT_OK(cluster_->Start());
    client_conf_ = cluster_->root() + "/client-role.conf";
    test::TlsFiles t = cluster_->ClientTls();
    std::ofstream conf(client_conf_);
    conf << "[global]\nlockd_address = " << cluster_->lockd_address()
         << "\ntls_ca_file = " << t.ca_file << "\ntls_cert_file = " << t.cert_file
         << "\ntls_key_file = " << t.key_file << "\n";
  }

  // Runs kdicli with the admin configuration (or conf) and the given arguments.
  Result Kdicli(const std::string& args, const std::string& conf = "") {
    std::string cmd = test::BuildDir() + "/kdicli/kdicli --config " +
                      (conf.empty() ? cluster_->client_config_path() : conf) + " " + args +
                      " 2>&1";
    Result r;
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
    int st = pclose(p);
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
  }

  std::unique_ptr<test::MiniCluster> cluster_;
  std::string client_conf_;
};

TEST_F(LockCliTest, PutCatStatLsRm) {
  Result r = Kdicli("lock put /app/dir/x hello");
  ASSERT_EQ(0, r.code) << r.output;
  EXPECT_EQ("content_generation: 1\n", r.output);
  r = Kdicli("lock cat /app/dir/x");
  EXPECT_EQ(0, r.code);
  EXPECT_EQ("hello", r.output);
  r = Kdicli("lock stat /app/dir/x");
  EXPECT_EQ(0, r.code);
  EXPECT_NE(std::string::npos, r.output.find("content_generation: 1\n")) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("length: 5\n")) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("ephemeral: no\n")) << r.output;
  r = Kdicli("lock ls /app");
  EXPECT_EQ(0, r.code);
  EXPECT_EQ("dir\n", r.output);
  r = Kdicli("lock ls -l /app/dir");
  EXPECT_EQ(0, r.code);
  EXPECT_NE(std::string::npos, r.output.find(" x\n")) << r.output;

  r = Kdicli("lock put --cas 0 /app/dir/x stale");
  EXPECT_EQ(1, r.code);
  EXPECT_NE(std::string::npos, r.output.find("Conflict")) << r.output;
  r = Kdicli("lock put --cas 1 /app/dir/x fresh");
  EXPECT_EQ(0, r.code) << r.output;
  EXPECT_EQ("fresh", Kdicli("lock cat /app/dir/x").output);

  r = Kdicli("lock rm /app/dir");
  EXPECT_EQ(1, r.code);
  EXPECT_NE(std::string::npos, r.output.find("not empty")) << r.output;
  EXPECT_EQ(0, Kdicli("lock rm /app/dir/x").code);
  EXPECT_EQ(0, Kdicli("lock rm /app/dir").code);
  r = Kdicli("lock cat /app/dir/x");
  EXPECT_EQ(1, r.code);
  EXPECT_NE(std::string::npos, r.output.find("NotFound")) << r.output;
}

TEST_F(LockCliTest, BadArgumentsAndRoles) {
  Result r = Kdicli("lock ls relative/path");
  EXPECT_EQ(1, r.code);
  EXPECT_NE(std::string::npos, r.output.find("not absolute")) << r.output;
  r = Kdicli("lock put /only-path");
  EXPECT_EQ(2, r.code) << r.output;
  r = Kdicli("lock put /kdi/master 127.0.0.1:1", client_conf_);
  EXPECT_EQ(1, r.code);
  EXPECT_NE(std::string::npos, r.output.find("PermissionDenied")) << r.output;
  r = Kdicli("lock sessions", client_conf_);
  EXPECT_EQ(1, r.code);
  EXPECT_NE(std::string::npos, r.output.find("PermissionDenied")) << r.output;
  EXPECT_EQ(0, Kdicli("lock put /app/ok yes", client_conf_).code);
}

TEST_F(LockCliTest, SessionsShowsHoldersAndLocks) {
  std::unique_ptr<LockSession> s;
  ASSERT_OK(cluster_->OpenLockSession(&s));
  std::unique_ptr<LockHandle> h;
  ASSERT_OK(s->Open("/kdi/master", kCreate | kLock, 0, &h));
  ASSERT_OK(h->Lock(LockMode::kExclusive, 1000));
  Result r = Kdicli("lock sessions");
  ASSERT_EQ(0, r.code) << r.output;
  EXPECT_NE(std::string::npos, r.output.find(std::to_string(s->session_id()))) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("test-admin\tadmin")) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("EXCLUSIVE /kdi/master")) << r.output;
  r = Kdicli("lock stat /kdi/master");
  EXPECT_NE(std::string::npos, r.output.find("lock: EXCLUSIVE (1 holders)")) << r.output;
  EXPECT_OK(s->Close());
}

}  // namespace
}  // namespace kdi::lock
