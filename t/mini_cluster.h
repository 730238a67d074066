// An external mini cluster for tests (in the manner of Kudu's
// ExternalMiniCluster): starts the real ./lockd/lockd, ./masterd/masterd and
// ./tabletd/tabletd binaries (under KDI_BUILD_DIR, default ".") on free
// loopback ports, in a TempDir with a fresh test CA and one certificate per
// daemon, short leases, and stdout/stderr of each daemon in its own log file.
//
//   kdi::test::MiniClusterOptions o;
//   o.num_masters = 2;
//   o.num_tablet_servers = 3;
//   kdi::test::MiniCluster cluster(o);
//   ASSERT_OK(cluster.Start());            // lockd, masters, tabletds, waits ready
//   cluster.tablet_server(1)->Kill();      // SIGKILL
//   ASSERT_OK(cluster.tablet_server(1)->Restart());
//
// Per daemon: Kill (SIGKILL), Stop (SIGTERM, then SIGKILL after a timeout),
// Pause (SIGSTOP), Resume (SIGCONT), Restart (same port, same data dir),
// WaitUntilReady (its port accepts TCP connections). Cluster-level waits use the
// lock service: WaitForTabletServers (entries under /kdi/servers),
// WaitForActiveMaster (/kdi/master is locked and names a running master).
//
// Cleanup: the destructor kills every daemon that still runs (also when a test
// assertion failed) and, when the current test has failed (or a program that is
// not a GoogleTest called MarkFailed), prints the tail of each daemon's log
// into the test output (stderr). Children are also started with
// PR_SET_PDEATHSIG so that a crashed test program leaves no daemon behind.
//
// The command-line flags the harness passes live in one table in
// mini_cluster.cc (DaemonFlagNames); change them there when a daemon's flags
// change.
//
// Threading: use a MiniCluster and its daemons from the test's main thread
// only (fork happens there, and PR_SET_PDEATHSIG is tied to the forking thread).
#ifndef KDI_T_MINI_CLUSTER_H_
#define KDI_T_MINI_CLUSTER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kdi/lock_client.h"
#include "kdi/status.h"
#include "t/test_util.h"

namespace kdi::test {

// One daemon process. Created by MiniCluster; tests only call its methods.
class ExternalDaemon {
 public:
  // binary: path of the program. args: arguments after argv[0]. log_path: the
  // file (appended to) that receives stdout and stderr.
  ExternalDaemon(std::string name, std::string binary, std::string address,
                 std::vector<std::string> args, std::string log_path);
  ~ExternalDaemon();  // kills the process if it runs

  const std::string& name() const { return name_; }
  // "127.0.0.1:PORT" the daemon listens on.
  const std::string& address() const { return address_; }
  const std::string& log_path() const { return log_path_; }
  pid_t pid() const { return pid_; }

  // Starts the process (FailedPrecondition-like Conflict if it runs already).
  Status Start();
  // SIGKILL and reap. OK if it was not running.
  Status Kill();
  // SIGTERM; waits up to timeout_ms for the exit, then SIGKILL. *exit_code
  // (if given) gets the exit status, or 128+signal.
  Status Stop(int64_t timeout_ms = 10000, int* exit_code = nullptr);
  Status Pause();   // SIGSTOP
  Status Resume();  // SIGCONT
  // True between Pause and Resume (or the process's end).
  bool paused() const { return paused_; }
  // Stop (or Kill when hard) then Start, keeping port, data and flags.
  Status Restart(bool hard = false);
  // Waits until the port accepts TCP connections. Fails early (with the log
  // tail) if the process exits.
  Status WaitUntilReady(int64_t timeout_ms = 20000);
  // True while the process has not exited (reaps it if it has). A paused
  // process is running.
  bool IsRunning();
  // Exit status of the last exit seen by IsRunning/Stop/Kill (128+sig when
  // killed by a signal), -1 if none.
  int last_exit_code() const { return last_exit_code_; }
  // Waits up to timeout_ms for the process to exit by itself (e.g. at a fault
  // point). OK once it exited; TimedOut otherwise.
  Status WaitForExit(int64_t timeout_ms);

  // Arguments for the next Start (e.g. a fault point); replaces earlier extras.
  void SetExtraArgs(std::vector<std::string> extra) { extra_args_ = std::move(extra); }

  // The last n lines of the log file.
  std::string LogTail(int n = 40) const;

  ExternalDaemon(const ExternalDaemon&) = delete;
  ExternalDaemon& operator=(const ExternalDaemon&) = delete;

 private:
  void Reap(int wstatus);

