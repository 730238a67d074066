// MasterSession: keepAlive loop, split reports and the split monitor. See
// master_session.h.
#include "tabletd/master_session.h"

#include <algorithm>
#include <chrono>
#include <vector>
#include <utility>

#include "lib/client/meta_layout.h"
#include "lib/util/log.h"

namespace kdi::tabletd {

MasterSession::MasterSession(const TabletdConfig& config, Fencing* fencing,
                             TabletRegistry* registry,
                             std::shared_ptr<rpc::TlsContext> client_tls, StatusFn server_status)
    : config_(config),
      fencing_(fencing),
      registry_(registry),
      client_tls_(std::move(client_tls)),
      server_status_(std::move(server_status)) {}

MasterSession::~MasterSession() { Stop(); }

void MasterSession::Start() {
  keepalive_thread_ = std::thread([this] { KeepAliveLoop(); });
  split_thread_ = std::thread([this] { SplitLoop(); });
}

void MasterSession::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (keepalive_thread_.joinable()) keepalive_thread_.join();
  if (split_thread_.joinable()) split_thread_.join();
  master_.reset();
}

bool MasterSession::Sleep(int64_t ms) {
  std::unique_lock<std::mutex> l(mu_);
  return !cv_.wait_for(l, std::chrono::milliseconds(ms), [this] { return stopping_; });
}

void MasterSession::KeepAliveLoop() {
  while (Sleep(config_.keepalive_interval_ms)) {
    if (!fencing_->serving()) continue;
    Tick();
  }
}

Status MasterSession::FindMaster(std::string* address) {
  std::shared_ptr<lock::LockSession> session = fencing_->session();
  if (session == nullptr) return Status::ServiceUnavailable("no lock-service session");
  std::unique_ptr<lock::LockHandle> h;
  RETURN_NOT_OK(session->Open("/kdi/master", lock::kRead, 0, &h));
  std::string contents;
  RETURN_NOT_OK(h->GetContents(&contents));
  while (!contents.empty() && (contents.back() == '\n' || contents.back() == ' ')) {
    contents.pop_back();
  }
  // The master's address is the first word (room for more fields later).
  size_t sp = contents.find(' ');
  if (sp != std::string::npos) contents.resize(sp);
  if (contents.empty()) return Status::NotFound("/kdi/master is empty");
  *address = contents;
  return Status::OK();
}

void MasterSession::Tick() {
  std::string address;
  Status s = FindMaster(&address);
  if (!s.ok()) {
    if (!master_warned_) {
      KDI_LOG(INFO, "master") << "no master yet (" << s.ToString() << "); retrying";
      master_warned_ = true;
    }
    master_.reset();
    return;
  }
  if (master_ == nullptr || address != master_address_) {
    rpc::ChannelOptions co;
    co.address = address;
    co.tls = client_tls_;
    co.default_timeout_ms = std::max<int64_t>(2000, config_.keepalive_interval_ms * 3);
    master_ = std::make_unique<rpc::Channel>(co);
    master_address_ = address;
    KDI_LOG(INFO, "master") << "master is " << address;
  }
  client::ServerStatusInfo status;
  server_status_(&status);
  std::string body, reply;
  client::EncodeServerStatusInfo(status, &body);
  s = master_->Call(client::kMsgKeepAlive, body, &reply);
  if (!s.ok()) {
    if (!master_warned_) {
      KDI_LOG(WARN, "master") << "keepAlive to " << address << " failed: " << s.ToString();
      master_warned_ = true;
    }
    if (s.IsNetworkError() || s.IsTimedOut()) master_.reset();
  } else {
    master_warned_ = false;
    client::KeepAliveReply ka;
    Status d = client::DecodeKeepAliveReply(reply, &ka);
    if (!d.ok()) {
      KDI_LOG(WARN, "master") << "bad keepAlive reply from " << address << ": " << d.ToString();
    }
    for (const client::MasterOrder& o : ka.orders) {
      KDI_LOG(DEBUG, "master") << "ignoring master order of type " << o.type;
    }
  }
  // Pending splits: report each until the master accepts it, then commit.
  for (const client::SplitInfo& split : status.pending_splits) {
    if (master_ == nullptr) break;
    std::string sbody, sreply;
    client::EncodeSplitInfo(split, &sbody);
    Status r = master_->Call(client::kMsgSplitReport, sbody, &sreply);
    if (!r.ok()) {
      KDI_LOG(WARN, "master") << "split report of " << split.parent.tablet.ToString()
                              << " not accepted yet: " << r.ToString();
      continue;
    }
    Status c = registry_->CommitSplit(split.parent.tablet, nullptr);
    if (!c.ok()) {
      KDI_LOG(ERROR, "master") << "committing the split of " << split.parent.tablet.ToString()
                               << " after the master recorded it: " << c.ToString();
    }
  }
}

void MasterSession::SplitLoop() {
  while (Sleep(config_.split_check_interval_ms)) {
    if (!fencing_->serving()) continue;
    if (config_.reopen_failed_tablets) registry_->ReopenFailedTablets();
    CheckSplits();
  }
}

void MasterSession::CheckSplits() {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  std::vector<client::TabletRef> serving = registry_->ListServing();
  for (auto it = last_compact_ms_.begin(); it != last_compact_ms_.end();) {
    bool still = std::find(serving.begin(), serving.end(), it->first) != serving.end();
    it = still ? std::next(it) : last_compact_ms_.erase(it);
  }
  for (const client::TabletRef& ref : serving) {
    uint64_t size = 0;
    {
      TabletUse use;
      if (!registry_->Acquire(ref, false, &use).ok()) continue;
      auto [last, fresh] = last_compact_ms_.emplace(ref, now);
      if (config_.compact_interval_ms > 0 && !fresh &&
          now - last->second >= config_.compact_interval_ms) {
        last->second = now;
        storage::CompactStats stats;
        Status c = use.tablet()->Compact(&stats);
        if (!c.ok()) {
          KDI_LOG(WARN, "compact") << ref.ToString() << ": " << c.ToString();
        } else if (stats.cells_removed > 0) {
          KDI_LOG(INFO, "compact") << ref.ToString() << ": removed " << stats.cells_removed
                                   << " of " << stats.cells_examined << " cells";
        }
      }
      if (!use.tablet()->ApproximateSize(&size).ok()) continue;
      use.served()->size_bytes = size;
    }
    if (size < config_.split_size_bytes) continue;
    // META has exactly one tablet in this version (doc/architecture.md): the
    // master and every client find it through /kdi/root, so it never splits.
    if (ref.table == meta::kMetaTableName) continue;
    client::SplitTabletRequest req;
    req.tablet = ref;
    Status s = registry_->Split(req, nullptr);
    if (s.ok()) {
      KDI_LOG(INFO, "split") << ref.ToString() << " passed " << config_.split_size_bytes
                             << " bytes (" << size << "): split, reporting to the master";
    } else if (!s.IsInvalidArgument()) {
      KDI_LOG(WARN, "split") << "automatic split of " << ref.ToString()
                             << " failed: " << s.ToString();
    }
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return;
  }
}

}  // namespace kdi::tabletd
