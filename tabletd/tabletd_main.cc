// The tabletd program: options, then a TabletServer under the daemon runner.
#include "tabletd/tabletd_main.h"

#include <malloc.h>

#include <cstdlib>
#include <memory>

#include "lib/util/daemon.h"
#include "lib/util/options.h"
#include "tabletd/fault_control.h"
#include "tabletd/tablet_server.h"
#include "tabletd/tabletd_config.h"

namespace kdi::tabletd {

namespace {

// glibc gives each thread that contends for malloc an arena of its own (up to
// 8 per core). Berkeley DB's private environments malloc their cache pages
// from whichever worker thread reads or evicts a page and free them from
// another, so with many arenas each holds its own free pages: tens of MiB
// beyond the cache budget (doc/tabletd.md "Memory"). Two arenas keep that
// slack small; MALLOC_ARENA_MAX in the environment still overrides.
constexpr int kMallocArenas = 2;

// A scan page's reply (~0.5 MiB with 4096 benchmark cells; up to a few MiB
// with 4 MiB pages) is allocated and freed for every page. With glibc's
// defaults such a block is mmap'd and munmap'd, or trimmed off the top of the
// heap as soon as it is freed, so every page of it faults in again on the
// next scan page (a quarter of a full scan's tabletd CPU went to those page
// faults). Blocks below kMmapThresholdBytes come from the heap, and up to
// kTrimThresholdBytes of free memory stays at the top of each arena for the
// next page: at most 2 arenas x 8 MiB beyond what is in use, inside the
// fixed part of the RSS bound (RSS <= tabletd_cache_mb + 64 MiB).
// MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ still override.
constexpr int kMmapThresholdBytes = 8 << 20;
constexpr int kTrimThresholdBytes = 8 << 20;

void TuneMalloc() {
  if (getenv("MALLOC_ARENA_MAX") == nullptr) (void)mallopt(M_ARENA_MAX, kMallocArenas);
  if (getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) {
    (void)mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
  }
  if (getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) {
    (void)mallopt(M_TRIM_THRESHOLD, kTrimThresholdBytes);
  }
}

}  // namespace

int TabletdMain(int argc, char** argv) {
  TuneMalloc();
  DaemonRunner runner("tabletd",
                      "KDI tablet server: serves tablets stored in Berkeley DB over the "
                      "mutual-TLS table interface, fenced by its lock in the lock service.");
  Options* o = runner.options();
  o->AddString("tabletd_listen_address", "127.0.0.1:7402", "address to listen on")
      .Alias("listen")
      .ValueName("HOST:PORT");
  o->AddString("tabletd_advertise_address", "",
               "address registered in the lock service and told to the master "
               "(default: the listen address)")
      .Alias("advertise")
      .ValueName("HOST:PORT");
  o->AddPath("tabletd_data_dir", "/var/lib/kdi/tabletd",
             "data root; tablets live in DIR/tables/TABLE/TABLET-ID")
      .Alias("data")
      .ValueName("DIR");
  o->AddBool("tabletd_shared_data", false,
             "the data root is shared with other tablet servers (tablets move without "
             "copying)")
      .Alias("shared-data");
  AddDaemonClusterOptions(o, "tabletd", /*with_lockd_address=*/true);
  o->AddInt("tabletd_cache_mb", 1024, 1, 1 << 20,
            "server-wide Berkeley DB cache budget in MiB, shared among the tablets")
      .Alias("cache-mb");
  o->AddInt("tabletd_split_size_mb", 256, 1, 1 << 24,
            "a tablet larger than this on disk is split near its median row")
      .Alias("split-size-mb");
  o->AddSize("tabletd_max_value_bytes", 64 << 20, 1, 1ll << 31,
             "largest value a mutation may carry")
      .Alias("max-value-bytes");
  o->AddInt("tabletd_worker_threads", 8, 1, 256,
            "RPC worker threads (disk work: applies, syncs, scans)");
  o->AddDurationMs("tabletd_keepalive_interval_ms", 1000, 50, 60000,
                   "interval of the status reports to the master");
  o->AddDurationMs("tabletd_split_check_interval_ms", 5000, 50, 3600000,
                   "interval of the tablet size checks for automatic splits");
  o->AddDurationMs("tabletd_compact_interval_ms", 600000, 0, 86400000,
                   "interval of the background removal of versions beyond max_versions "
                   "and TTL, per tablet (0: never)");
  o->AddBool("tabletd_reopen_failed_tablets", true,
             "at every split check, close and reopen (with recovery) a tablet that "
             "refuses writes after a failed log write or flush");
  o->AddDurationMs("tabletd_register_timeout_ms", 30000, 0, 3600000,
                   "how long start-up waits for the server lock /kdi/servers/HOST:PORT");
  o->AddDurationMs("tabletd_orphan_check_interval_ms", 600000, 0, 86400000,
                   "interval of the removal of directories left by interrupted splits and "
                   "copy migrations (one pass always runs after start-up; 0: only that one)");

  std::unique_ptr<TabletServer> server;
  return runner.Run(
      argc, argv,
      [&](const Options& opts) {
        TabletdConfig c;
        c.listen_address = opts.GetString("tabletd_listen_address");
        c.advertise_address = opts.GetString("tabletd_advertise_address");
        c.data_root = opts.GetString("tabletd_data_dir");
        c.shared_data = opts.GetBool("tabletd_shared_data");
        c.lockd_address = opts.GetString("lockd_address");
        c.tls_ca_file = opts.GetString("tls_ca_file");
        c.tls_cert_file = opts.GetString("tls_cert_file");
        c.tls_key_file = opts.GetString("tls_key_file");
        c.cache_bytes = static_cast<uint64_t>(opts.GetInt("tabletd_cache_mb")) << 20;
        c.split_size_bytes = static_cast<uint64_t>(opts.GetInt("tabletd_split_size_mb")) << 20;
        c.max_value_bytes = static_cast<uint64_t>(opts.GetSize("tabletd_max_value_bytes"));
        c.worker_threads = static_cast<int>(opts.GetInt("tabletd_worker_threads"));
        c.keepalive_interval_ms = opts.GetDurationMs("tabletd_keepalive_interval_ms");
        c.split_check_interval_ms = opts.GetDurationMs("tabletd_split_check_interval_ms");
        c.compact_interval_ms = opts.GetDurationMs("tabletd_compact_interval_ms");
        c.reopen_failed_tablets = opts.GetBool("tabletd_reopen_failed_tablets");
        c.register_timeout_ms = opts.GetDurationMs("tabletd_register_timeout_ms");
        c.orphan_check_interval_ms = opts.GetDurationMs("tabletd_orphan_check_interval_ms");
        if (const char* f = getenv(kFaultFileEnv)) c.fault_file = f;
        return TabletServer::Start(c, &server);
      },
      [&] {
        if (server) server->Stop();
        server.reset();
      });
}

}  // namespace kdi::tabletd
