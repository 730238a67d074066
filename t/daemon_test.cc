// Tests of the daemon utilities (lib/util/daemon.h): the pidfile (refusal with a
// live holder, stale takeover), the signal paths (SIGTERM -> stop, SIGHUP ->
// log reopen), daemonizing, startup failures and exit codes. Runners that
// install signal handling or fork run in child processes of the test.
#include "lib/util/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "t/test_util.h"

namespace kdi {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

// Polls until pred() holds; false after 10 s.
template <typename Pred>
bool WaitFor(Pred pred) {
  for (int i = 0; i < 1000; i++) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Waits for pid and returns its exit code (-signal if killed, -1000 on timeout).
int WaitExit(pid_t pid) {
  for (int i = 0; i < 1000; i++) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1000;
}

// Kills and reaps a child on scope exit unless it was released.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ~ChildGuard() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  void Release() { pid_ = -1; }
  void Reset(pid_t pid) { pid_ = pid; }

 private:
  pid_t pid_;
};

// Runs a "masterd" DaemonRunner in a child process with the given flags. start
// writes DIR/started (or fails with "boom" if fail_start), stop writes
// DIR/stopped. The child's stderr goes to DIR/stderr.<tag>.
pid_t ForkRunner(const test::TempDir& dir, std::vector<std::string> args, bool fail_start,
                 const std::string& tag) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid != 0) return pid;
  int fd = open(dir.Join("stderr." + tag).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) dup2(fd, 2);
  std::vector<const char*> argv{"masterd"};
  for (const auto& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  DaemonRunner runner("masterd", "A test daemon (named masterd for its config section).");
  runner.options()->AddInt("masterd_knob", 1, 0, 10, "a knob");
  std::string started = dir.Join("started"), stopped = dir.Join("stopped");
  int rc = runner.Run(
      static_cast<int>(argv.size() - 1), const_cast<char**>(argv.data()),
      [&](const Options& o) {
        if (fail_start) return Status::IOError("boom");
        WriteFile(started, std::to_string(getpid()) + " knob=" +
                               std::to_string(o.GetInt("masterd_knob")));
        return Status::OK();
      },
      [&] { WriteFile(stopped, "stopped"); });
  _exit(rc);
}

TEST(PidFileTest, AcquireWritesPidAndReleaseRemoves) {
  test::TempDir dir;
  std::string path = dir.Join("x.pid");
  {
    std::unique_ptr<PidFile> pf;
    ASSERT_OK(PidFile::Acquire(path, &pf));
    EXPECT_EQ(std::to_string(getpid()) + "\n", ReadFile(path));
    // A second holder, even in the same process, is refused and told who holds it.
    std::unique_ptr<PidFile> again;
    Status s = PidFile::Acquire(path, &again);
    ASSERT_TRUE(s.IsConflict()) << s.ToString();
    EXPECT_NE(std::string::npos, s.message().find("pid " + std::to_string(getpid())));
    EXPECT_NE(std::string::npos, s.message().find(path));
    EXPECT_EQ(nullptr, again);
  }
  EXPECT_FALSE(Exists(path));
}

TEST(PidFileTest, RefusedWhileAnotherProcessHoldsItThenTakenOver) {
  test::TempDir dir;
  std::string path = dir.Join("x.pid");
  int p[2];
  ASSERT_EQ(0, pipe(p));
  fflush(nullptr);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::unique_ptr<PidFile> pf;
    Status s = PidFile::Acquire(path, &pf);
    char c = s.ok() ? 'y' : 'n';
    (void)!write(p[1], &c, 1);
    pause();  // hold it until killed
    _exit(0);
  }
  ChildGuard guard(child);
  close(p[1]);
  char c = 0;
  ASSERT_EQ(1, read(p[0], &c, 1));
  close(p[0]);
  ASSERT_EQ('y', c);

  std::unique_ptr<PidFile> pf;
  Status s = PidFile::Acquire(path, &pf);
  ASSERT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find("pid " + std::to_string(child))) << s.message();

  // The holder dies without cleaning up: its file stays but is stale.
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  guard.Release();
  EXPECT_EQ(std::to_string(child) + "\n", ReadFile(path));
  ASSERT_OK(PidFile::Acquire(path, &pf));
  EXPECT_EQ(std::to_string(getpid()) + "\n", ReadFile(path));
}

TEST(PidFileTest, StaleFileWithGarbageIsTakenOver) {
  test::TempDir dir;
  std::string path = dir.Join("x.pid");
  WriteFile(path, "999999999 and some junk that is longer than a pid\n");
  std::unique_ptr<PidFile> pf;
  ASSERT_OK(PidFile::Acquire(path, &pf));
  EXPECT_EQ(std::to_string(getpid()) + "\n", ReadFile(path));
}

TEST(PidFileTest, UnwritableDirectoryIsAnErrorNamingThePath) {
  std::unique_ptr<PidFile> pf;
  Status s = PidFile::Acquire("/nonexistent-kdi-dir/x.pid", &pf);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find("/nonexistent-kdi-dir/x.pid"));
}

