// DaemonRunner and PidFile; see daemon.h.
#include "lib/util/daemon.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <thread>

#include "config.h"
#include "lib/util/log.h"

namespace kdi {

// ---- PidFile ----------------------------------------------------------------

Status PidFile::Acquire(const std::string& path, std::unique_ptr<PidFile>* out) {
  // A previous holder unlinks the file before it unlocks; if we locked such an
  // unlinked inode, try again with the new file.
  for (int attempt = 0; attempt < 10; attempt++) {
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoToStatus("opening pidfile " + path, errno);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      if (err != EWOULDBLOCK) {
        close(fd);
        return ErrnoToStatus("locking pidfile " + path, err);
      }
      char buf[32] = {0};
      ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
      close(fd);
      long pid = n > 0 ? strtol(buf, nullptr, 10) : 0;
      std::string who = pid > 0 ? "pid " + std::to_string(pid) : "pid unknown";
      return Status::Conflict("another instance (" + who + ") holds pidfile " + path);
    }
    struct stat by_fd, by_path;
    if (fstat(fd, &by_fd) != 0 || stat(path.c_str(), &by_path) != 0 ||
        by_fd.st_ino != by_path.st_ino || by_fd.st_dev != by_path.st_dev) {
      close(fd);
      continue;
    }
    std::string text = std::to_string(getpid()) + "\n";
    if (ftruncate(fd, 0) != 0 ||
        pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
      int err = errno;
      close(fd);
      return ErrnoToStatus("writing pidfile " + path, err);
    }
    out->reset(new PidFile(path, fd));
    return Status::OK();
  }
  return Status::Conflict("pidfile " + path + " keeps being replaced; giving up");
}

PidFile::~PidFile() {
  unlink(path_.c_str());
  close(fd_);  // releases the lock
}

// ---- DaemonRunner -------------------------------------------------------------

struct DaemonRunner::State {
  enum Phase { kRunning, kStopping, kDone };
  std::mutex mu;
  std::condition_variable cv;
  Phase phase = kRunning;   // guarded by mu
  bool requested = false;   // guarded by mu
  bool signaled = false;    // guarded by mu; a SIGTERM/SIGINT arrived
  std::string reason;       // guarded by mu
  Status why;               // guarded by mu
};

namespace {

std::mutex g_state_mu;
DaemonRunner::State* g_state = nullptr;  // guarded by g_state_mu; the running runner

sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

// Writes all of s to fd, ignoring errors (the reader may be gone).
void WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// Tells the waiting original process how startup went, then detaches stdio.
void ReportReady(int ready_fd, const Status& s, const std::string& program) {
  if (ready_fd < 0) return;
  // Detach first, so that once the launcher has returned the daemon is
  // already fully detached.
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2) close(null);
  }
  WriteAll(ready_fd, s.ok() ? std::string(1, '\0') : program + ": " + s.ToString() + "\n");
  close(ready_fd);
}

// Forks the daemon. In the original process returns -1 with *exit_code set
// (after the daemon reported); in the daemon returns the write end of the
// readiness pipe. On fork/pipe failure returns -1 with *exit_code = 1.
int Daemonize(const std::string& program, int* exit_code) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    fprintf(stderr, "%s: pipe: %s\n", program.c_str(), strerror(errno));
    *exit_code = kExitFailure;
    return -1;
  }
  fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "%s: fork: %s\n", program.c_str(), strerror(errno));
    close(p[0]);
    close(p[1]);
    *exit_code = kExitFailure;
    return -1;
  }
  if (pid > 0) {
    close(p[1]);
    int wstatus;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    std::string msg;
    char buf[512];
    for (;;) {
      ssize_t n = read(p[0], buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      msg.append(buf, static_cast<size_t>(n));
      if (msg[0] == '\0') break;  // ready; don't wait for EOF
    }
    close(p[0]);
    if (!msg.empty() && msg[0] == '\0') {
      *exit_code = kExitOk;
    } else {
      if (msg.empty()) msg = program + ": the daemon exited during startup\n";
      fputs(msg.c_str(), stderr);
      *exit_code = kExitFailure;
    }
    return -1;
  }
  // Intermediate child: new session, then fork again so the daemon is not a
  // session leader and can never acquire a controlling terminal.
  close(p[0]);
  if (setsid() < 0) {
    WriteAll(p[1], program + ": setsid: " + strerror(errno) + "\n");
    _exit(kExitFailure);
  }
  pid = fork();
  if (pid < 0) {
    WriteAll(p[1], program + ": fork: " + strerror(errno) + "\n");
    _exit(kExitFailure);
  }
  if (pid > 0) _exit(kExitOk);
  if (chdir("/") != 0) {
    // "/" always exists; nothing sensible to do otherwise.
  }
  return p[1];
}

