// RemoteBackend: everything the kdi:// client needs from a cluster, as one
// narrow interface: the lock-service names it reads (/kdi/root, /kdi/tables/T)
// and the table interface (3a) of any tabletd, addressed by HOST:PORT.
//
// RemoteTable, its scanner and its META lookup are written against this
// interface only, so their retry, caching and scan-continuity logic is tested
// against an in-process fake cluster (t/client_remote_test.cc) as well as
// against real daemons. The production implementation (remote_rpc_backend.h)
// holds a lock-service session and one RPC channel per tabletd.
//
// Threading: implementations are thread-safe; any thread may call any method,
// and calls block only their caller. timeout_ms bounds each call.
#ifndef KDI_LIB_CLIENT_REMOTE_BACKEND_H_
#define KDI_LIB_CLIENT_REMOTE_BACKEND_H_

#include <cstdint>
#include <string>

#include "kdi/schema.h"
#include "kdi/status.h"
#include "lib/client/table_protocol.h"

namespace kdi::client {

class RemoteBackend {
 public:
  virtual ~RemoteBackend() = default;

  // Contents of /kdi/root: HOST:PORT of the tabletd serving META.
  // ServiceUnavailable while it is not known yet.
  virtual Status ReadRoot(std::string* server, int64_t timeout_ms) = 0;
  // The schema in /kdi/tables/NAME; NotFound if there is no such table.
  virtual Status ReadSchema(const std::string& table, Schema* schema, int64_t timeout_ms) = 0;

  virtual Status Apply(const std::string& server, const ApplyRequest& req,
                       int64_t timeout_ms, ApplyReply* reply) = 0;
  virtual Status ConditionalApply(const std::string& server,
                                  const ConditionalApplyRequest& req, int64_t timeout_ms,
                                  ApplyReply* reply) = 0;
  virtual Status Sync(const std::string& server, const SyncRequest& req,
                      int64_t timeout_ms) = 0;
  virtual Status ScanPage(const std::string& server, const ScanPageRequest& req,
                          int64_t timeout_ms, ScanPageReply* reply) = 0;
  virtual Status GetRowRevision(const std::string& server, const RowRevisionRequest& req,
                                int64_t timeout_ms, RowRevisionReply* reply) = 0;
};

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_REMOTE_BACKEND_H_
