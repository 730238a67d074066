// The masterd program: options, then the RPC server and the Master under the
// daemon runner.
#include "masterd/masterd_main.h"

#include <memory>

#include "lib/rpc/server.h"
#include "lib/rpc/tls.h"
#include "lib/util/daemon.h"
#include "lib/util/options.h"
#include "lib/util/log.h"
#include "masterd/fault_points.h"
#include "masterd/master.h"
#include "masterd/meta_service.h"

namespace kdi::masterd {

namespace {

// What Start() builds and Stop() tears down, in that order.
struct MasterServer {
  std::unique_ptr<rpc::Server> rpc;
  std::unique_ptr<Master> master;

  Status Start(const Options& opts) {
    std::string fault = opts.GetString("masterd_fault_point");
    if (!SetFaultPoint(fault)) {
      std::string known;
      for (const auto& p : KnownFaultPoints()) known += " " + p;
      return Status::InvalidArgument("unknown fault point '" + fault + "'; known:" + known);
    }
    const std::string& lockd = opts.GetString("lockd_address");
    if (lockd.empty()) return Status::InvalidArgument("lockd_address (--lockd) is required");
    rpc::TlsOptions to;
    to.ca_file = opts.GetString("tls_ca_file");
    to.cert_file = opts.GetString("tls_cert_file");
    to.key_file = opts.GetString("tls_key_file");
    std::shared_ptr<rpc::TlsContext> server_tls, client_tls;
    RETURN_NOT_OK_PREPEND(rpc::TlsContext::CreateServer(to, &server_tls), "TLS server context");
    RETURN_NOT_OK_PREPEND(rpc::TlsContext::CreateClient(to, &client_tls), "TLS client context");

    rpc::ServerOptions so;
    so.listen_address = opts.GetString("masterd_listen_address");
    so.tls = server_tls;
    so.worker_threads = static_cast<int>(opts.GetInt("masterd_worker_threads"));
    so.name = "masterd";
    rpc = std::make_unique<rpc::Server>(so);

    MasterOptions mo;
    mo.address = opts.GetString("masterd_advertise_address");
    mo.lockd_address = lockd;
    mo.tls_ca_file = to.ca_file;
    mo.tls_cert_file = to.cert_file;
    mo.tls_key_file = to.key_file;
    mo.client_tls = client_tls;
    mo.reconcile_interval_ms = opts.GetDurationMs("masterd_reconcile_interval_ms");
    mo.load_timeout_ms = opts.GetDurationMs("masterd_load_timeout_ms");
    mo.balance = opts.GetBool("masterd_balance");
    mo.balance_interval_ms = opts.GetDurationMs("masterd_balance_interval_ms");
    master = std::make_unique<Master>(mo);
    RegisterMetaService(rpc.get(), master.get());
    RETURN_NOT_OK_PREPEND(rpc->Start(), "listening on " + so.listen_address);
    // With port 0 the address is known only after the bind.
    if (mo.address.empty()) mo.address = rpc->address();
    master->set_address(mo.address);
    master->Start();
    KDI_LOG(INFO, "masterd") << "masterd " << mo.address << " started (lockd " << lockd
                             << ")";
    return Status::OK();
  }

  void Stop() {
    if (master) master->Stop();  // releases /kdi/master for a standby at once
    if (rpc) rpc->Stop();
    master.reset();
    rpc.reset();
  }
};

}  // namespace

int MasterdMain(int argc, char** argv) {
  DaemonRunner runner("masterd",
                      "KDI master: table meta (2a), the META table, tablet assignment, "
                      "server failure handling and split bookkeeping; one active master "
                      "holds /kdi/master, the others stand by.");
  Options* o = runner.options();
  o->AddString("masterd_listen_address", "127.0.0.1:7401", "address to listen on")
      .Alias("listen")
      .ValueName("HOST:PORT");
  o->AddString("masterd_advertise_address", "",
               "address written to /kdi/master (default: the bound listen address)")
      .Alias("advertise")
      .ValueName("HOST:PORT");
  AddDaemonClusterOptions(o, "masterd", /*with_lockd_address=*/true);
  o->AddBool("masterd_balance", false,
             "move tablets from busy to idle servers (shared data root only)")
      .Alias("balance");
  o->AddDurationMs("masterd_balance_interval_ms", 10000, 100, 3600000,
                   "at most one balancing move per interval")
      .Alias("balance-interval-ms");
  o->AddDurationMs("masterd_reconcile_interval_ms", 200, 10, 60000,
                   "interval of the control loop (server liveness, assignment)");
  o->AddDurationMs("masterd_load_timeout_ms", 10000, 100, 600000,
                   "deadline of one LoadTablet/UnloadTablet order to a tabletd");
  o->AddInt("masterd_worker_threads", 4, 1, 256, "RPC worker threads");
  o->AddString("masterd_fault_point", "",
               "TEST ONLY: exit at once (code 86) when the named step is reached; "
               "see masterd(8) for the names")
      .Alias("fault-point")
      .ValueName("NAME");

  MasterServer server;
  return runner.Run(
      argc, argv, [&](const Options& opts) { return server.Start(opts); },
      [&] { server.Stop(); });
}

}  // namespace kdi::masterd
