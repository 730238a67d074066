// Shared fixture of the masterd cluster tests (t/masterd_*_test.cc): a mini
// cluster with an admin MetaClient, fsck polling, lockd tablet-lock reading and
// helpers to write and read rows through the tablets META names.
// Test main thread only.
#ifndef KDI_T_MASTERD_CLUSTER_FIXTURE_H_
#define KDI_T_MASTERD_CLUSTER_FIXTURE_H_

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kdi/scan_predicate.h"

#include "lib/client/meta_client.h"
#include "lib/client/meta_layout.h"
#include "lib/client/tablet_client.h"
#include "lib/rpc/tls.h"
#include "t/mini_cluster.h"
#include "t/test_util.h"

namespace kdi::test {

using meta::TabletInfo;
using meta::TabletState;

inline std::shared_ptr<rpc::TlsContext> ClientTls(const TlsFiles& f) {
  rpc::TlsOptions o;
  o.ca_file = f.ca_file;
  o.cert_file = f.cert_file;
  o.key_file = f.key_file;
  std::shared_ptr<rpc::TlsContext> ctx;
  Status s = rpc::TlsContext::CreateClient(o, &ctx);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return ctx;
}

class MasterdClusterTest : public ::testing::Test {
 protected:
  // Starts lockd, the first `start_tservers` tablet servers (all when < 0) and
  // the first `start_masters` masters (all when < 0; with 0 the test starts
  // them and waits for them itself); master i gets
  // master_extra[i] as extra arguments. Separate data roots when !shared_root.
  void StartCluster(int masters = 2, int tservers = 3, int start_masters = -1,
                    std::map<int, std::vector<std::string>> master_extra = {},
                    int start_tservers = -1, bool shared_root = true) {
    MiniClusterOptions o;
    o.num_masters = masters;
    o.num_tablet_servers = tservers;
    o.shared_data_root = shared_root;
    o.master_args = {"--masterd_reconcile_interval_ms=100"};
    o.tabletd_args = {"--tabletd_keepalive_interval_ms=300"};
    o.start_daemons = false;
    cluster_ = std::make_unique<MiniCluster>(o);
    ASSERT_OK(cluster_->Start());
    ASSERT_OK(cluster_->lockd()->Start());
    ASSERT_OK(cluster_->lockd()->WaitUntilReady());
    if (start_masters < 0) start_masters = masters;
    if (start_tservers < 0) start_tservers = tservers;
    for (int i = 0; i < masters; i++) cluster_->master(i)->SetExtraArgs(master_extra[i]);
    for (int i = 0; i < start_masters; i++) ASSERT_OK(cluster_->master(i)->Start());
    for (int i = 0; i < start_tservers; i++) ASSERT_OK(cluster_->tablet_server(i)->Start());
    for (int i = 0; i < start_masters; i++) ASSERT_OK(cluster_->master(i)->WaitUntilReady());
    for (int i = 0; i < start_tservers; i++) {
      ASSERT_OK(cluster_->tablet_server(i)->WaitUntilReady());
    }
    ASSERT_OK(cluster_->WaitForTabletServers(start_tservers));
    if (start_masters > 0) {
      int active = -1;
      ASSERT_OK(cluster_->WaitForActiveMaster(&active));
    }
    ASSERT_OK(cluster_->OpenLockSession(&session_));
    admin_tls_ = ClientTls(cluster_->AdminTls());
    server_tls_ = ClientTls(cluster_->ServerTls());
    meta::MetaClient::Options mo;
    mo.lock_session = session_.get();
    mo.tls = admin_tls_;
    mo.retry_ms = 20000;
    admin_ = std::make_unique<meta::MetaClient>(mo);
    // The new master must finish its takeover (bootstrap META) before writes
    // (with no master started, the test starts them).
    if (start_masters > 0) ASSERT_OK(WaitForFsck(20000));
  }

