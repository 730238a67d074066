// TabletServer: wiring and lifecycle of one tabletd. See tablet_server.h.
#include "tabletd/tablet_server.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

#include "lib/storage/tablet.h"
#include "lib/util/log.h"

namespace kdi::tabletd {
namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t ReadRss() {
  FILE* f = fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  int n = fscanf(f, "%llu %llu", &size, &resident);
  fclose(f);
  if (n != 2) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

Status EnsureDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoToStatus(path, errno);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ErrnoToStatus(path, errno);
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(path + " is not a directory");
  return Status::OK();
}

// The bound address, unless it is a wildcard: then this host's name.
std::string AdvertisedAddress(const std::string& bound) {
  size_t colon = bound.rfind(':');
  std::string host = bound.substr(0, colon);
  if (host == "0.0.0.0" || host == "[::]" || host == "::") {
    char name[256] = {0};
    if (gethostname(name, sizeof(name) - 1) == 0) return std::string(name) + bound.substr(colon);
  }
  return bound;
}

}  // namespace

TabletServer::TabletServer(const TabletdConfig& config)
    : config_(config), start_time_us_(NowMicros()) {}

TabletServer::~TabletServer() { Stop(); }

Status TabletServer::Start(const TabletdConfig& config, std::unique_ptr<TabletServer>* out) {
  std::unique_ptr<TabletServer> s(new TabletServer(config));
  Status st = s->StartInternal();
  if (!st.ok()) {
    s->Stop();
    return st;
  }
  *out = std::move(s);
  return Status::OK();
}

Status TabletServer::StartInternal() {
  if (config_.data_root.empty()) {
    return Status::InvalidArgument("no data root: set tabletd_data_dir (--data DIR)");
  }
  struct stat st;
  if (stat(config_.data_root.c_str(), &st) != 0) {
    return ErrnoToStatus("data root " + config_.data_root, errno);
  }
  RETURN_NOT_OK(EnsureDir(config_.data_root + "/tables"));
  if (!config_.fault_file.empty()) {
    // Before any tablet opens: Berkeley DB's I/O hooks are process-wide.
    faults_ = std::make_unique<FaultControl>(config_.fault_file);
    faults_->Start();
  }
  if (!config_.shared_data) {
    // Interrupted splits leave "*.splitting" directories; with a shared root
    // they may belong to another live server, so only a private root is swept.
    DIR* d = opendir((config_.data_root + "/tables").c_str());
    if (d != nullptr) {
      std::vector<std::string> tables;
      while (dirent* e = readdir(d)) {
        std::string name = e->d_name;
        if (name != "." && name != "..") tables.push_back(name);
      }
      closedir(d);
      for (const std::string& t : tables) {
        Status c = storage::Tablet::CleanupIncompleteSplits(config_.data_root + "/tables/" + t);
        if (!c.ok()) {
          KDI_LOG(WARN, "tabletd") << "cleaning up splits of " << t << ": " << c.ToString();
        }
      }
    }
  }

  rpc::TlsOptions to;
  to.ca_file = config_.tls_ca_file;
  to.cert_file = config_.tls_cert_file;
  to.key_file = config_.tls_key_file;
  RETURN_NOT_OK_PREPEND(rpc::TlsContext::CreateServer(to, &server_tls_), "TLS server context");
  RETURN_NOT_OK_PREPEND(rpc::TlsContext::CreateClient(to, &client_tls_), "TLS client context");

  fencing_ = std::make_unique<Fencing>(config_, start_time_us_,
                                       [this] { registry_->DropAll(); });
  registry_ = std::make_unique<TabletRegistry>(config_, fencing_.get());
  table_service_ = std::make_unique<TableService>(config_, registry_.get(), &counters_);
  migration_ = std::make_unique<MigrationService>(config_, registry_.get(), fencing_.get(),
                                                  client_tls_);
  admin_service_ = std::make_unique<AdminService>(
      config_, registry_.get(), migration_.get(), client_tls_,
      [this](client::ServerStatusInfo* out) { BuildStatus(out); });

  rpc::ServerOptions so;
  so.listen_address = config_.listen_address;
  so.tls = server_tls_;
  so.worker_threads = config_.worker_threads;
  so.name = "tabletd";
  // Frames must hold a value of the configured maximum plus its keys.
  if (config_.max_value_bytes + (1u << 20) > so.max_body_bytes) {
    so.max_body_bytes = static_cast<uint32_t>(
        std::min<uint64_t>(config_.max_value_bytes + (1u << 20), 0xffffffffu));
  }
  rpc_ = std::make_unique<rpc::Server>(so);
  table_service_->Register(rpc_.get());
  admin_service_->Register(rpc_.get());
  migration_->Register(rpc_.get());
  RETURN_NOT_OK_PREPEND(rpc_->Start(), "listening on " + config_.listen_address);

  address_ = config_.advertise_address.empty() ? AdvertisedAddress(rpc_->address())
                                               : config_.advertise_address;
  fencing_->SetAddress(address_);
  RETURN_NOT_OK(fencing_->Start());

  master_session_ = std::make_unique<MasterSession>(
      config_, fencing_.get(), registry_.get(), client_tls_,
      [this](client::ServerStatusInfo* out) { BuildStatus(out); });
  master_session_->Start();
  orphans_ = std::make_unique<OrphanCollector>(config_, fencing_.get(), registry_.get());
  orphans_->Start();
  KDI_LOG(INFO, "tabletd") << "serving as " << address_ << " (data root " << config_.data_root
                           << (config_.shared_data ? ", shared" : ", local") << ")";
  return Status::OK();
}

void TabletServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (orphans_) orphans_->Stop();
  if (master_session_) master_session_->Stop();
  if (rpc_) rpc_->Stop();
  if (registry_) registry_->UnloadAll();
  if (fencing_) fencing_->Stop();
  if (faults_) faults_->Stop();
  KDI_LOG(INFO, "tabletd") << "stopped";
}

void TabletServer::BuildStatus(client::ServerStatusInfo* out) {
  out->address = address_;
  out->start_time_us = start_time_us_;
  out->data_root = config_.data_root;
  out->shared_data = config_.shared_data;
  out->session_state = fencing_->StateName();
  out->serving = fencing_->serving();
  out->rss_bytes = ReadRss();
  out->cache_bytes = config_.cache_bytes;
  registry_->Snapshot(&out->tablets, &out->pending_splits);
  std::lock_guard<std::mutex> l(rate_mu_);
  const int64_t now = NowMicros();
  const uint64_t applies = counters_.applies.load();
  const uint64_t scans = counters_.scans.load();
  if (rate_time_us_ == 0) {
    rate_time_us_ = start_time_us_;
  }
  const int64_t dt = now - rate_time_us_;
  if (dt >= 1000000) {
    applies_per_sec_ = (applies - rate_applies_) * 1000000 / static_cast<uint64_t>(dt);
    scans_per_sec_ = (scans - rate_scans_) * 1000000 / static_cast<uint64_t>(dt);
    rate_time_us_ = now;
    rate_applies_ = applies;
    rate_scans_ = scans;
  }
  out->applies_per_sec = applies_per_sec_;
  out->scans_per_sec = scans_per_sec_;
}

}  // namespace kdi::tabletd
