// Fencing: registration in the lock service and the serving flag. See fencing.h.
#include "tabletd/fencing.h"

#include <chrono>
#include <utility>

#include "lib/util/log.h"

namespace kdi::tabletd {
namespace {

int64_t MonoMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Fencing::Fencing(const TabletdConfig& config, int64_t start_time_us,
                 std::function<void()> on_expired)
    : config_(config),
      start_time_us_(start_time_us),
      on_expired_(std::move(on_expired)) {}

Fencing::~Fencing() { Stop(); }

std::shared_ptr<lock::LockSession> Fencing::session() const {
  std::lock_guard<std::mutex> l(mu_);
  return session_;
}

std::string Fencing::StateName() const {
  std::lock_guard<std::mutex> l(mu_);
  return state_;
}

Status Fencing::Start() {
  if (config_.lockd_address.empty()) {
    return Status::InvalidArgument(
        "no lock service: set lockd_address (--lockd HOST:PORT); a tabletd never serves "
        "without its server lock");
  }
  RETURN_NOT_OK(Register(config_.register_timeout_ms));
  recovery_thread_ = std::thread([this] { RecoveryLoop(); });
  return Status::OK();
}

Status Fencing::Register(int64_t timeout_ms) {
  const uint64_t gen = generation_.load() + 1;
  lock::LockSessionOptions so;
  so.service = config_.lockd_address;
  so.tls_ca_file = config_.tls_ca_file;
  so.tls_cert_file = config_.tls_cert_file;
  so.tls_key_file = config_.tls_key_file;
  so.on_event = [this, gen](const lock::Event& e) { OnEvent(gen, e); };
  std::unique_ptr<lock::LockSession> session;
  RETURN_NOT_OK_PREPEND(lock::OpenLockSession(so, &session),
                        "opening a lock-service session with " + config_.lockd_address);

  const std::string path = "/kdi/servers/" + address_;
  const std::string contents = address_ + " " + std::to_string(start_time_us_) + " " +
                               config_.data_root + " " +
                               (config_.shared_data ? "shared" : "local");
  const int64_t deadline = MonoMs() + timeout_ms;
  std::unique_ptr<lock::LockHandle> handle;
  Status last;
  bool logged = false;
  for (;;) {
    handle.reset();
    last = session->Open(path,
                         lock::kRead | lock::kWrite | lock::kLock | lock::kCreate |
                             lock::kEphemeral,
                         0, &handle, nullptr, contents);
    bool acquired = false;
    if (last.ok()) last = handle->TryLock(lock::LockMode::kExclusive, &acquired);
    if (last.ok() && acquired) break;
    if (last.ok()) {
      std::string holder;
      (void)handle->GetContents(&holder);
      last = Status::Conflict(path + " is held by another session (contents \"" + holder +
                              "\"): another tabletd registered as " + address_ +
                              ", or a previous one whose lease has not run out yet");
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopping_) return Status::Aborted("tabletd is stopping");
    }
    if (MonoMs() >= deadline) {
      (void)session->Close();
      return last.CloneAndPrepend("registering tabletd " + address_);
    }
    if (!logged) {
      KDI_LOG(WARN, "fencing") << "waiting for " << path << ": " << last.ToString();
      logged = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  Status s = handle->SetContents(contents);
  if (!s.ok()) {
    (void)session->Close();
    return s.CloneAndPrepend("writing " + path);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    session_ = std::shared_ptr<lock::LockSession>(std::move(session));
    server_lock_ = std::move(handle);
    state_ = "safe";
    expired_pending_ = false;
    generation_.store(gen, std::memory_order_release);
    serving_.store(true, std::memory_order_release);
  }
  KDI_LOG(INFO, "fencing") << "registered as " << path << " (session generation " << gen
                           << ")";
  return Status::OK();
}

void Fencing::OnEvent(uint64_t gen, const lock::Event& event) {
  std::lock_guard<std::mutex> l(mu_);
  if (gen != generation_.load() || stopping_) return;  // an old session's event
  switch (event.type) {
    case lock::kSessionJeopardy:
      serving_.store(false, std::memory_order_release);
      state_ = "jeopardy";
      KDI_LOG(WARN, "fencing") << "lock-service session in jeopardy: not serving any tablet";
      break;
    case lock::kSessionSafe:
      if (state_ == "jeopardy") {
        state_ = "safe";
        serving_.store(true, std::memory_order_release);
        KDI_LOG(INFO, "fencing") << "lock-service session safe again: serving";
      }
      break;
    case lock::kSessionExpired:
      serving_.store(false, std::memory_order_release);
      state_ = "expired";
      expired_pending_ = true;
      KDI_LOG(ERROR, "fencing") << "lock-service session expired: dropping every tablet";
      cv_.notify_all();
      break;
    default:
      break;
  }
}

void Fencing::RecoveryLoop() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [this] { return stopping_ || expired_pending_; });
    if (stopping_) return;
    expired_pending_ = false;
    std::shared_ptr<lock::LockSession> old = std::move(session_);
    std::unique_ptr<lock::LockHandle> old_lock = std::move(server_lock_);
    l.unlock();
    on_expired_();  // closes every tablet
    old_lock.reset();
    old.reset();
    // Re-register until it works or we are stopped; every attempt waits up to
    // one registration timeout for the old session's lock to be released.
    for (;;) {
      Status s = Register(config_.register_timeout_ms);
      if (s.ok()) break;
      KDI_LOG(ERROR, "fencing") << "re-registration failed, retrying: " << s.ToString();
      std::unique_lock<std::mutex> w(mu_);
      if (cv_.wait_for(w, std::chrono::seconds(1), [this] { return stopping_; })) return;
    }
    l.lock();
  }
}

void Fencing::Stop() {
  std::shared_ptr<lock::LockSession> session;
  std::unique_ptr<lock::LockHandle> handle;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_ && !recovery_thread_.joinable() && !session_) return;
    stopping_ = true;
    serving_.store(false);
    state_ = "none";
    session = std::move(session_);
    handle = std::move(server_lock_);
    cv_.notify_all();
  }
  if (recovery_thread_.joinable()) recovery_thread_.join();
  handle.reset();
  if (session) (void)session->Close();
}

}  // namespace kdi::tabletd