TEST(DaemonRunnerTest, ForegroundSigtermStopsCleanlyAndSighupReopensLogs) {
  test::TempDir dir;
  std::string pid_path = dir.Join("masterd.pid"), log = dir.Join("masterd.log");
  WriteFile(dir.Join("kdi.conf"), "[masterd]\nmasterd_knob = 7\n[global]\nlog_level = debug\n");
  pid_t child = ForkRunner(dir,
                           {"--foreground", "-c", dir.Join("kdi.conf"), "--masterd_pid_file",
                            pid_path, "--log_target=file", "--log_file", log},
                           false, "a");
  ChildGuard guard(child);
  ASSERT_TRUE(WaitFor([&] { return Exists(dir.Join("started")); }));
  // Options came from kdi.conf, the pidfile holds the daemon's pid.
  EXPECT_EQ(std::to_string(child) + " knob=7", ReadFile(dir.Join("started")));
  EXPECT_EQ(std::to_string(child) + "\n", ReadFile(pid_path));
  EXPECT_NE(std::string::npos, ReadFile(log).find("masterd 0.1.0 starting")) << ReadFile(log);
  EXPECT_NE(std::string::npos, ReadFile(log).find(dir.Join("kdi.conf"))) << ReadFile(log);

  // A second instance with the same pidfile is refused with exit code 1.
  pid_t second = ForkRunner(dir, {"--foreground", "--masterd_pid_file=" + pid_path}, false, "b");
  EXPECT_EQ(kExitFailure, WaitExit(second));
  std::string err = ReadFile(dir.Join("stderr.b"));
  EXPECT_NE(std::string::npos, err.find("pid " + std::to_string(child))) << err;
  EXPECT_NE(std::string::npos, err.find("holds pidfile")) << err;

  // Log rotation: move the file away, SIGHUP, the daemon writes a new one.
  ASSERT_EQ(0, rename(log.c_str(), (log + ".1").c_str()));
  kill(child, SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return ReadFile(log).find("reopened logs") != std::string::npos; }));
  EXPECT_FALSE(Exists(dir.Join("stopped")));

  kill(child, SIGTERM);
  EXPECT_EQ(kExitOk, WaitExit(child));
  guard.Release();
  EXPECT_EQ("stopped", ReadFile(dir.Join("stopped")));
  EXPECT_FALSE(Exists(pid_path));
  EXPECT_NE(std::string::npos, ReadFile(log).find("stopping masterd")) << ReadFile(log);
}

TEST(DaemonRunnerTest, SigintAlsoStops) {
  test::TempDir dir;
  pid_t child = ForkRunner(dir, {"--foreground", "--log_target=stderr"}, false, "a");
  ChildGuard guard(child);
  ASSERT_TRUE(WaitFor([&] { return Exists(dir.Join("started")); }));
  kill(child, SIGINT);
  EXPECT_EQ(kExitOk, WaitExit(child));
  guard.Release();
  EXPECT_TRUE(Exists(dir.Join("stopped")));
}

