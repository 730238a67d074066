// The lockd program: options (lockd(8) documents each), then a LockdServer
// under the shared daemon runner (lib/util/daemon.h).
#include "lockd/lockd_main.h"

#include <memory>

#include "lib/util/daemon.h"
#include "lib/util/options.h"
#include "lockd/lockd_server.h"

namespace kdi::lockd {

int LockdMain(int argc, char** argv) {
  DaemonRunner runner("lockd", "KDI lock service: sessions, locks, ephemeral files, events "
                               "and sequencers, kept in Berkeley DB.");
  Options* o = runner.options();
  o->AddString("lockd_listen_address", "127.0.0.1:7400", "address to listen on")
      .Alias("listen")
      .ValueName("HOST:PORT");
  o->AddPath("lockd_data_dir", "/var/lib/kdi/lockd", "directory of the Berkeley DB environment")
      .Alias("data")
      .ValueName("DIR");
  o->AddDurationMs("lockd_session_lease_ms", 12000, 200, 600000,
                   "lease of a client session; a session not kept alive this long expires");
  o->AddDurationMs("lockd_lock_delay_ms", 5000, 0, kMaxLockDelayMs,
                   "how long a lock whose holder's session expired stays unavailable");
  o->AddDurationMs("lockd_grace_ms", 0, 0, 3600000,
                   "after a restart, how long known sessions are kept for their clients to "
                   "reconnect (0: one lease)");
  o->AddInt("lockd_worker_threads", 4, 1, 256, "RPC worker threads");
  o->AddInt("lockd_max_sessions", 100000, 1, 10000000, "most sessions at once");
  AddDaemonClusterOptions(o, "lockd", /*with_lockd_address=*/false);

  std::unique_ptr<LockdServer> server;
  return runner.Run(
      argc, argv,
      [&](const Options& opts) {
        LockdServerOptions so;
        so.listen_address = opts.GetString("lockd_listen_address");
        so.data_dir = opts.GetString("lockd_data_dir");
        so.tls_ca_file = opts.GetString("tls_ca_file");
        so.tls_cert_file = opts.GetString("tls_cert_file");
        so.tls_key_file = opts.GetString("tls_key_file");
        so.state.lease_ms = opts.GetDurationMs("lockd_session_lease_ms");
        so.state.lock_delay_ms = opts.GetDurationMs("lockd_lock_delay_ms");
        int64_t grace = opts.GetDurationMs("lockd_grace_ms");
        so.state.grace_ms = grace > 0 ? grace : -1;
        so.state.max_sessions = static_cast<size_t>(opts.GetInt("lockd_max_sessions"));
        so.worker_threads = static_cast<int>(opts.GetInt("lockd_worker_threads"));
        so.on_fatal = [](const Status& s) { DaemonRunner::RequestShutdown(s); };
        return LockdServer::Start(so, &server);
      },
      [&] { server.reset(); });
}

}  // namespace kdi::lockd
