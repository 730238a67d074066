// kdicli local-cluster start|stop|status DIR: a whole KDI cluster on loopback
// for trying KDI out and for tests (DESIGN.md §8).
//
// Layout of DIR:
//   cluster.state      one line per daemon: NAME KIND ADDRESS (ports are kept
//                      across restarts so that clients and META stay valid)
//   kdi.conf           [global] lockd_address and the admin identity, for
//                      `kdicli -c DIR/kdi.conf ...` or KDI_CONF=DIR/kdi.conf
//   daemons.conf       the (empty) config file the daemons are started with
//   ca/                the cluster CA and one certificate per daemon + admin
//   data/lockd/, data/tabletd-N/ (or data/shared/ with --shared-data)
//   logs/NAME.log      stdout and stderr of each daemon
//   run/NAME.pid       pid of each daemon started by this command
//
// start: creates what is missing (CA, certificates, ports), then starts
// whichever daemons are not running -- lockd, then the masters, then the
// tablet servers -- each detached in its own session, and waits until each
// accepts connections. A daemon that exits or does not become ready is
// reported with its log file and the last lines of it.
// stop: SIGTERM to every running daemon (tablet servers first), SIGKILL to
// those still running after --timeout. status: one line per daemon.
//
// The daemons are found next to kdicli: ../lockd/lockd, ../masterd/masterd and
// ../tabletd/tabletd relative to kdicli's own directory (a build tree), else
// ../sbin/NAME (an installation), else the same directory.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kdicli/command.h"
#include "kdicli/free_port.h"
#include "lib/rpc/ca.h"

namespace kdi::cli {
namespace {

struct Daemon {
  std::string name;     // lockd, masterd-0, tabletd-1
  std::string kind;     // lockd | masterd | tabletd
  std::string address;  // 127.0.0.1:PORT
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void SleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Creates path and any missing parents (mkdir -p).
Status MakeDir(const std::string& path) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string prefix = path.substr(0, pos);
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoToStatus(prefix, errno);
  }
  return Status::OK();
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::string ReadSmallFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string LogTail(const std::string& path, int lines) {
  std::string text = ReadSmallFile(path);
  size_t pos = text.size();
  for (int n = 0; n <= lines && pos > 0;) {
    pos--;
    if (text[pos] == '\n') n++;
    if (n > lines) {
      pos++;
      break;
    }
  }
  return text.substr(pos);
}

bool PortAccepts(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(atoi(address.c_str() + colon + 1)));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &a.sin_addr);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

std::string SelfDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string p(buf, n);
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}

Status FindBinary(const std::string& kind, std::string* path) {
  std::string self = SelfDir();
  // libtool builds put the real binary in .libs/; look from its parent too.
  std::vector<std::string> bases = {self};
  if (self.size() >= 6 && self.compare(self.size() - 6, 6, "/.libs") == 0) {
    bases.insert(bases.begin(), self.substr(0, self.size() - 6));
  }
  std::vector<std::string> tried;
  for (const std::string& b : bases) {
    for (const std::string& c :
         {b + "/../" + kind + "/" + kind, b + "/../sbin/" + kind, b + "/" + kind}) {
      tried.push_back(c);
      if (access(c.c_str(), X_OK) == 0) {
        *path = c;
        return Status::OK();
      }
    }
  }
  std::string list;
  for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
  return Status::NotFound("cannot find the " + kind + " program (tried " + list + ")");
}

class LocalCluster {
 public:
  explicit LocalCluster(std::string dir) : dir_(std::move(dir)) {}

  std::string Path(const std::string& rel) const { return dir_ + "/" + rel; }
  std::string PidFile(const Daemon& d) const { return Path("run/" + d.name + ".pid"); }
  std::string LogFile(const Daemon& d) const { return Path("logs/" + d.name + ".log"); }
  const std::vector<Daemon>& daemons() const { return daemons_; }
  bool shared() const { return shared_; }

