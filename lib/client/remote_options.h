// RemoteTableOptions: the settings of a kdi:// table handle, and the parsing of
// its URI:
//
//   kdi://HOST[:PORT]/TABLE[?KEY=VALUE[&KEY=VALUE]...]
//
// HOST:PORT is the cluster's lockd (default port 7400). TABLE may use %XX
// escapes. Keys (all optional; durations in ms, sizes in bytes):
//   timeout_ms          deadline of each call, retries included    (30000)
//   rpc_timeout_ms      deadline of one RPC                         (10000)
//   write_buffer_bytes  buffered mutations that trigger a flush     (2 MiB)
//   flush_interval_ms   longest a mutation waits in the buffer; 0 = only on
//                       size, Sync, Scan, ApplyIf and Close         (100)
//   max_batch_bytes     largest Apply RPC                           (1 MiB)
//   connections_per_server  TLS connections to each tabletd, each with
//                       its own client I/O thread; a calling thread
//                       always uses the same one (rpc/channel_pool.h)  (2)
//   caller_io           1: a call made while no other call on its
//                       connection is in progress does its own socket I/O
//                       on the calling thread, on an extra connection, and
//                       polls for its reply for up to 50 us before it
//                       sleeps; 0: every call goes through the client I/O
//                       threads (rpc/blocking_connection.h)         (1)
//   conf                kdi.conf to read TLS settings from
//   tls_ca_file, tls_cert_file, tls_key_file   PEM files (override conf)
//
// Credentials: unless the URI names them, the [global] tls_* keys of the
// kdi.conf named by `conf`, else $KDI_CONF, else the default kdi.conf
// (relative paths in a config file are relative to its directory).
//
// Value types; any thread.
#ifndef KDI_LIB_CLIENT_REMOTE_OPTIONS_H_
#define KDI_LIB_CLIENT_REMOTE_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "kdi/status.h"

namespace kdi::client {

constexpr int kDefaultLockdPort = 7400;

struct RemoteTableOptions {
  std::string lockd_address;  // HOST:PORT
  std::string table;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  int64_t op_timeout_ms = 30000;
  int64_t rpc_timeout_ms = 10000;
  size_t write_buffer_bytes = 2u << 20;
  int64_t flush_interval_ms = 100;
  size_t max_batch_bytes = 1u << 20;
  bool caller_io = true;
  size_t connections_per_server = 2;
  int64_t initial_backoff_ms = 10;
  int64_t max_backoff_ms = 1000;
  uint32_t scan_page_cells = 4096;
  uint64_t scan_page_bytes = 4u << 20;
};

// Parses the URI (InvalidArgument naming the problem); fills in credentials as
// described above.
Status ParseRemoteUri(const std::string& uri, RemoteTableOptions* out);

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_REMOTE_OPTIONS_H_
