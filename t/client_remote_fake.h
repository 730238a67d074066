// FakeCluster: an in-process RemoteBackend for testing the kdi:// client's
// caching, batching, retry and scan-continuity logic without daemons.
//
// It keeps one sorted cell map per table and a list of tablets per table (id,
// range, server, state). META is synthesized from the tablet list, encoded as
// CLUSTER.md says, and served by the "root" server like any tablet. Tests move
// and split tablets, take servers down (NetworkError) and make servers answer
// NotServing, and count the RPCs each server received.
//
// Thread-safe: one mutex around everything (flushes call from several threads).
#ifndef KDI_T_CLIENT_REMOTE_FAKE_H_
#define KDI_T_CLIENT_REMOTE_FAKE_H_

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "kdi/cell.h"
#include "kdi/schema.h"
#include "lib/client/remote_backend.h"
#include "lib/client/remote_options.h"

namespace kdi::test {

class FakeCluster : public client::RemoteBackend {
 public:
  struct Tablet {
    std::string id;
    std::string start;
    std::string end;
    std::string server;
    std::string state = "assigned";
  };

  explicit FakeCluster(std::string root = "meta:1") : root_(std::move(root)) {}

  void CreateTable(const std::string& table, const Schema& schema,
                   const std::vector<Tablet>& tablets);
  // Reassigns the tablet to another server (the old one answers NotServing).
  void MoveTablet(const std::string& table, const std::string& id, const std::string& server);
  // Splits tablet id at row into two new tablets on the same server.
  void SplitTablet(const std::string& table, const std::string& id, const std::string& row,
                   const std::string& left_id, const std::string& right_id);
  // Deletes the table: its schema, tablets (NotServing) and META rows.
  void DropTable(const std::string& table);
  // A down server answers NetworkError to everything.
  void SetServerDown(const std::string& server, bool down);
  std::vector<Tablet> tablets(const std::string& table);
  // Cells stored (value cells only), in cell order.
  std::vector<Cell> cells(const std::string& table);
  // RPCs received per server and message, e.g. calls("s1", "apply").
  int calls(const std::string& server, const std::string& what);
  int total_calls(const std::string& what);
  // Called (without the lock) before every ScanPage answer of a data tablet,
  // with the number of data ScanPage calls before this one.
  void OnScanPage(std::function<void(int)> hook);
  int synced(const std::string& table, const std::string& id);
  // Called (without the lock) at the start of every Sync RPC, with the number
  // of Sync RPCs before this one; a test may block in it.
  void OnSync(std::function<void(int)> hook);
  // Called (without the lock) at the start of every Apply RPC, with the number
  // of Apply RPCs before this one; a test may block in it.
  void OnApply(std::function<void(int)> hook);
  // An Apply asking for sync (ApplyRequest::sync) applies, then counts as a
  // Sync of the tablet ("syncapply" in calls(), synced() + 1, the OnSync hook
  // runs between the two, after the rows are applied) and replies durable.
  // false: servers behave like old tabletds, whose backend fell back to a
  // plain Apply (reply not durable; the client sends Sync RPCs).
  void SetApplySyncSupported(bool supported);
  // Every Sync RPC and sync Apply fails with this status (after applying the
  // rows, as a tabletd whose fdatasync fails); OK to stop.
  void FailSyncs(Status status);

  // RemoteBackend.
  Status ReadRoot(std::string* server, int64_t timeout_ms) override;
  Status ReadSchema(const std::string& table, Schema* schema, int64_t timeout_ms) override;
  Status Apply(const std::string& server, const client::ApplyRequest& req, int64_t timeout_ms,
               client::ApplyReply* reply) override;
  Status ConditionalApply(const std::string& server, const client::ConditionalApplyRequest& req,
                          int64_t timeout_ms, client::ApplyReply* reply) override;
  Status Sync(const std::string& server, const client::SyncRequest& req,
              int64_t timeout_ms) override;
  Status ScanPage(const std::string& server, const client::ScanPageRequest& req,
                  int64_t timeout_ms, client::ScanPageReply* reply) override;
  Status GetRowRevision(const std::string& server, const client::RowRevisionRequest& req,
                        int64_t timeout_ms, client::RowRevisionReply* reply) override;

 private:
  struct TableData {
    Schema schema;
    std::vector<Tablet> tablets;
    std::set<Cell, bool (*)(const Cell&, const Cell&)> cells{CellKeyLess};
    std::map<std::string, uint64_t> revisions;
  };
  // REQUIRES: mu_. The tablet if `server` serves it, else NotServing.
  Status Serving(const std::string& server, const client::TabletRef& ref, Tablet** out);
  Status Count(const std::string& server, const std::string& what);
  void ApplyRow(TableData* t, const RowMutation& m);
  std::vector<Cell> MetaCells();

  std::mutex mu_;
  std::string root_;
  std::map<std::string, TableData> tables_;
  std::set<std::string> down_;
  std::map<std::string, int> calls_;  // "server what"
  std::map<std::string, int> synced_;
  std::function<void(int)> scan_hook_;
  std::function<void(int)> sync_hook_;
  int sync_calls_ = 0;
  std::function<void(int)> apply_hook_;
  int apply_calls_ = 0;
  bool apply_sync_ = true;
  Status sync_error_;
  int data_pages_ = 0;
};

// The schema of the fake tables: one family "w".
Schema FakeWordSchema();

// Options of a RemoteTable "t" on the fake cluster: no background flusher
// (deterministic: flushes on size or Sync only), short retries.
client::RemoteTableOptions FakeTableOptions();

}  // namespace kdi::test

#endif  // KDI_T_CLIENT_REMOTE_FAKE_H_
