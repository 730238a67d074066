// What lockd, masterd and tabletd share as Unix daemons: options and kdi.conf,
// logging, daemonizing, the pidfile, signals and the exit code.
//
//   int LockdMain(int argc, char** argv) {
//     kdi::DaemonRunner runner("lockd", "KDI lock service.");
//     runner.options()->AddString("lockd_listen_address", "127.0.0.1:7400", "...")
//         .Alias("listen");
//     std::unique_ptr<LockServer> server;
//     return runner.Run(argc, argv,
//         [&](const kdi::Options& opts) { return LockServer::Start(opts, &server); },
//         [&] { server->Stop(); server.reset(); });
//   }
//
// Run() does, in order:
//   1. Parses the command line, then kdi.conf ([global] and the section named
//      after the program), so flags override the file (lib/util/options.h).
//      --help prints the generated help and returns 0; --version prints
//      "PROGRAM (kdi) VERSION" and returns 0. A bad flag, a bad or missing
//      named config file: message on stderr, returns 2.
//   2. Makes relative path options absolute (the daemon runs in "/").
//   3. Sets up logging: log_level; log_target auto (stderr with --foreground,
//      syslog otherwise) | stderr | syslog | file (appending to log_file).
//   4. Unless --foreground: forks, setsid(), forks again, chdir("/"); the
//      original process waits until the daemon reports it started and returns
//      0, or prints the daemon's startup error and returns 1. The daemon's
//      stdin/stdout/stderr go to /dev/null once it has started.
//   5. Takes the pidfile PROGRAM_pid_file (if not empty): locked with flock()
//      for the life of the process, holding the daemon's pid. A pidfile locked
//      by a live process makes Run() fail ("another lockd (pid 123) holds ...");
//      an unlocked (stale) one is taken over.
//   6. Blocks SIGTERM, SIGINT and SIGHUP in every thread (so threads made by
//      start inherit the mask) and handles them on a signal thread; ignores
//      SIGPIPE.
//   7. Calls start(options). A non-OK Status is logged, reported, returns 1.
//   8. Waits for SIGTERM/SIGINT or RequestShutdown(). SIGHUP calls
//      log::Reopen() and the hangup hook, if any. A second SIGTERM/SIGINT while
//      stop is running ends the process at once with _exit(1).
//   9. Calls stop(), removes the pidfile, returns 0 (1 if the shutdown was
//      requested with an error).
//
// Options declared by the runner (documented in each daemon's man page):
//   -c/--config FILE, --foreground, --version, -h/--help (flags only),
//   log_level, log_target, log_file ([global] or the daemon's section),
//   PROGRAM_pid_file.
//
// Threading: construct and Run() from the main thread, before any other thread
// exists (fork). start and stop run on that thread. RequestShutdown() may be
// called from any thread (not from a signal handler). Only one runner may Run()
// per process at a time. Note that child processes a daemon starts inherit the
// blocked signals; unblock them in the child before exec.
#ifndef KDI_LIB_UTIL_DAEMON_H_
#define KDI_LIB_UTIL_DAEMON_H_

#include <functional>
#include <memory>
#include <string>

#include "kdi/status.h"
#include "lib/util/options.h"

namespace kdi {

// Exit codes of Run() and of every KDI program.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // runtime error: startup failed, pidfile held, ...
constexpr int kExitUsage = 2;    // bad command line or configuration

class DaemonRunner {
 public:
  using StartFn = std::function<Status(const Options& options)>;
  using StopFn = std::function<void()>;

  // program is the command name, the kdi.conf section and the syslog ident.
  DaemonRunner(std::string program, std::string summary);
  ~DaemonRunner();
  DaemonRunner(const DaemonRunner&) = delete;
  DaemonRunner& operator=(const DaemonRunner&) = delete;

  // Declare the program's own options here before Run().
  Options* options() { return &options_; }

  // Called on the signal thread after log::Reopen() when SIGHUP arrives.
  void SetHangupHook(std::function<void()> hook) { hangup_hook_ = std::move(hook); }

  // See the top of this file. Returns the process exit code.
  int Run(int argc, char** argv, const StartFn& start, const StopFn& stop);

  // Makes the running runner proceed to stop() as if SIGTERM had arrived. A
  // non-OK status is logged and makes Run() return 1. No-op if none is running.
  static void RequestShutdown(const Status& why = Status::OK());

 public:
  struct State;  // shared with the signal thread; internal

 private:
  int RunDaemon(const StartFn& start, const StopFn& stop, int ready_fd);

  std::string program_;
  Options options_;
  std::function<void()> hangup_hook_;
  std::string config_path_;
};

// An exclusive pidfile. Holding the object holds the lock.
class PidFile {
 public:
  // Opens or creates path (mode 0644), locks it without waiting, and writes
  // the calling process's pid. Conflict if another live process holds it (the
  // message names the path and that process's pid); errno-based errors name
  // the path.
  static Status Acquire(const std::string& path, std::unique_ptr<PidFile>* out);
  // Removes the file, then releases the lock.
  ~PidFile();
  const std::string& path() const { return path_; }

 private:
  PidFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

}  // namespace kdi

#endif  // KDI_LIB_UTIL_DAEMON_H_