std::string CurrentDir() {
  char buf[PATH_MAX];
  if (getcwd(buf, sizeof(buf)) == nullptr) return "/";
  return buf;
}

}  // namespace

DaemonRunner::DaemonRunner(std::string program, std::string summary)
    : program_(program), options_(program, "[OPTION]...", std::move(summary)) {
  AddConfigOption(&options_);
  options_.AddBool("foreground", false, "stay in the foreground; do not daemonize").FlagOnly();
  options_.AddBool("version", false, "print the version and exit").FlagOnly();
  options_.AddString("log_level", "info", "least severe level logged")
      .Global()
      .Choices({"debug", "info", "warn", "error"})
      .ValueName("LEVEL");
  options_.AddString("log_target", "auto",
                     "where logs go; auto is stderr with --foreground, else syslog")
      .Global()
      .Choices({"auto", "stderr", "syslog", "file"})
      .ValueName("TARGET");
  options_.AddPath("log_file", "", "file appended to when log_target is file")
      .Global()
      .ValueName("FILE");
  options_.AddPath(program + "_pid_file", "",
                   "pidfile, locked while running (empty: none)")
      .ValueName("FILE");
}

DaemonRunner::~DaemonRunner() = default;

void DaemonRunner::RequestShutdown(const Status& why) {
  std::lock_guard<std::mutex> g(g_state_mu);
  if (g_state == nullptr) return;
  std::lock_guard<std::mutex> l(g_state->mu);
  if (g_state->requested) return;
  g_state->requested = true;
  g_state->why = why;
  g_state->reason = why.ok() ? "shutdown requested" : "fatal error: " + why.ToString();
  g_state->cv.notify_all();
}

int DaemonRunner::Run(int argc, char** argv, const StartFn& start, const StopFn& stop) {
  std::vector<std::string> operands;
  Status s = options_.ParseArgs(argc, argv, Options::kInterleaved, &operands);
  if (s.ok() && !operands.empty()) {
    s = Status::InvalidArgument("unexpected argument '" + operands[0] + "' (see --help)");
  }
  if (!s.ok()) {
    fprintf(stderr, "%s: %s\n", program_.c_str(), s.message().c_str());
    return kExitUsage;
  }
  if (options_.GetBool("help")) {
    fputs(options_.HelpText().c_str(), stdout);
    return kExitOk;
  }
  if (options_.GetBool("version")) {
    printf("%s (kdi) %s\n", program_.c_str(), PACKAGE_VERSION);
    return kExitOk;
  }
  options_.MakePathsAbsolute(CurrentDir());
  s = LoadConfigFile(&options_, program_, &config_path_);
  if (!s.ok()) {
    fprintf(stderr, "%s: %s\n", program_.c_str(), s.message().c_str());
    return kExitUsage;
  }
  bool foreground = options_.GetBool("foreground");
  std::string target = options_.GetString("log_target");
  if (target == "auto") target = foreground ? "stderr" : "syslog";
  const std::string& log_file = options_.GetString("log_file");
  if (target == "file" && log_file.empty()) {
    fprintf(stderr, "%s: log_target is file but log_file is not set\n", program_.c_str());
    return kExitUsage;
  }
  log::Level level = log::INFO;
  log::ParseLevel(options_.GetString("log_level"), &level);

  int ready_fd = -1;
  if (!foreground) {
    int exit_code = kExitOk;
    ready_fd = Daemonize(program_, &exit_code);
    if (ready_fd < 0) return exit_code;
  }
  // From here on we are the daemon (or in the foreground).
  log::SetLevel(level);
  if (target == "file") {
    s = log::SetFileSink(program_, log_file);
  } else {
    log::SetSink(target == "syslog" ? log::Sink::kSyslog : log::Sink::kStderr, program_);
  }
  if (!s.ok()) {
    ReportReady(ready_fd, s, program_);
    if (foreground) fprintf(stderr, "%s: %s\n", program_.c_str(), s.ToString().c_str());
    return kExitFailure;
  }
  int rc = RunDaemon(start, stop, ready_fd);
  log::SetSink(log::Sink::kStderr, program_);
  return rc;
}

