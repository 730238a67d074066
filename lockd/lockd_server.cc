// A running lock service (see lockd_server.h).
#include "lockd/lockd_server.h"

#include <chrono>

#include "lib/rpc/tls.h"
#include "lib/util/log.h"

namespace kdi::lockd {

Status LockdServer::Start(const LockdServerOptions& opts, std::unique_ptr<LockdServer>* out) {
  if (opts.data_dir.empty()) return Status::InvalidArgument("lockd_data_dir is not set");
  std::unique_ptr<LockdServer> s(new LockdServer(opts));
  rpc::TlsOptions tls_opts;
  tls_opts.ca_file = opts.tls_ca_file;
  tls_opts.cert_file = opts.tls_cert_file;
  tls_opts.key_file = opts.tls_key_file;
  std::shared_ptr<rpc::TlsContext> tls;
  RETURN_NOT_OK_PREPEND(rpc::TlsContext::CreateServer(tls_opts, &tls), "lockd TLS setup");

  StoreOptions so;
  so.dir = opts.data_dir;
  RETURN_NOT_OK_PREPEND(LockStore::Open(so, &s->store_), "opening lockd data");
  s->state_ = std::make_unique<LockState>(opts.state, &s->clock_, s->store_.get());
  RETURN_NOT_OK(s->state_->Recover());

  rpc::ServerOptions ro;
  ro.listen_address = opts.listen_address;
  ro.tls = tls;
  ro.worker_threads = opts.worker_threads;
  ro.name = "lockd";
  // Nothing in the lock protocol is near the general 72 MiB frame limit.
  ro.max_body_bytes = 1u << 20;
  s->server_ = std::make_unique<rpc::Server>(ro);
  s->service_ = std::make_unique<LockService>(s->state_.get());
  s->service_->Register(s->server_.get());
  RETURN_NOT_OK_PREPEND(s->server_->Start(), "lockd listening on " + opts.listen_address);
  s->ticker_ = std::thread([p = s.get()] { p->TickerLoop(); });
  KDI_LOG(INFO, "lockd") << "serving on " << s->server_->address() << ", data in "
                         << opts.data_dir << ", lease " << opts.state.lease_ms
                         << " ms, lock-delay " << opts.state.lock_delay_ms << " ms";
  *out = std::move(s);
  return Status::OK();
}

LockdServer::~LockdServer() { Stop(); }

std::string LockdServer::address() const { return server_ ? server_->address() : ""; }

void LockdServer::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_ && !ticker_.joinable() && !server_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  if (server_) {
    server_->Stop();
    server_.reset();
  }
  if (store_) store_->Checkpoint().ok();
  service_.reset();
  state_.reset();
  store_.reset();
}

void LockdServer::TickerLoop() {
  auto last_checkpoint = std::chrono::steady_clock::now();
  bool reported = false;
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    cv_.wait_for(l, std::chrono::milliseconds(opts_.tick_ms));
    if (stopping_) break;
    l.unlock();
    state_->Tick();
    Status s = state_->Flush();
    auto now = std::chrono::steady_clock::now();
    if (s.ok() && now - last_checkpoint > std::chrono::milliseconds(opts_.checkpoint_ms)) {
      s = store_->Checkpoint();
      last_checkpoint = now;
    }
    if (!s.ok() && !reported) {
      reported = true;
      KDI_LOG(ERROR, "lockd") << "stopping: " << s.ToString();
      if (opts_.on_fatal) opts_.on_fatal(s);
    }
    l.lock();
  }
}

}  // namespace kdi::lockd