TEST(DaemonRunnerTest, DaemonizesAndReportsReadiness) {
  // Become the reaper of orphaned descendants so the daemon can be waited for.
  ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
  test::TempDir dir;
  std::string pid_path = dir.Join("masterd.pid");
  pid_t launcher = ForkRunner(
      dir, {"--masterd_pid_file", pid_path, "--log_target=file", "--log_file", dir.Join("log")},
      false, "a");
  // The launcher returns 0 only after the daemon has started.
  EXPECT_EQ(kExitOk, WaitExit(launcher));
  EXPECT_TRUE(Exists(dir.Join("started")));
  pid_t daemon = static_cast<pid_t>(std::stol(ReadFile(pid_path)));
  ChildGuard guard(daemon);
  EXPECT_NE(launcher, daemon);
  EXPECT_EQ(0, kill(daemon, 0));
  // A new session that it does not lead; working directory "/".
  EXPECT_NE(getsid(0), getsid(daemon));
  EXPECT_NE(daemon, getsid(daemon));
  char cwd[256] = {0};
  ASSERT_GT(readlink(("/proc/" + std::to_string(daemon) + "/cwd").c_str(), cwd, sizeof(cwd) - 1),
            0);
  EXPECT_STREQ("/", cwd);
  // stdio detached.
  char fd2[256] = {0};
  ASSERT_GT(readlink(("/proc/" + std::to_string(daemon) + "/fd/2").c_str(), fd2, sizeof(fd2) - 1),
            0);
  EXPECT_STREQ("/dev/null", fd2);

  kill(daemon, SIGTERM);
  EXPECT_EQ(kExitOk, WaitExit(daemon));
  guard.Release();
  EXPECT_TRUE(Exists(dir.Join("stopped")));
  EXPECT_FALSE(Exists(pid_path));
  prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST(DaemonRunnerTest, StartFailureInDaemonModeIsReportedByTheLauncher) {
  ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
  test::TempDir dir;
  pid_t launcher = ForkRunner(dir, {"--log_target=syslog", "--masterd_pid_file",
                                    dir.Join("masterd.pid")},
                              true, "a");
  EXPECT_EQ(kExitFailure, WaitExit(launcher));
  std::string err = ReadFile(dir.Join("stderr.a"));
  EXPECT_NE(std::string::npos, err.find("masterd: IOError: starting masterd: boom")) << err;
  // Reap the daemon, which exits by itself, and check it cleaned up.
  while (waitpid(-1, nullptr, 0) > 0) {
  }
  EXPECT_FALSE(Exists(dir.Join("stopped")));
  EXPECT_FALSE(Exists(dir.Join("masterd.pid")));
  prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST(DaemonRunnerTest, StartFailureInForegroundExitsOne) {
  test::TempDir dir;
  pid_t child = ForkRunner(dir, {"--foreground", "--log_target=stderr"}, true, "a");
  EXPECT_EQ(kExitFailure, WaitExit(child));
  EXPECT_NE(std::string::npos, ReadFile(dir.Join("stderr.a")).find("boom"));
  EXPECT_FALSE(Exists(dir.Join("stopped")));
}

TEST(DaemonRunnerTest, UsageErrorsExitTwo) {
  test::TempDir dir;
  WriteFile(dir.Join("bad.conf"), "[masterd]\nmasterd_knob = 99\n");
  struct Case {
    std::vector<std::string> args;
    const char* words;
  } cases[] = {
      {{"--bogus"}, "unknown option '--bogus'"},
      {{"--masterd_knob=11"}, "out of range 0..10"},
      {{"stray"}, "unexpected argument 'stray'"},
      {{"-c", dir.Join("missing.conf")}, "missing.conf"},
      {{"-c", dir.Join("bad.conf")}, "bad.conf:2: bad value '99' for masterd_knob"},
      {{"--log_target=file"}, "log_file is not set"},
  };
  int n = 0;
  for (const Case& tc : cases) {
    std::string tag = std::to_string(n++);
    pid_t child = ForkRunner(dir, tc.args, false, tag);
    EXPECT_EQ(kExitUsage, WaitExit(child)) << tc.args[0];
    std::string err = ReadFile(dir.Join("stderr." + tag));
    EXPECT_NE(std::string::npos, err.find(tc.words)) << err;
    EXPECT_FALSE(Exists(dir.Join("started")));
  }
}

TEST(DaemonRunnerTest, HelpAndVersionExitZero) {
  test::TempDir dir;
  for (const char* flag : {"--help", "--version"}) {
    int p[2];
    ASSERT_EQ(0, pipe(p));
    fflush(nullptr);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      dup2(p[1], 1);
      close(p[0]);
      DaemonRunner runner("masterd", "A test daemon (named masterd for its config section).");
      const char* argv[] = {"masterd", flag, nullptr};
      int rc = runner.Run(2, const_cast<char**>(argv), [](const Options&) { return Status::OK(); },
                          [] {});
      fflush(stdout);
      _exit(rc);
    }
    close(p[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(p[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    close(p[0]);
    EXPECT_EQ(kExitOk, WaitExit(child));
    if (std::string(flag) == "--version") {
      EXPECT_EQ("masterd (kdi) 0.1.0\n", out);
    } else {
      for (const char* o : {"--foreground", "--config=FILE", "--log_level=LEVEL",
                            "--log_target=TARGET", "--log_file=FILE", "--masterd_pid_file=FILE",
                            "--version", "A test daemon (named masterd for its config section)."}) {
        EXPECT_NE(std::string::npos, out.find(o)) << o << "\n" << out;
      }
    }
  }
}

// RequestShutdown from a server thread ends Run() with exit code 1 after stop.
// Runs in-process: Run() restores the signal mask when it returns.
TEST(DaemonRunnerTest, RequestShutdownWithErrorExitsOne) {
  DaemonRunner runner("masterd", "A test daemon (named masterd for its config section).");
  const char* argv[] = {"masterd", "--foreground", "--log_level=error", nullptr};
  std::thread worker;
  bool stopped = false;
  int rc = runner.Run(
      3, const_cast<char**>(argv),
      [&](const Options&) {
        worker = std::thread([] {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          DaemonRunner::RequestShutdown(Status::IOError("disk gone"));
        });
        return Status::OK();
      },
      [&] {
        worker.join();
        stopped = true;
      });
  EXPECT_EQ(kExitFailure, rc);
  EXPECT_TRUE(stopped);
  // The mask was restored: SIGTERM is not blocked any more.
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  EXPECT_FALSE(sigismember(&mask, SIGTERM));
  // With no runner, RequestShutdown is a no-op.
  DaemonRunner::RequestShutdown(Status::IOError("nobody listens"));
}

}  // namespace
}  // namespace kdi