  // Reads cluster.state; NotFound if DIR holds no cluster.
  Status Load() {
    std::string text = ReadSmallFile(Path("cluster.state"));
    if (text.empty()) return Status::NotFound("no local cluster in " + dir_);
    std::istringstream in(text);
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      lineno++;
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ls(line);
      std::string a, b, c;
      ls >> a >> b >> c;
      if (a == "shared_data") {
        shared_ = b == "true";
        continue;
      }
      if (c.empty() || (b != "lockd" && b != "masterd" && b != "tabletd")) {
        return Status::Corruption(Path("cluster.state") + ":" + std::to_string(lineno) +
                                  ": bad line");
      }
      daemons_.push_back(Daemon{a, b, c});
    }
    return Status::OK();
  }

  // Creates the directories, the CA, the certificates and the ports of a
  // cluster with at least `masters` masters and `tablets` tablet servers.
  Status Prepare(int masters, int tablets, bool shared, bool fresh) {
    if (fresh) shared_ = shared;
    RETURN_NOT_OK(MakeDir(dir_));
    for (const char* d : {"ca", "data", "logs", "run"}) RETURN_NOT_OK(MakeDir(Path(d)));
    if (!Exists(Path("ca/ca.key"))) {
      RETURN_NOT_OK_PREPEND(rpc::CaInit(Path("ca"), "KDI local cluster CA"), "creating the CA");
    }
    auto add = [&](const std::string& kind, int index) -> Status {
      std::string name = kind == "lockd" ? kind : kind + "-" + std::to_string(index);
      for (const Daemon& d : daemons_) {
        if (d.name == name) return Status::OK();
      }
      std::set<int> taken;
      for (const Daemon& d : daemons_) {
        taken.insert(atoi(d.address.c_str() + d.address.rfind(':') + 1));
      }
      int port = 0;
      RETURN_NOT_OK(PickFreeLoopbackPort(taken, &port));
      daemons_.push_back(Daemon{name, kind, "127.0.0.1:" + std::to_string(port)});
      return Status::OK();
    };
    RETURN_NOT_OK(add("lockd", 0));
    for (int i = 0; i < masters; i++) RETURN_NOT_OK(add("masterd", i));
    for (int i = 0; i < tablets; i++) RETURN_NOT_OK(add("tabletd", i));
    for (const Daemon& d : daemons_) RETURN_NOT_OK(Issue(d.name, rpc::Role::kServer));
    RETURN_NOT_OK(Issue("admin", rpc::Role::kAdmin));
    RETURN_NOT_OK(Issue("client", rpc::Role::kClient));

    std::ostringstream state;
    state << "# kdicli local-cluster state: NAME KIND ADDRESS\n";
    state << "shared_data " << (shared_ ? "true" : "false") << "\n";
    for (const Daemon& d : daemons_) state << d.name << " " << d.kind << " " << d.address << "\n";
    RETURN_NOT_OK(WriteFile(Path("cluster.state"), state.str()));
    std::string lockd = daemons_.front().address;
    RETURN_NOT_OK(WriteFile(Path("kdi.conf"),
                            "# Written by kdicli local-cluster: use with kdicli -c " +
                                Path("kdi.conf") + "\n[global]\nlockd_address = " + lockd +
                                "\ntls_ca_file = ca/ca.crt\ntls_cert_file = ca/admin.crt\n"
                                "tls_key_file = ca/admin.key\n"));
    return WriteFile(Path("daemons.conf"),
                     "# The daemons of this local cluster get every setting as a flag.\n");
  }

  // The pid of a running daemon we started, or -1.
  pid_t RunningPid(const Daemon& d) const {
    std::string text = ReadSmallFile(PidFile(d));
    pid_t pid = static_cast<pid_t>(atol(text.c_str()));
    if (pid <= 0) return -1;
    if (kill(pid, 0) != 0 && errno == ESRCH) return -1;
    // Guard against a reused pid: the process must be that daemon's program.
    std::string cmdline = ReadSmallFile("/proc/" + std::to_string(pid) + "/cmdline");
    std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
    size_t slash = argv0.rfind('/');
    std::string base = slash == std::string::npos ? argv0 : argv0.substr(slash + 1);
    if (base != d.kind && base != "lt-" + d.kind) return -1;
    std::string stat = ReadSmallFile("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z') {
      return -1;  // a zombie has exited
    }
    return pid;
  }

  Status StartDaemon(const Daemon& d, int64_t timeout_ms, std::ostream& out) {
    std::string binary;
    RETURN_NOT_OK(FindBinary(d.kind, &binary));
    std::vector<std::string> args = {
        binary,
        "--foreground",
        "--config=" + Path("daemons.conf"),
        "--log_target=stderr",
        "--listen=" + d.address,
        "--tls_ca_file=" + Path("ca/ca.crt"),
        "--tls_cert_file=" + Path("ca/" + d.name + ".crt"),
        "--tls_key_file=" + Path("ca/" + d.name + ".key"),
    };
    if (d.kind == "lockd") {
      RETURN_NOT_OK(MakeDir(Path("data/lockd")));
      args.push_back("--data=" + Path("data/lockd"));
    } else {
      args.push_back("--lockd_address=" + daemons_.front().address);
    }
    if (d.kind == "tabletd") {
      std::string data = Path(shared_ ? "data/shared" : "data/" + d.name);
      RETURN_NOT_OK(MakeDir(data));
      args.push_back("--data=" + data);
      args.push_back(std::string("--tabletd_shared_data=") + (shared_ ? "true" : "false"));
    }
    std::string log = LogFile(d);
    int logfd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) return ErrnoToStatus(log, errno);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
      close(logfd);
      return ErrnoToStatus("fork", errno);
    }
    if (pid == 0) {
      setsid();
      int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, 0);
      dup2(logfd, 1);
      dup2(logfd, 2);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    close(logfd);
    RETURN_NOT_OK(WriteFile(PidFile(d), std::to_string(pid) + "\n"));
    int64_t deadline = NowMs() + timeout_ms;
    for (;;) {
      int st;
      pid_t r = waitpid(pid, &st, WNOHANG);
      if (r == pid) {
        unlink(PidFile(d).c_str());
        std::string why = WIFEXITED(st) ? "exited with status " + std::to_string(WEXITSTATUS(st))
                                        : "was killed by signal " + std::to_string(WTERMSIG(st));
        return Status::ServiceUnavailable(d.name + " " + why + " while starting; see " + log +
                                          ":\n" + LogTail(log, 15));
      }
      if (PortAccepts(d.address)) break;
      if (NowMs() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        unlink(PidFile(d).c_str());
        return Status::TimedOut(d.name + " did not accept connections on " + d.address +
                                " within " + std::to_string(timeout_ms / 1000) + " s; see " +
                                log + ":\n" + LogTail(log, 15));
      }
      SleepMs(50);
    }
    out << "started " << d.name << " (pid " << pid << ") on " << d.address << ", log " << log
        << "\n";
    return Status::OK();
  }

 private:
  Status Issue(const std::string& name, rpc::Role role) {
    if (Exists(Path("ca/" + name + ".crt")) && Exists(Path("ca/" + name + ".key"))) {
      return Status::OK();
    }
    rpc::IssueOptions o;
    o.role = role;
    o.name = name;
    o.subject_alt_names = "127.0.0.1,localhost";
    return rpc::CaIssue(Path("ca"), o).CloneAndPrepend("issuing a certificate for " + name);
  }

  static Status WriteFile(const std::string& path, const std::string& text) {
    std::string tmp = path + ".tmp";
    {
      std::ofstream f(tmp, std::ios::trunc);
      f << text;
      if (!f) return ErrnoToStatus(tmp, errno ? errno : EIO);
    }
    if (rename(tmp.c_str(), path.c_str()) != 0) return ErrnoToStatus(path, errno);
    return Status::OK();
  }

  std::string dir_;
  bool shared_ = false;
  std::vector<Daemon> daemons_;
};

