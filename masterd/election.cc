// Master election, takeover and the META bootstrap; see master.h.
#include <chrono>

#include "lib/client/meta_layout.h"
#include "lib/util/log.h"
#include "masterd/fault_points.h"
#include "masterd/master.h"

namespace kdi::masterd {

Master::Master(MasterOptions opts) : opts_(std::move(opts)), meta_(opts_.client_tls) {
  meta_.SetFence([this] { return Fence(); });  // called under op_mu_
}

Master::~Master() { Stop(); }

void Master::Start() { election_thread_ = std::thread([this] { ElectionLoop(); }); }

void Master::Stop() {
  stop_.store(true);
  acting_.store(false);
  Kick();
  if (election_thread_.joinable()) election_thread_.join();
}

void Master::Kick() {
  std::lock_guard<std::mutex> l(wake_mu_);
  kicked_ = true;
  wake_cv_.notify_all();
}

Status Master::CheckActing() const {
  if (acting_.load()) return Status::OK();
  std::lock_guard<std::mutex> l(info_mu_);
  return Status::ServiceUnavailable(
      "masterd " + opts_.address + " is not the active master" +
      (active_master_.empty() || active_master_ == opts_.address
           ? std::string(" (yet)")
           : "; the active master is " + active_master_));
}

void Master::OnLockEvent(const lock::Event& e) {
  switch (e.type) {
    case lock::kSessionJeopardy:
      if (acting_.exchange(false)) {
        KDI_LOG(WARN, "masterd") << "lock-service session in jeopardy: stop acting";
      }
      break;
    case lock::kSessionSafe:
      KDI_LOG(INFO, "masterd") << "lock-service session safe again";
      Kick();
      break;
    case lock::kSessionExpired:
      KDI_LOG(WARN, "masterd") << "lock-service session expired: this term is over";
      acting_.store(false);
      term_lost_.store(true);
      Kick();
      break;
    default:
      break;
  }
}

void Master::ElectionLoop() {
  while (!stop_.load()) {
    Status s = Campaign();
    if (stop_.load()) break;
    if (!s.ok()) KDI_LOG(WARN, "masterd") << "election: " << s.ToString();
    std::unique_lock<std::mutex> l(wake_mu_);
    wake_cv_.wait_for(l, std::chrono::milliseconds(500), [this] { return stop_.load(); });
  }
}

Status Master::Campaign() {
  term_lost_.store(false);
  lock::LockSessionOptions so;
  so.service = opts_.lockd_address;
  so.tls_ca_file = opts_.tls_ca_file;
  so.tls_cert_file = opts_.tls_cert_file;
  so.tls_key_file = opts_.tls_key_file;
  so.on_event = [this](const lock::Event& e) { OnLockEvent(e); };
  std::unique_ptr<lock::LockSession> session;
  RETURN_NOT_OK_PREPEND(lock::OpenLockSession(so, &session),
                        "opening a lock-service session at " + opts_.lockd_address);
  std::unique_ptr<lock::LockHandle> h;
  RETURN_NOT_OK_PREPEND(session->Open(meta::kMasterLockPath,
                                      lock::kRead | lock::kWrite | lock::kLock | lock::kCreate,
                                      0, &h),
                        "opening /kdi/master");
  KDI_LOG(INFO, "masterd") << "standby: waiting for the lock on /kdi/master";
  for (;;) {
    if (stop_.load() || term_lost_.load()) {
      h.reset();
      (void)session->Close();
      return Status::Aborted("stopped while waiting for /kdi/master");
    }
    std::string cur;
    if (h->GetContents(&cur).ok()) {
      std::lock_guard<std::mutex> l(info_mu_);
      active_master_ = cur;
    }
    Status ls = h->Lock(lock::LockMode::kExclusive, 1000);
    if (ls.ok()) break;
    if (!ls.IsTimedOut()) {
      (void)session->Close();
      return ls.CloneAndPrepend("locking /kdi/master");
    }
  }
  std::string sequencer;
  Status s = h->GetSequencer(&sequencer);
  if (s.ok()) s = h->SetContents(opts_.address);
  if (!s.ok()) {
    (void)session->Close();
    return s.CloneAndPrepend("writing /kdi/master");
  }
  {
    std::lock_guard<std::mutex> l(info_mu_);
    active_master_ = opts_.address;
  }
  KDI_LOG(INFO, "masterd") << "elected: this masterd (" << opts_.address
                           << ") is the active master";
  {
    std::lock_guard<std::mutex> l(op_mu_);
    session_ = std::move(session);
    master_lock_ = std::move(h);
    master_sequencer_ = sequencer;
  }
  ControlLoop();
  acting_.store(false);
  std::lock_guard<std::mutex> l(op_mu_);
  master_lock_.reset();
  master_sequencer_.clear();
  if (stop_.load() && !term_lost_.load()) {
    (void)session_->Close();  // releases /kdi/master at once for a standby
  }
  session_.reset();
  meta_.SetMetaServer("");
  tservers_.clear();
  servers_.Clear();
  KDI_LOG(INFO, "masterd") << "term over";
  return Status::OK();
}

Status Master::Fence() {
  Status s;
  if (term_lost_.load() || session_ == nullptr) {
    s = Status::ServiceUnavailable("this master's term is over");
  } else if (session_->state() != lock::SessionState::kSafe) {
    s = Status::ServiceUnavailable("this master's lock-service session is not safe");
  } else {
    Status c = session_->CheckSequencer(master_sequencer_);
    if (c.ok()) return c;
    s = Status::ServiceUnavailable("/kdi/master sequencer check failed: " + c.ToString());
    if (c.IsConflict() || c.IsNotFound()) {
      term_lost_.store(true);  // the lock is someone else's now: end the term
      Kick();
    }
  }
  acting_.store(false);
  KDI_LOG(WARN, "masterd") << "fenced: not writing META or ordering tabletds: " << s.message();
  return s.CloneAndPrepend("fenced");
}

Status Master::ReadNode(const std::string& path, std::string* contents, bool* exists) {
  std::unique_ptr<lock::LockHandle> h;
  Status s = session_->Open(path, lock::kRead, 0, &h);
  if (s.IsNotFound()) {
    *exists = false;
    contents->clear();
    return Status::OK();
  }
  RETURN_NOT_OK_PREPEND(s, "opening " + path);
  *exists = true;
  return h->GetContents(contents).CloneAndPrepend("reading " + path);
}

Status Master::WriteNode(const std::string& path, const std::string& contents) {
  std::unique_ptr<lock::LockHandle> h;
  RETURN_NOT_OK_PREPEND(session_->Open(path, lock::kRead | lock::kWrite | lock::kCreate, 0, &h,
                                       nullptr, contents),
                        "opening " + path);
  return h->SetContents(contents).CloneAndPrepend("writing " + path);
}

Status Master::TakeOver() {
  RETURN_NOT_OK(servers_.Refresh(session_.get()));
  meta_.SetMetaServer("");
  RETURN_NOT_OK(EnsureMetaServed());
  KDI_LOG(INFO, "masterd") << "view rebuilt: META at " << meta_.meta_server() << " has "
                           << meta_.rows().size() << " tablet rows, "
                           << servers_.LiveServers().size() << " live tablet servers";
  return Status::OK();
}

Status Master::EnsureMetaServed() {
  std::string root;
  bool exists = false;
  RETURN_NOT_OK(ReadNode(meta::kRootPath, &root, &exists));
  std::string target;
  if (!root.empty() && servers_.IsLive(root)) {
    meta_.SetMetaServer(root);
    if (meta_.loaded()) return Status::OK();
    Status s = meta_.Load();
    if (s.ok()) return s;
    if (!s.IsNotServing()) return s;
    target = root;  // alive but not serving META (e.g. restarted): load it there
  } else {
    // Whoever holds META's tablet lock and is alive serves it (e.g. a master
    // died after loading META and before writing /kdi/root).
    std::string holder;
    bool lock_exists = false;
    RETURN_NOT_OK(ReadNode(meta::TabletLockPath(meta::kMetaTableName, meta::kMetaTabletId),
                           &holder, &lock_exists));
    if (!holder.empty() && servers_.IsLive(holder)) {
      target = holder;
    } else if (!root.empty() && !servers_.IsShared(root)) {
      return Status::ServiceUnavailable("META's server " + root +
                                        " is down and its data is local to it; waiting for it");
    } else {
      target = PickServer();
    }
    if (target.empty()) return Status::ServiceUnavailable("no live tablet server to serve META");
  }
  client::LoadTabletRequest r;
  r.desc.tablet = client::TabletRef{meta::kMetaTableName, meta::kMetaTabletId};
  r.desc.dir = meta::TabletDir(meta::kMetaTableName, meta::kMetaTabletId);
  r.schema = meta::MetaSchema();
  r.create_if_missing = root.empty();
  KDI_LOG(INFO, "masterd") << (root.empty() ? "bootstrap: creating" : "loading") << " META on "
                           << target;
  RETURN_NOT_OK(Fence());
  RETURN_NOT_OK_PREPEND(Tserver(target)->LoadTablet(r), "loading META on " + target);
  if (root.empty()) MASTERD_FAULT("bootstrap-after-load");
  if (root != target) {
    RETURN_NOT_OK(Fence());
    RETURN_NOT_OK(WriteNode(meta::kRootPath, target));
  }
  meta_.SetMetaServer(target);
  return meta_.Load();
}

client::TabletClient* Master::Tserver(const std::string& address) {
  auto& c = tservers_[address];
  if (c == nullptr) {
    client::TabletClient::Options o;
    o.address = address;
    o.tls = opts_.client_tls;
    o.timeout_ms = opts_.load_timeout_ms;
    c = std::make_unique<client::TabletClient>(o);
  }
  return c.get();
}

}  // namespace kdi::masterd
