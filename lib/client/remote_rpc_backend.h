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
// Thread-safe: any thread may call any method.
#ifndef KDI_LIB_CLIENT_REMOTE_RPC_BACKEND_H_
#define KDI_LIB_CLIENT_REMOTE_RPC_BACKEND_H_

#include <memory>

#include "kdi/status.h"
#include "lib/client/remote_backend.h"
#include "lib/client/remote_options.h"

namespace kdi::client {

// Checks the TLS files and builds the backend (no network traffic yet).
Status CreateRpcBackend(const RemoteTableOptions& options,
                        std::shared_ptr<RemoteBackend>* out);

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_REMOTE_RPC_BACKEND_H_