std::string AbsolutePath(const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  char buf[4096];
  if (getcwd(buf, sizeof(buf)) == nullptr) return p;
  return std::string(buf) + "/" + p;
}

int RunStart(Context* ctx) {
  Options* f = ctx->flags();
  f->AddInt("tabletd", 1, 1, 64, "number of tablet servers").ValueName("N");
  f->AddInt("masterd", 1, 1, 8, "number of masters (one active, the others standby)")
      .ValueName("M");
  f->AddBool("shared_data", false,
             "keep every tabletd's data under one root (as on a shared file system)");
  f->AddDurationMs("timeout", 20000, 100, 600000, "how long to wait for each daemon");
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 1, 1, "expected one DIR", &rc)) return rc;
  std::string dir = AbsolutePath(args[0]);
  LocalCluster c(dir);
  Status s = c.Load();
  bool fresh = s.IsNotFound();
  if (!s.ok() && !fresh) return ctx->Fail(s);
  if (!fresh && f->IsSet("shared_data") && f->GetBool("shared_data") != c.shared()) {
    return ctx->UsageError("--shared-data cannot change for an existing cluster in " + dir);
  }
  s = c.Prepare(static_cast<int>(f->GetInt("masterd")), static_cast<int>(f->GetInt("tabletd")),
                f->GetBool("shared_data"), fresh);
  if (!s.ok()) return ctx->Fail(s.CloneAndPrepend("preparing " + dir));
  int started = 0;
  for (const Daemon& d : c.daemons()) {
    pid_t pid = c.RunningPid(d);
    if (pid > 0) {
      ctx->out() << d.name << " already running (pid " << pid << ") on " << d.address << "\n";
      continue;
    }
    s = c.StartDaemon(d, f->GetDurationMs("timeout"), ctx->out());
    if (!s.ok()) return ctx->Fail(s);
    started++;
  }
  ctx->out() << "local cluster in " << dir << ": " << started << " daemon(s) started\n"
             << "use it with: kdicli -c " << dir << "/kdi.conf ...  (or KDI_CONF=" << dir
             << "/kdi.conf)\n";
  return kExitOk;
}