int DaemonRunner::RunDaemon(const StartFn& start, const StopFn& stop, int ready_fd) {
  const bool foreground = ready_fd < 0;
  const bool logs_to_stderr = foreground && options_.GetString("log_target") != "syslog" &&
                              options_.GetString("log_target") != "file";
  auto fail = [&](const Status& s) {
    KDI_LOG(ERROR, "daemon") << s.ToString();
    ReportReady(ready_fd, s, program_);
    if (foreground && !logs_to_stderr) {
      fprintf(stderr, "%s: %s\n", program_.c_str(), s.ToString().c_str());
    }
    return kExitFailure;
  };

  KDI_LOG(INFO, "daemon") << program_ << " " << PACKAGE_VERSION << " starting, pid " << getpid()
                          << ", config " << (config_path_.empty() ? "(none)" : config_path_);

  std::unique_ptr<PidFile> pidfile;
  const std::string& pid_path = options_.GetString(program_ + "_pid_file");
  if (!pid_path.empty()) {
    Status s = PidFile::Acquire(pid_path, &pidfile);
    if (!s.ok()) return fail(s);
  }

  // Signals: block in this thread before any other thread exists, so all
  // inherit the mask; a dedicated thread takes them with sigwait().
  sigset_t handled = HandledSignals();
  sigset_t old_mask;
  pthread_sigmask(SIG_BLOCK, &handled, &old_mask);
  struct sigaction ign {}, old_pipe {};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old_pipe);

  State state;
  {
    std::lock_guard<std::mutex> g(g_state_mu);
    g_state = &state;
  }
  std::thread signal_thread([this, &state, handled] {
    for (;;) {
      int sig = 0;
      if (sigwait(&handled, &sig) != 0) continue;
      if (sig == SIGHUP) {
        {
          std::lock_guard<std::mutex> l(state.mu);
          if (state.phase == State::kDone) return;
        }
        log::Reopen();
        KDI_LOG(INFO, "daemon") << "SIGHUP: reopened logs";
        if (hangup_hook_) hangup_hook_();
        continue;
      }
      std::lock_guard<std::mutex> l(state.mu);
      if (state.phase == State::kDone) return;
      if (state.signaled) {
        KDI_LOG(WARN, "daemon") << strsignal(sig) << " again while stopping; exiting now";
        _exit(kExitFailure);
      }
      state.signaled = true;
      if (!state.requested) {
        state.requested = true;
        state.reason = std::string("received ") + strsignal(sig);
      }
      state.cv.notify_all();
    }
  });
  auto finish_signal_thread = [&] {
    {
      std::lock_guard<std::mutex> l(state.mu);
      state.phase = State::kDone;
    }
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
    {
      std::lock_guard<std::mutex> g(g_state_mu);
      g_state = nullptr;
    }
    // Drop our own wake-up signal if it is still pending, then restore.
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGTERM)) {
      sigset_t term;
      sigemptyset(&term);
      sigaddset(&term, SIGTERM);
      struct timespec zero {};
      sigtimedwait(&term, nullptr, &zero);
    }
    sigaction(SIGPIPE, &old_pipe, nullptr);
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  };

  Status s = start(options_);
  if (!s.ok()) {
    finish_signal_thread();
    return fail(s.CloneAndPrepend("starting " + program_));
  }
  KDI_LOG(INFO, "daemon") << program_ << " started";
  ReportReady(ready_fd, Status::OK(), program_);

  std::string reason;
  Status why;
  {
    std::unique_lock<std::mutex> l(state.mu);
    state.cv.wait(l, [&] { return state.requested; });
    state.phase = State::kStopping;
    reason = state.reason;
    why = state.why;
  }
  KDI_LOG(INFO, "daemon") << reason << "; stopping " << program_;
  stop();
  finish_signal_thread();
  KDI_LOG(INFO, "daemon") << program_ << " stopped";
  pidfile.reset();
  return why.ok() ? kExitOk : kExitFailure;
}

}  // namespace kdi