  // Reads one row (all cells) through the tablet META names for it now,
  // retrying while tablets move.
  Status ReadRow(const std::string& table, const std::string& row, std::vector<Cell>* cells,
                 int64_t timeout_ms = 10000) {
    int64_t deadline = MonoMs() + timeout_ms;
    Status s;
    for (;;) {
      std::vector<TabletInfo> tablets;
      s = admin_->ListTablets(table, &tablets);
      if (s.ok()) {
        std::vector<meta::TabletMeta> metas;
        for (auto& t : tablets) metas.push_back(t.meta);
        int i = meta::FindTabletForRow(metas, row);
        if (i < 0) return Status::Corruption("no tablet covers row " + row);
        client::TabletClient::Options to;
        to.address = metas[i].server;
        to.tls = admin_tls_;
        client::TabletClient tc(to);
        ScanPredicate p;
        p.SetRow(row);
        auto stream = tc.OpenScan(client::TabletRef{table, metas[i].id}, p);
        cells->clear();
        Cell c;
        while (stream->Next(&c)) cells->push_back(c);
        s = stream->status();
        if (s.ok()) return s;
      }
      if (MonoMs() >= deadline) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // Writes one synced cell to the tablet META names for the row.
  Status WriteCell(const std::string& table, const std::string& row, const std::string& value) {
    std::vector<TabletInfo> tablets;
    RETURN_NOT_OK(admin_->ListTablets(table, &tablets));
    std::vector<meta::TabletMeta> metas;
    for (auto& t : tablets) metas.push_back(t.meta);
    int i = meta::FindTabletForRow(metas, row);
    if (i < 0) return Status::Corruption("no tablet covers row " + row);
    RowMutation m(row);
    m.Set("cf:v", 1, value);
    return WriteRow(metas[i].server, table, metas[i].id, m);
  }

  void TearDown() override {
    admin_.reset();
    if (session_) (void)session_->Close();
    session_.reset();
    cluster_.reset();
  }

  // Polls fsck until it passes; returns the last failure otherwise.
  Status WaitForFsck(int64_t timeout_ms, meta::FsckReply* last = nullptr) {
    int64_t deadline = MonoMs() + timeout_ms;
    meta::FsckReply r;
    Status s;
    for (;;) {
      r = meta::FsckReply();
      s = admin_->Fsck(false, &r);
      if (s.ok() && r.problems == 0) break;
      if (MonoMs() >= deadline) {
        std::string lines;
        for (auto& l : r.lines) lines += "\n  " + l;
        if (last) *last = r;
        return s.ok() ? Status::Aborted("fsck still failing:" + lines) : s;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (last) *last = r;
    return Status::OK();
  }

  // Tablet lock holders according to lockd: "T/ID" -> holder (only locked ones).
  std::map<std::string, std::string> LockHolders(const std::string& table) {
    std::map<std::string, std::string> out;
    std::unique_ptr<lock::LockHandle> dir;
    std::vector<std::string> ids;
    if (!session_->Open("/kdi/tablets/" + table, lock::kRead, 0, &dir).ok()) return out;
    if (!dir->ReadDirectory(&ids).ok()) return out;
    for (const auto& id : ids) {
      std::unique_ptr<lock::LockHandle> h;
      std::string holder;
      lock::NodeStat st;
      if (!session_->Open("/kdi/tablets/" + table + "/" + id, lock::kRead, 0, &h).ok()) continue;
      if (!h->GetContents(&holder, &st).ok()) continue;
      if (st.lock_mode == lock::LockMode::kExclusive) out[id] = holder;
    }
    return out;
  }

  // Apply + Sync on one tablet, retrying while the server is briefly unable
  // (session jeopardy under load).
  Status WriteRow(const std::string& server, const std::string& table, const std::string& id,
                  const RowMutation& m) {
    client::TabletClient::Options to;
    to.address = server;
    to.tls = admin_tls_;
    client::TabletClient tc(to);
    int64_t deadline = MonoMs() + 10000;
    for (;;) {
      Status s = tc.Apply(client::TabletRef{table, id}, {m});
      if (s.ok()) s = tc.Sync(client::TabletRef{table, id});
      if (s.ok() || !s.IsServiceUnavailable() || MonoMs() >= deadline) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // Tablets per server address of a table (from META).
  std::map<std::string, int> TabletsPerServer(const std::string& table) {
    std::map<std::string, int> out;
    std::vector<TabletInfo> tablets;
    if (!admin_->ListTablets(table, &tablets).ok()) return out;
    for (const auto& t : tablets) out[t.meta.server]++;
    return out;
  }


  // Runs kdicli with the cluster's admin config; returns the exit code and
  // collects stdout+stderr.
  int Kdicli(const std::string& args, std::string* output) {
    std::string cmd = BuildDir() + "/kdicli/kdicli -c " + cluster_->client_config_path() + " " +
                      args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return -1;
    output->clear();
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) output->append(buf, n);
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }

  // META's tabletd (from /kdi/root).
  std::string MetaServer() {
    std::unique_ptr<lock::LockHandle> h;
    std::string root;
    if (session_->Open(meta::kRootPath, lock::kRead, 0, &h).ok()) (void)h->GetContents(&root);
    return root;
  }

  Status CreateTable(const std::string& name, const std::vector<std::string>& splits) {
    meta::CreateTableRequest req;
    req.name = name;
    RETURN_NOT_OK(Schema::Parse("cf:versions=3 other", &req.schema));
    req.split_rows = splits;
    return admin_->CreateTable(req);
  }

  std::unique_ptr<MiniCluster> cluster_;
  std::unique_ptr<lock::LockSession> session_;
  std::shared_ptr<rpc::TlsContext> admin_tls_, server_tls_;
  std::unique_ptr<meta::MetaClient> admin_;
};

}  // namespace kdi::test

#endif  // KDI_T_MASTERD_CLUSTER_FIXTURE_H_