int RunStop(Context* ctx) {
  ctx->flags()->AddDurationMs("timeout", 10000, 100, 600000,
                              "how long to wait after SIGTERM before SIGKILL");
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 1, 1, "expected one DIR", &rc)) return rc;
  LocalCluster c(AbsolutePath(args[0]));
  Status s = c.Load();
  if (!s.ok()) return ctx->Fail(s);
  // Tablet servers first, lockd last, so nobody loses its lock service early.
  std::vector<Daemon> order(c.daemons().rbegin(), c.daemons().rend());
  std::vector<std::pair<Daemon, pid_t>> running;
  for (const Daemon& d : order) {
    pid_t pid = c.RunningPid(d);
    if (pid > 0 && kill(pid, SIGTERM) == 0) running.emplace_back(d, pid);
  }
  int64_t deadline = NowMs() + ctx->flags()->GetDurationMs("timeout");
  for (auto& [d, pid] : running) {
    while (c.RunningPid(d) > 0 && NowMs() < deadline) SleepMs(50);
    if (c.RunningPid(d) > 0) {
      kill(pid, SIGKILL);
      ctx->err() << "kdicli local-cluster stop: " << d.name << " (pid " << pid
                 << ") did not exit after SIGTERM; killed\n";
      for (int i = 0; i < 100 && c.RunningPid(d) > 0; i++) SleepMs(20);
    } else {
      ctx->out() << "stopped " << d.name << " (pid " << pid << ")\n";
    }
    unlink(c.PidFile(d).c_str());
  }
  if (running.empty()) ctx->out() << "nothing was running in " << args[0] << "\n";
  return kExitOk;
}

int RunStatus(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 1, 1, "expected one DIR", &rc)) return rc;
  LocalCluster c(AbsolutePath(args[0]));
  Status s = c.Load();
  if (!s.ok()) return ctx->Fail(s);
  int up = 0;
  char line[512];
  snprintf(line, sizeof(line), "%-12s %-8s %-8s %-22s %s\n", "DAEMON", "STATE", "PID",
           "ADDRESS", "LOG");
  ctx->out() << line;
  for (const Daemon& d : c.daemons()) {
    pid_t pid = c.RunningPid(d);
    if (pid > 0) up++;
    snprintf(line, sizeof(line), "%-12s %-8s %-8s %-22s %s\n", d.name.c_str(),
             pid > 0 ? "running" : "stopped", pid > 0 ? std::to_string(pid).c_str() : "-",
             d.address.c_str(), c.LogFile(d).c_str());
    ctx->out() << line;
  }
  ctx->out() << up << " of " << c.daemons().size() << " daemons running; config "
             << c.Path("kdi.conf") << "\n";
  return kExitOk;
}

}  // namespace
}  // namespace kdi::cli

KDICLI_GROUP("local-cluster", "a whole cluster on loopback for trying KDI out");
KDICLI_COMMAND("local-cluster start", kdi::cli::RunStart,
               "DIR [--tabletd N] [--masterd M] [--shared-data]",
               "start (or restart the stopped daemons of) a local cluster in DIR");
KDICLI_COMMAND("local-cluster stop", kdi::cli::RunStop, "DIR [--timeout T]",
               "stop the daemons of the local cluster in DIR (SIGTERM, then SIGKILL)");
KDICLI_COMMAND("local-cluster status", kdi::cli::RunStatus, "DIR",
               "list the daemons of the local cluster in DIR with pid and address");
