// TabletdConfig: the settings of one tabletd, filled from its options
// (tabletd_main.cc; every field is a flag and a kdi.conf [tabletd] key,
// documented in tabletd(8)). A plain value; read-only once the server starts.
#ifndef KDI_TABLETD_TABLETD_CONFIG_H_
#define KDI_TABLETD_TABLETD_CONFIG_H_

#include <cstdint>
#include <string>

#include "kdi/cell.h"

namespace kdi::tabletd {

struct TabletdConfig {
  std::string listen_address = "127.0.0.1:7402";
  // Address registered in the lock service and told to the master; empty: the
  // bound listen address.
  std::string advertise_address;
  std::string data_root;  // tablets live in data_root/tables/TABLE/ID
  bool shared_data = false;
  std::string lockd_address;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  uint64_t cache_bytes = 256ull << 20;        // server-wide Berkeley DB cache budget
  uint64_t split_size_bytes = 256ull << 20;   // automatic split threshold
  uint64_t max_value_bytes = kDefaultMaxValueBytes;
  int worker_threads = 8;
  int64_t keepalive_interval_ms = 1000;
  int64_t split_check_interval_ms = 5000;
  // Background GC of versions beyond max_versions / TTL, per tablet; 0: never.
  int64_t compact_interval_ms = 600000;
  // Reopen, at every maintenance pass, tablets that refuse writes after a
  // failed log write or flush (TabletRegistry::ReopenFailedTablets).
  bool reopen_failed_tablets = true;
  // How long start-up waits for /kdi/servers/ADDR (a previous incarnation's
  // session may still hold it until its lease runs out).
  int64_t register_timeout_ms = 30000;
  // Interval of the orphaned-directory collection (orphan_collector.h); one
  // pass always runs after registration; 0: only that one.
  int64_t orphan_check_interval_ms = 600000;
  // Test facility: the fault control file (environment KDI_FAULT_FILE, see
  // fault_control.h); empty: fault injection is off and costs nothing.
  std::string fault_file;
};

}  // namespace kdi::tabletd

#endif  // KDI_TABLETD_TABLETD_CONFIG_H_
