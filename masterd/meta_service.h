// The RPC face of masterd: registers the 2a table-meta handlers (200-208) and
// the master-session handlers (600 keepAlive, 601 split report) on an
// rpc::Server, decoding requests and encoding replies (lib/client/
// meta_protocol.h, lib/client/admin_protocol.h) around a Master.
//
// Roles: meta writes (create/delete/alter, fsck --repair) need admin or server;
// reads any role; 600-block server only.
//
// Threading: the handlers run on the server's worker threads; Master is
// thread-safe. The Master must outlive the server's Stop().
#ifndef KDI_MASTERD_META_SERVICE_H_
#define KDI_MASTERD_META_SERVICE_H_

#include "lib/rpc/server.h"
#include "masterd/master.h"

namespace kdi::masterd {

void RegisterMetaService(rpc::Server* server, Master* master);

}  // namespace kdi::masterd

#endif  // KDI_MASTERD_META_SERVICE_H_
