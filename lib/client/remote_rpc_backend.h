// The production RemoteBackend: a lock-service session to the cluster's lockd
// (for /kdi/root and /kdi/tables/NAME) and one mutual-TLS rpc::Channel per
// tabletd, created on first use and kept for the life of the backend. Calls
// carry their own timeout (the caller's remaining deadline), which is why the
// channel is used directly with the table_protocol codecs rather than through
// TabletClient (whose calls have one fixed timeout).
//
// The lock session is opened lazily and reopened if it expires. Handles to
// /kdi/root are reopened when the node was replaced.
//
// Sharing: kdi::Table::Open uses SharedRpcBackend, so every kdi:// handle of a
// process that names the same cluster with the same credentials (lockd
// address, the three TLS file names, rpc_timeout_ms) shares one backend: one
// lock-service session and one connection per tabletd, however many tables
// and handles are open. The backend is reference-counted (shared_ptr held by
// each RemoteTable) and closes its session when the last handle is destroyed.
// This is safe because the client only reads through its session (/kdi/root,
// /kdi/tables/T; it holds no lock and no ephemeral node) and every method is
// thread-safe and stateless per call; a session that expires is reopened for
// all. Credential files are read when the backend is made: a handle opened
// while another one is still open reuses the TLS context loaded then.
//
// Thread-safe: any thread may call any method.
#ifndef KDI_LIB_CLIENT_REMOTE_RPC_BACKEND_H_
#define KDI_LIB_CLIENT_REMOTE_RPC_BACKEND_H_

#include <cstddef>
#include <memory>

#include "kdi/status.h"
#include "lib/client/remote_backend.h"
#include "lib/client/remote_options.h"

namespace kdi::client {

// Checks the TLS files and builds a new backend (no network traffic yet).
Status CreateRpcBackend(const RemoteTableOptions& options,
                        std::shared_ptr<RemoteBackend>* out);

// The backend of this process for options' cluster and credentials (see
// "Sharing"): the live one if a handle holds it, else a new one.
Status SharedRpcBackend(const RemoteTableOptions& options,
                        std::shared_ptr<RemoteBackend>* out);

// How many shared backends are alive (for tests and debugging).
size_t SharedRpcBackendCount();

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_REMOTE_RPC_BACKEND_H_
