// External mini cluster; see mini_cluster.h.
#include "t/mini_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <thread>

#include "lib/rpc/ca.h"

namespace kdi::test {

namespace {

// The command-line flags the harness passes, in one place. Every daemon takes
// the cluster options of lib/util/options.h (AddClusterOptions) and the
// DaemonRunner options (--config, --foreground, --log_level, --log_target).
struct DaemonFlagNames {
  const char* binary;    // relative to the build dir
  const char* listen;    // listen address flag
  const char* data;      // data directory flag, "" if the daemon has none
  const char* lease;     // session lease flag, "" if none
};
constexpr DaemonFlagNames kLockdFlags = {"lockd/lockd", "--listen", "--data",
                                         "--lockd_session_lease_ms"};
constexpr DaemonFlagNames kMasterFlags = {"masterd/masterd", "--listen", "", ""};
constexpr DaemonFlagNames kTabletdFlags = {"tabletd/tabletd", "--listen", "--data", ""};
constexpr const char* kLockdLockDelayFlag = "--lockd_lock_delay_ms";
constexpr const char* kTabletdSharedFlag = "--tabletd_shared_data";
constexpr const char* kLockdAddressFlag = "--lockd_address";
constexpr const char* kCaFlag = "--tls_ca_file";
constexpr const char* kCertFlag = "--tls_cert_file";
constexpr const char* kKeyFlag = "--tls_key_file";

std::string Flag(const char* name, const std::string& value) {
  return std::string(name) + "=" + value;
}

void SleepMs(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

bool PortAccepts(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

bool TestFailed() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return info != nullptr && info->result()->Failed();
}

}  // namespace

int64_t MonoMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---- ExternalDaemon ----------------------------------------------------------

ExternalDaemon::ExternalDaemon(std::string name, std::string binary, std::string address,
                               std::vector<std::string> args, std::string log_path)
    : name_(std::move(name)),
      binary_(std::move(binary)),
      address_(std::move(address)),
      args_(std::move(args)),
      log_path_(std::move(log_path)) {}

ExternalDaemon::~ExternalDaemon() { (void)Kill(); }

Status ExternalDaemon::Start() {
  if (IsRunning()) return Status::Conflict(name_ + " is already running");
  if (access(binary_.c_str(), X_OK) != 0) {
    return ErrnoToStatus("starting " + name_ + ": " + binary_, errno);
  }
  std::vector<std::string> all;
  all.push_back(binary_);
  all.insert(all.end(), args_.begin(), args_.end());
  all.insert(all.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);

  int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return ErrnoToStatus(log_path_, errno);
  {
    std::string banner = "==== harness: starting " + name_ + ":";
    for (auto& a : all) banner += " " + a;
    banner += "\n";
    (void)!write(log_fd, banner.data(), banner.size());
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(log_fd);
    return ErrnoToStatus("fork", err);
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    setpgid(0, 0);
    execv(argv[0], argv.data());
    const char msg[] = "harness: exec failed\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(127);
  }
  close(log_fd);
  pid_ = pid;
  last_exit_code_ = -1;
  return Status::OK();
}

void ExternalDaemon::Reap(int wstatus) {
  if (WIFEXITED(wstatus)) {
    last_exit_code_ = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    last_exit_code_ = 128 + WTERMSIG(wstatus);
  }
  pid_ = -1;
  paused_ = false;
}

bool ExternalDaemon::IsRunning() {
  if (pid_ <= 0) return false;
  int wstatus = 0;
  pid_t r = waitpid(pid_, &wstatus, WNOHANG);
  if (r == pid_) {
    Reap(wstatus);
    return false;
  }
  return true;
}

Status ExternalDaemon::Kill() {
  if (!IsRunning()) return Status::OK();
  kill(pid_, SIGCONT);  // a paused process dies just as well, but be tidy
  if (kill(pid_, SIGKILL) != 0 && errno != ESRCH) return ErrnoToStatus("kill " + name_, errno);
  int wstatus = 0;
  while (waitpid(pid_, &wstatus, 0) < 0) {
    if (errno != EINTR) return ErrnoToStatus("waitpid " + name_, errno);
  }
  Reap(wstatus);
  return Status::OK();
}

Status ExternalDaemon::Stop(int64_t timeout_ms, int* exit_code) {
  if (!IsRunning()) {
    if (exit_code) *exit_code = last_exit_code_;
    return Status::OK();
  }
  kill(pid_, SIGCONT);
  if (kill(pid_, SIGTERM) != 0 && errno != ESRCH) return ErrnoToStatus("kill " + name_, errno);
  Status s = WaitForExit(timeout_ms);
  if (!s.ok()) {
    RETURN_NOT_OK(Kill());
    if (exit_code) *exit_code = last_exit_code_;
    return Status::TimedOut(name_ + " did not stop on SIGTERM within " +
                            std::to_string(timeout_ms) + " ms; killed");
  }
  if (exit_code) *exit_code = last_exit_code_;
  return Status::OK();
}

Status ExternalDaemon::WaitForExit(int64_t timeout_ms) {
  int64_t deadline = MonoMs() + timeout_ms;
  while (IsRunning()) {
    if (MonoMs() >= deadline) return Status::TimedOut(name_ + " still running");
    SleepMs(10);
  }
  return Status::OK();
}

Status ExternalDaemon::Pause() {
  if (!IsRunning()) return Status::NotFound(name_ + " is not running");
  if (kill(pid_, SIGSTOP) != 0) return ErrnoToStatus("SIGSTOP " + name_, errno);
  paused_ = true;
  return Status::OK();
}

Status ExternalDaemon::Resume() {
  if (!IsRunning()) return Status::NotFound(name_ + " is not running");
  if (kill(pid_, SIGCONT) != 0) return ErrnoToStatus("SIGCONT " + name_, errno);
  paused_ = false;
  return Status::OK();
}

Status ExternalDaemon::Restart(bool hard) {
  if (hard) {
    RETURN_NOT_OK(Kill());
  } else {
    (void)Stop();
  }
  RETURN_NOT_OK(Start());
  return WaitUntilReady();
}

Status ExternalDaemon::WaitUntilReady(int64_t timeout_ms) {
  int64_t deadline = MonoMs() + timeout_ms;
  for (;;) {
    if (!IsRunning()) {
      return Status::Aborted(name_ + " exited (code " + std::to_string(last_exit_code_) +
                             ") before it was ready; log tail:\n" + LogTail(20));
    }
    if (PortAccepts(address_)) return Status::OK();
    if (MonoMs() >= deadline) {
      return Status::TimedOut(name_ + " not accepting on " + address_ + " after " +
                              std::to_string(timeout_ms) + " ms; log tail:\n" + LogTail(20));
    }
    SleepMs(20);
  }
}

std::string ExternalDaemon::LogTail(int n) const {
  std::ifstream in(log_path_);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (static_cast<int>(lines.size()) > n) lines.pop_front();
  }
  std::string out;
  for (auto& l : lines) out += l + "\n";
  return out;
}

// ---- MiniCluster -------------------------------------------------------------

MiniCluster::MiniCluster(MiniClusterOptions opts) : opts_(std::move(opts)) {}

MiniCluster::~MiniCluster() {
  if (failed_ || TestFailed()) DumpLogs();
  KillAll();
}

Status MiniCluster::StartAllStopped(int64_t timeout_ms) {
  std::vector<ExternalDaemon*> all;
  if (lockd_) all.push_back(lockd_.get());
  for (auto& d : masters_) all.push_back(d.get());
  for (auto& d : tablet_servers_) all.push_back(d.get());
  for (ExternalDaemon* d : all) {
    if (d->paused()) RETURN_NOT_OK(d->Resume());
    if (!d->IsRunning()) RETURN_NOT_OK(d->Start());
  }
  for (ExternalDaemon* d : all) RETURN_NOT_OK(d->WaitUntilReady(timeout_ms));
  return Status::OK();
}

void MiniCluster::KillAll() {
  // Tablet servers first, so that the master sees no spurious failures.
  for (auto& d : tablet_servers_) (void)d->Kill();
  for (auto& d : masters_) (void)d->Kill();
  if (lockd_) (void)lockd_->Kill();
}

void MiniCluster::DumpLogs(int lines) const {
  auto dump = [&](const ExternalDaemon* d) {
    if (d == nullptr) return;
    std::cerr << "---- tail of " << d->name() << " log (" << d->log_path() << ") ----\n"
              << d->LogTail(lines);
  };
  dump(lockd_.get());
  for (auto& d : masters_) dump(d.get());
  for (auto& d : tablet_servers_) dump(d.get());
  std::cerr << "---- end of daemon logs ----" << std::endl;
}

int MiniCluster::TabletServerIndex(const std::string& address) const {
  for (size_t i = 0; i < tablet_servers_.size(); i++) {
    if (tablet_servers_[i]->address() == address) return static_cast<int>(i);
  }
  return -1;
}

TlsFiles MiniCluster::Tls(const std::string& principal) const {
  return TlsFiles{ca_dir_ + "/ca.crt", ca_dir_ + "/" + principal + ".crt",
                  ca_dir_ + "/" + principal + ".key"};
}

Status MiniCluster::IssueCert(const std::string& principal, const std::string& role,
                              TlsFiles* out) {
  rpc::IssueOptions io;
  io.role = rpc::ParseRole(role);
  if (io.role == rpc::Role::kNone) return Status::InvalidArgument("bad role " + role);
  io.name = principal;
  io.subject_alt_names = "127.0.0.1,localhost";
  RETURN_NOT_OK_PREPEND(rpc::CaIssue(ca_dir_, io), "issuing " + principal);
  if (out) *out = Tls(principal);
  return Status::OK();
}

std::string MiniCluster::tablet_data_root(int i) const {
  if (opts_.shared_data_root) return dir_.Join("data/shared");
  return dir_.Join("data/tabletd-" + std::to_string(i));
}

std::unique_ptr<ExternalDaemon> MiniCluster::MakeDaemon(const std::string& kind, int index) {
  const DaemonFlagNames& f =
      kind == "lockd" ? kLockdFlags : kind == "masterd" ? kMasterFlags : kTabletdFlags;
  std::string name = kind == "lockd" ? kind : kind + "-" + std::to_string(index);
  std::string address = "127.0.0.1:" + std::to_string(FreePort());
  TlsFiles tls = Tls(name);
  std::vector<std::string> args = {
      "--foreground",
      Flag("--config", dir_.Join("empty.conf")),
      Flag("--log_target", "stderr"),
      Flag("--log_level", opts_.log_level),
      Flag(f.listen, address),
      Flag(kCaFlag, tls.ca_file),
      Flag(kCertFlag, tls.cert_file),
      Flag(kKeyFlag, tls.key_file),
  };
  const std::vector<std::string>* extra = &opts_.lockd_args;
  if (kind == "lockd") {
    std::string data = dir_.Join("data/lockd");
    mkdir(data.c_str(), 0755);
    args.push_back(Flag(f.data, data));
    args.push_back(Flag(f.lease, std::to_string(opts_.lease_ms)));
    args.push_back(Flag(kLockdLockDelayFlag, std::to_string(opts_.lock_delay_ms)));
  } else {
    args.push_back(Flag(kLockdAddressFlag, lockd_->address()));
    if (kind == "tabletd") {
      std::string data = tablet_data_root(index);
      mkdir(data.c_str(), 0755);
      args.push_back(Flag(f.data, data));
      args.push_back(Flag(kTabletdSharedFlag, opts_.shared_data_root ? "true" : "false"));
      extra = &opts_.tabletd_args;
    } else {
      extra = &opts_.master_args;
    }
  }
  args.insert(args.end(), extra->begin(), extra->end());
  return std::make_unique<ExternalDaemon>(name, BuildDir() + "/" + f.binary, address, args,
                                          dir_.Join("logs/" + name + ".log"));
}

Status MiniCluster::Start() {
  if (!prepared_) {
    for (const char* d : {"logs", "data"}) {
      std::string p = dir_.Join(d);
      if (mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoToStatus(p, errno);
    }
    {
      std::ofstream empty(dir_.Join("empty.conf"));
      empty << "# kdi.conf for the daemons of a test cluster: everything is on the command line\n";
    }
    ca_dir_ = dir_.Join("ca");
    RETURN_NOT_OK_PREPEND(rpc::CaInit(ca_dir_, "KDI test CA", 30), "making the test CA");
    RETURN_NOT_OK(IssueCert("lockd", "server", nullptr));
    for (int i = 0; i < opts_.num_masters; i++) {
      RETURN_NOT_OK(IssueCert("masterd-" + std::to_string(i), "server", nullptr));
    }
    for (int i = 0; i < opts_.num_tablet_servers; i++) {
      RETURN_NOT_OK(IssueCert("tabletd-" + std::to_string(i), "server", nullptr));
    }
    RETURN_NOT_OK(IssueCert("test-admin", "admin", nullptr));
    RETURN_NOT_OK(IssueCert("test-client", "client", nullptr));
    RETURN_NOT_OK(IssueCert("test-server", "server", nullptr));
    if (opts_.shared_data_root) {
      std::string p = tablet_data_root(0);
      mkdir(p.c_str(), 0755);
    }
    lockd_ = MakeDaemon("lockd", 0);
    for (int i = 0; i < opts_.num_masters; i++) masters_.push_back(MakeDaemon("masterd", i));
    for (int i = 0; i < opts_.num_tablet_servers; i++) {
      tablet_servers_.push_back(MakeDaemon("tabletd", i));
    }
    client_conf_ = dir_.Join("client.conf");
    TlsFiles admin = AdminTls();
    std::ofstream conf(client_conf_);
    conf << "[global]\nlockd_address = " << lockd_->address() << "\ntls_ca_file = "
         << admin.ca_file << "\ntls_cert_file = " << admin.cert_file
         << "\ntls_key_file = " << admin.key_file << "\n";
    prepared_ = true;
  }
  if (!opts_.start_daemons) return Status::OK();
  RETURN_NOT_OK(lockd_->Start());
  RETURN_NOT_OK(lockd_->WaitUntilReady());
  for (auto& m : masters_) RETURN_NOT_OK(m->Start());
  for (auto& t : tablet_servers_) RETURN_NOT_OK(t->Start());
  for (auto& m : masters_) RETURN_NOT_OK(m->WaitUntilReady());
  for (auto& t : tablet_servers_) RETURN_NOT_OK(t->WaitUntilReady());
  return Status::OK();
}

Status MiniCluster::OpenLockSession(std::unique_ptr<lock::LockSession>* session) const {
  lock::LockSessionOptions o;
  o.service = lockd_->address();
  TlsFiles t = AdminTls();
  o.tls_ca_file = t.ca_file;
  o.tls_cert_file = t.cert_file;
  o.tls_key_file = t.key_file;
  o.op_timeout_ms = 5000;
  return lock::OpenLockSession(o, session);
}

Status MiniCluster::WaitForTabletServers(int n, int64_t timeout_ms) const {
  // One session for the whole wait; a new one when it fails (lockd restarts).
  std::unique_ptr<lock::LockSession> session;
  int64_t deadline = MonoMs() + timeout_ms;
  size_t seen = 0;
  Status last;
  for (;;) {
    if (session == nullptr) {
      last = OpenLockSession(&session);
      if (!last.ok()) session.reset();
    }
    if (session != nullptr) {
      std::unique_ptr<lock::LockHandle> h;
      std::vector<std::string> names;
      last = session->Open("/kdi/servers", lock::kRead, 0, &h);
      if (last.ok()) last = h->ReadDirectory(&names);
      h.reset();
      if (last.ok()) {
        seen = names.size();
        if (static_cast<int>(names.size()) >= n) break;
      } else if (!last.IsNotFound()) {
        (void)session->Close();
        session.reset();
      }
    }
    if (MonoMs() >= deadline) {
      if (session) (void)session->Close();
      return Status::TimedOut("only " + std::to_string(seen) + " of " + std::to_string(n) +
                              " tablet servers registered in /kdi/servers (" +
                              last.ToString() + ")");
    }
    SleepMs(50);
  }
  (void)session->Close();
  return Status::OK();
}

namespace {

// The index of the master /kdi/master names, read through `session`.
Status ActiveMasterWith(lock::LockSession* session,
                        const std::vector<std::unique_ptr<ExternalDaemon>>& masters, int* index) {
  std::unique_ptr<lock::LockHandle> h;
  Status s = session->Open("/kdi/master", lock::kRead, 0, &h);
  std::string contents;
  lock::NodeStat st;
  if (s.ok()) s = h->GetContents(&contents, &st);
  RETURN_NOT_OK(s);
  if (st.lock_mode != lock::LockMode::kExclusive) {
    return Status::NotFound("/kdi/master is not locked");
  }
  for (size_t i = 0; i < masters.size(); i++) {
    if (masters[i]->address() == contents) {
      *index = static_cast<int>(i);
      return Status::OK();
    }
  }
  return Status::NotFound("/kdi/master names '" + contents + "', not one of ours");
}

}  // namespace

Status MiniCluster::ActiveMaster(int* index) const {
  std::unique_ptr<lock::LockSession> session;
  RETURN_NOT_OK(OpenLockSession(&session));
  Status s = ActiveMasterWith(session.get(), masters_, index);
  (void)session->Close();
  return s;
}

Status MiniCluster::WaitForActiveMaster(int* index, int64_t timeout_ms) const {
  // One session for the whole wait (opening one per poll floods lockd); a new
  // one when it fails (e.g. lockd restarted and forgot it).
  int64_t deadline = MonoMs() + timeout_ms;
  std::unique_ptr<lock::LockSession> session;
  Status s;
  for (;;) {
    if (session == nullptr) {
      s = OpenLockSession(&session);
      if (!s.ok()) session.reset();
    }
    if (session != nullptr) {
      s = ActiveMasterWith(session.get(), masters_, index);
      if (s.ok() && masters_[*index]->pid() > 0) break;
      if (!s.ok() && !s.IsNotFound()) {
        (void)session->Close();
        session.reset();
      }
    }
    if (MonoMs() >= deadline) {
      if (session) (void)session->Close();
      return Status::TimedOut("no active master after " + std::to_string(timeout_ms) +
                              " ms: " + s.ToString());
    }
    SleepMs(50);
  }
  (void)session->Close();
  return Status::OK();
}

}  // namespace kdi::test