  std::string name_;
  std::string binary_;
  std::string address_;
  std::vector<std::string> args_;
  std::vector<std::string> extra_args_;
  std::string log_path_;
  pid_t pid_ = -1;
  int last_exit_code_ = -1;
  bool paused_ = false;
};

// TLS files of one principal made by the harness's CA.
struct TlsFiles {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

struct MiniClusterOptions {
  int num_masters = 1;
  int num_tablet_servers = 1;
  // One data root for every tabletd (tablets can fail over without copying);
  // false: each tabletd has its own.
  bool shared_data_root = true;
  // lockd session lease; short so that failover tests are quick.
  int64_t lease_ms = 4000;
  // lockd's lock-delay after a holder's session expires.
  int64_t lock_delay_ms = 500;
  // Start every daemon in Start(); false: Start() only prepares (certs, dirs,
  // ports) and the test starts daemons itself.
  bool start_daemons = true;
  // Extra arguments for every daemon of a kind.
  std::vector<std::string> lockd_args;
  std::vector<std::string> master_args;
  std::vector<std::string> tabletd_args;
  // Log level passed to every daemon.
  std::string log_level = "debug";
};

class MiniCluster {
 public:
  explicit MiniCluster(MiniClusterOptions opts = MiniClusterOptions());
  ~MiniCluster();  // kills every daemon; prints log tails if the test failed

  // Makes the CA and certificates, picks ports, creates the daemons and, if
  // opts.start_daemons, starts lockd, then the masters, then the tablet servers
  // and waits until each accepts connections.
  Status Start();

  ExternalDaemon* lockd() { return lockd_.get(); }
  ExternalDaemon* master(int i) { return masters_.at(i).get(); }
  ExternalDaemon* tablet_server(int i) { return tablet_servers_.at(i).get(); }
  int num_masters() const { return static_cast<int>(masters_.size()); }
  int num_tablet_servers() const { return static_cast<int>(tablet_servers_.size()); }
  // Index of the tablet server listening on address, -1 if none.
  int TabletServerIndex(const std::string& address) const;

  const std::string& lockd_address() const { return lockd_->address(); }
  const std::string& root() const { return dir_.path(); }
  // Data root of tablet server i (the shared root when shared_data_root).
  std::string tablet_data_root(int i) const;
  const MiniClusterOptions& options() const { return opts_; }

  // Certificates for test clients: role "admin" (principal "test-admin"),
  // "client" ("test-client") and "server" ("test-server").
  TlsFiles AdminTls() const { return Tls("test-admin"); }
  TlsFiles ClientTls() const { return Tls("test-client"); }
  TlsFiles ServerTls() const { return Tls("test-server"); }
  // TLS files of a named principal issued by Start() (daemons: "lockd",
  // "masterd-0", "tabletd-1", ...).
  TlsFiles Tls(const std::string& principal) const;
  // Issues another certificate (e.g. an expired one or a new role).
  Status IssueCert(const std::string& principal, const std::string& role, TlsFiles* out);
  // A kdi.conf in the cluster directory with [global] lockd_address and the
  // admin certificate, for running kdicli against the cluster.
  const std::string& client_config_path() const { return client_conf_; }

  // A lock-service session with the admin certificate.
  Status OpenLockSession(std::unique_ptr<lock::LockSession>* session) const;
  // Waits until /kdi/servers lists n servers.
  Status WaitForTabletServers(int n, int64_t timeout_ms = 20000) const;
  // Waits until /kdi/master is locked and names one of the running masters;
  // *index gets its index.
  Status WaitForActiveMaster(int* index, int64_t timeout_ms = 20000) const;
  // The index of the master whose address is in /kdi/master (NotFound if none
  // or the named one isn't ours).
  Status ActiveMaster(int* index) const;

  // Kills every running daemon.
  void KillAll();
  // Makes the destructor print the log tails as for a failed test (for
  // programs that are not GoogleTests, e.g. t/chaos/kdi-chaos).
  void MarkFailed() { failed_ = true; }
  // Resumes every paused daemon and starts every one that is not running
  // (after a chaos schedule), then waits until each accepts connections.
  Status StartAllStopped(int64_t timeout_ms = 30000);
  // Prints every daemon's log tail to stderr.
  void DumpLogs(int lines = 40) const;

  MiniCluster(const MiniCluster&) = delete;
  MiniCluster& operator=(const MiniCluster&) = delete;

 private:
  std::unique_ptr<ExternalDaemon> MakeDaemon(const std::string& kind, int index);

  MiniClusterOptions opts_;
  TempDir dir_;
  std::string ca_dir_;
  std::string client_conf_;
  std::unique_ptr<ExternalDaemon> lockd_;
  std::vector<std::unique_ptr<ExternalDaemon>> masters_;
  std::vector<std::unique_ptr<ExternalDaemon>> tablet_servers_;
  bool prepared_ = false;
  bool failed_ = false;
};

// Monotonic milliseconds, for measuring failover times in tests.
int64_t MonoMs();

}  // namespace kdi::test

#endif  // KDI_T_MINI_CLUSTER_H_
