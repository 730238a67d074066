// TabletClient: a typed RPC client for one tabletd, over one mutual-TLS
// rpc::Channel. masterd uses it for META and for the admin interface; the
// kdi:// client uses the table interface; tabletd uses it to hand a tablet to
// another tabletd (TakeTablet).
//
//   TabletClient c(TabletClient::Options{"127.0.0.1:7402", tls});
//   client::TabletRef t{"web", "t0001"};
//   RETURN_NOT_OK(c.Apply(t, batch, &revision));
//   RETURN_NOT_OK(c.Sync(t));
//   auto stream = c.OpenScan(t, predicate);   // pages fetched lazily
//
// Every method returns the tabletd's status (NotServing: that tablet is not
// served there now — look it up again in META; ServiceUnavailable: try again
// soon, e.g. session jeopardy or a split waiting for the master) or the
// transport's (TimedOut, NetworkError: the request may or may not have run).
// Admin, migration and master-session calls need a server-role certificate;
// others get PermissionDenied.
//
// Threading: thread-safe; calls from many threads are pipelined on the one
// connection. A CellStream from OpenScan belongs to one thread and must not
// outlive its TabletClient.
#ifndef KDI_LIB_CLIENT_TABLET_CLIENT_H_
#define KDI_LIB_CLIENT_TABLET_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/scan_predicate.h"
#include "kdi/status.h"
#include "kdi/table.h"
#include "lib/client/admin_protocol.h"
#include "lib/client/table_protocol.h"
#include "lib/rpc/channel.h"

namespace kdi::client {

class TabletClient {
 public:
  struct Options {
    std::string address;                   // tabletd HOST:PORT
    std::shared_ptr<rpc::TlsContext> tls;  // client context (required)
    std::shared_ptr<rpc::ClientLoop> loop; // null: the process-wide loop
    int64_t timeout_ms = 10000;            // per call, unless a call says otherwise
  };

  explicit TabletClient(Options options);
  // Shares an existing channel (e.g. one per server kept by a connection cache).
  explicit TabletClient(std::shared_ptr<rpc::Channel> channel, int64_t timeout_ms = 10000);
  ~TabletClient();

  const std::string& address() const;
  rpc::Channel* channel() { return channel_.get(); }

  // ---- 3a table interface (any role) ----------------------------------------
  Status Apply(const TabletRef& tablet, const std::vector<RowMutation>& rows,
               uint64_t* revision = nullptr);
  Status ConditionalApply(const TabletRef& tablet, const std::vector<Condition>& conditions,
                          const RowMutation& mutation, uint64_t* revision = nullptr);
  Status Sync(const TabletRef& tablet);
  // Apply and Sync in one RPC (ApplyWithFlags, sync flag): OK only once the
  // batch and every write the tablet acknowledged before it are durable. A
  // tabletd older than ApplyWithFlags answers NotSupported (nothing applied).
  Status ApplyAndSync(const TabletRef& tablet, const std::vector<RowMutation>& rows,
                      uint64_t* revision = nullptr);
  // One page; pass reply->resume_token back until reply->done.
  Status ScanPage(const ScanPageRequest& request, ScanPageReply* reply);
  Status GetRowRevision(const TabletRef& tablet, std::string_view row, uint64_t* revision);
  // A stream over one tablet that fetches pages of at most max_cells/max_bytes
  // as it is read (bounded memory). Errors come out of status().
  std::unique_ptr<CellStream> OpenScan(const TabletRef& tablet, const ScanPredicate& predicate,
                                       uint32_t max_cells = 4096,
                                       uint64_t max_bytes = 4u << 20);

  // ---- 3b master admin (server role) ----------------------------------------
  Status LoadTablet(const LoadTabletRequest& request, TabletStatusInfo* status = nullptr);
  Status UnloadTablet(const TabletRef& tablet, bool destroy = false);
  Status SplitTablet(const SplitTabletRequest& request, SplitInfo* info);
  Status CommitSplit(const TabletRef& parent, SplitInfo* info = nullptr);
  Status TabletStatus(const TabletRef& tablet, TabletStatusInfo* status);
  Status ServerStatus(ServerStatusInfo* status);
  Status MigrateTablet(const MigrateTabletRequest& request, MigrateTabletReply* reply);

  // ---- 3c migration (server role, tabletd -> tabletd) -----------------------
  Status TakeTablet(const LoadTabletRequest& request, TabletStatusInfo* status = nullptr);
  Status ListTabletFiles(const ListTabletFilesRequest& request, ListTabletFilesReply* reply);
  Status ReadTabletChunk(const ReadTabletChunkRequest& request, std::string* data);
  // Long-running (bulk copy): timeout_ms applies to the whole call.
  Status PrepareTake(const CopyTabletRequest& request, CopyTabletReply* reply,
                     int64_t timeout_ms = 600000);
  Status FinishTake(const CopyTabletRequest& request, CopyTabletReply* reply,
                    int64_t timeout_ms = 600000);

  // ---- control ----------------------------------------------------------------
  Status Ping();

  TabletClient(const TabletClient&) = delete;
  TabletClient& operator=(const TabletClient&) = delete;

 private:
  // Sends an apply-type request and decodes its ApplyReply's revision.
  Status CallForRevision(uint16_t type, const std::string& body, uint64_t* revision);
  Status Call(uint16_t type, const std::string& body, std::string* reply,
              int64_t timeout_ms = -1);

  std::shared_ptr<rpc::Channel> channel_;
  int64_t timeout_ms_;
};

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_TABLET_CLIENT_H_
