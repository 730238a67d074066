// The server-role interfaces around tabletd: 3b master admin (400-499,
// masterd -> tabletd), 3c tablet migration (500-599, tabletd -> tabletd) and
// the master session (600-699, tabletd -> masterd: keepAlive and split
// reports). Byte grammar at the top of admin_protocol.cc and in doc/tabletd.md.
// Every message here is accepted from the server role only.
//
// Split protocol (see doc/tabletd.md "Splits"): a split, ordered (SplitTablet)
// or automatic, leaves the parent *frozen* (reads served, writes refused with
// ServiceUnavailable) and the children built on disk but not served. It becomes
// effective when the master has recorded both children in META and
//   - answers the tabletd's SplitReport (601) with OK, or
//   - sends CommitSplit (403) for the parent.
// The tabletd then locks and serves both children itself, closes the parent
// and removes its directory. Until then every keepAlive repeats the pending
// split, so a master that was down learns it on its first keepAlive. If the
// tabletd dies before the commit, the parent directory is intact and complete
// (it took no writes after the split) and the children are orphans.
//
// Pure functions and value types; any thread.
#ifndef KDI_LIB_CLIENT_ADMIN_PROTOCOL_H_
#define KDI_LIB_CLIENT_ADMIN_PROTOCOL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/schema.h"
#include "kdi/status.h"
#include "lib/client/table_protocol.h"
#include "lib/rpc/message_types.h"

namespace kdi::client {

enum AdminMessage : uint16_t {
  kMsgLoadTablet = rpc::kAdminBlockBegin + 0,    // 400
  kMsgUnloadTablet = rpc::kAdminBlockBegin + 1,  // 401
  kMsgSplitTablet = rpc::kAdminBlockBegin + 2,   // 402
  kMsgCommitSplit = rpc::kAdminBlockBegin + 3,   // 403
  kMsgTabletStatus = rpc::kAdminBlockBegin + 4,  // 404
  kMsgServerStatus = rpc::kAdminBlockBegin + 5,  // 405
  kMsgMigrateTablet = rpc::kAdminBlockBegin + 6, // 406
};
enum MigrationMessage : uint16_t {
  kMsgTakeTablet = rpc::kMigrationBlockBegin + 0,       // 500
  kMsgListTabletFiles = rpc::kMigrationBlockBegin + 1,  // 501
  kMsgReadTabletChunk = rpc::kMigrationBlockBegin + 2,  // 502
  kMsgPrepareTake = rpc::kMigrationBlockBegin + 3,      // 503
  kMsgFinishTake = rpc::kMigrationBlockBegin + 4,       // 504
};
enum MasterSessionMessage : uint16_t {
  kMsgKeepAlive = rpc::kMasterSessionBlockBegin + 0,    // 600
  kMsgSplitReport = rpc::kMasterSessionBlockBegin + 1,  // 601
};
const char* AdminMessageName(uint16_t type);

constexpr size_t kMaxDirBytes = 4096;
constexpr size_t kMaxSchemaBytes = 1u << 20;
constexpr size_t kMaxAddressBytes = 1024;
constexpr uint32_t kMaxTabletsPerServer = 1u << 20;
constexpr uint32_t kMaxOrders = 1u << 16;
constexpr size_t kMaxFileNameBytes = 255;
constexpr uint32_t kMaxTabletFiles = 100000;
constexpr uint32_t kMaxChunkBytes = 4u << 20;

// Where a tablet is and what it covers: rows [start_row, end_row), empty
// end_row = +infinity; dir is relative to the data root ("tables/T/ID").
struct TabletDescriptor {
  TabletRef tablet;
  std::string start_row;
  std::string end_row;
  std::string dir;

  bool operator==(const TabletDescriptor& o) const {
    return tablet == o.tablet && start_row == o.start_row && end_row == o.end_row &&
           dir == o.dir;
  }
};
// "tables/<TABLE>/<ID>"
std::string DefaultTabletDir(const TabletRef& ref);

enum class TabletState : uint8_t {
  kServing = 0,
  kFrozen = 1,  // split done, waiting for the master's commit: reads only
};
const char* TabletStateName(TabletState s);

struct TabletStatusInfo {
  TabletDescriptor desc;
  TabletState state = TabletState::kServing;
  uint64_t size_bytes = 0;
  uint64_t applies = 0;        // Apply/ConditionalApply requests since load
  uint64_t scans = 0;          // ScanPage requests since load
  uint64_t cells_written = 0;  // mutations applied since load
  int64_t loaded_at_us = 0;
};

// 400 LoadTablet (and 500 TakeTablet from another tabletd).
struct LoadTabletRequest {
  TabletDescriptor desc;
  Schema schema;
  // Create an empty tablet if desc.dir holds none (new table / first tablet).
  bool create_if_missing = false;
};

// 401 UnloadTablet. destroy: also remove the directory; only for a retired
// split parent whose children META already records.
struct UnloadTabletRequest {
  TabletRef tablet;
  bool destroy = false;
};

// 402 SplitTablet. Empty split_row: near the median. Empty child ids: the
// tabletd makes fresh ones ("<time hex>-<random hex>").
struct SplitTabletRequest {
  TabletRef tablet;
  std::string split_row;
  std::string left_id;
  std::string right_id;
};

// Reply of SplitTablet and CommitSplit; body of SplitReport.
struct SplitInfo {
  TabletDescriptor parent;
  TabletDescriptor left;   // [parent.start, split_row)
  TabletDescriptor right;  // [split_row, parent.end)
  std::string server;      // HOST:PORT of the tabletd that split
  int64_t split_time_us = 0;
};

// 403 CommitSplit: the parent's ref.
struct CommitSplitRequest {
  TabletRef parent;
};

// 404 TabletStatus: the ref; reply TabletStatusInfo.

// Reply of 405 ServerStatus; body of 600 KeepAlive.
struct ServerStatusInfo {
  std::string address;  // HOST:PORT
  int64_t start_time_us = 0;
  std::string data_root;
  bool shared_data = false;
  std::string session_state;  // "safe" | "jeopardy" | "expired" | "none"
  bool serving = true;        // false while in jeopardy or re-registering
  uint64_t rss_bytes = 0;
  uint64_t cache_bytes = 0;   // server-wide budget
  uint64_t applies_per_sec = 0;  // over the last status interval
  uint64_t scans_per_sec = 0;
  std::vector<TabletStatusInfo> tablets;
  std::vector<SplitInfo> pending_splits;  // done, not yet committed
};

// 406 MigrateTablet (master -> source tabletd A). Shared data root: A stops
// writes, syncs, closes and unlocks the tablet, then sends TakeTablet to
// target. Separate roots: target copies the files while A serves
// (PrepareTake), A stops and closes the tablet, target catches up and takes
// over (FinishTake). If the target fails, A takes the tablet back and returns
// the error.
struct MigrateTabletRequest {
  TabletRef tablet;
  std::string target_address;
};
struct MigrateTabletReply {
  TabletStatusInfo target_status;
  int64_t unavailable_us = 0;  // from A refusing writes to B serving
};

// ---- separate data roots: copying a tablet between tabletds (3c) ----------
// The source A exposes the files of a tablet it is migrating out (only those)
// through 501/502; the target B copies them while A serves (503 PrepareTake),
// then, after A stopped and closed the tablet, fetches only the chunks that
// changed and takes the tablet over (504 FinishTake). See doc/tabletd.md.
struct TabletFileInfo {
  std::string name;                  // a regular file directly in the tablet dir
  uint64_t size = 0;
  std::vector<uint32_t> chunk_crcs;  // CRC-32 of each chunk_bytes chunk (if asked)
};
struct ListTabletFilesRequest {
  TabletRef tablet;
  uint32_t chunk_bytes = 0;  // 0: no checksums
};
struct ListTabletFilesReply {
  std::vector<TabletFileInfo> files;
};
struct ReadTabletChunkRequest {
  TabletRef tablet;
  std::string name;
  uint64_t offset = 0;
  uint32_t length = 0;  // <= kMaxChunkBytes
};
// 503 PrepareTake and 504 FinishTake (A -> B).
struct CopyTabletRequest {
  LoadTabletRequest load;
  std::string source_address;
};
struct CopyTabletReply {
  TabletStatusInfo status;  // FinishTake only
  uint64_t bytes_copied = 0;
};

void EncodeListTabletFilesRequest(const ListTabletFilesRequest& req, std::string* out);
Status DecodeListTabletFilesRequest(std::string_view body, ListTabletFilesRequest* req);
void EncodeListTabletFilesReply(const ListTabletFilesReply& reply, std::string* out);
Status DecodeListTabletFilesReply(std::string_view body, ListTabletFilesReply* reply);
void EncodeReadTabletChunkRequest(const ReadTabletChunkRequest& req, std::string* out);
Status DecodeReadTabletChunkRequest(std::string_view body, ReadTabletChunkRequest* req);
void EncodeCopyTabletRequest(const CopyTabletRequest& req, std::string* out);
Status DecodeCopyTabletRequest(std::string_view body, CopyTabletRequest* req);
void EncodeCopyTabletReply(const CopyTabletReply& reply, std::string* out);
Status DecodeCopyTabletReply(std::string_view body, CopyTabletReply* reply);
// True for a plain file name: 1..255 bytes, no '/', NUL, "." or "..".
bool IsPlainFileName(std::string_view name);

// Orders a master may attach to a keepAlive reply (none defined yet; a
// tabletd ignores types it does not know).
struct MasterOrder {
  uint32_t type = 0;
  std::string body;
};
struct KeepAliveReply {
  std::vector<MasterOrder> orders;
};

void EncodeTabletRefBody(const TabletRef& ref, std::string* out);
Status DecodeTabletRefBody(std::string_view body, const char* what, TabletRef* ref);

void EncodeLoadTabletRequest(const LoadTabletRequest& req, std::string* out);
Status DecodeLoadTabletRequest(std::string_view body, LoadTabletRequest* req);
void EncodeTabletStatusInfo(const TabletStatusInfo& info, std::string* out);
Status DecodeTabletStatusInfo(std::string_view body, TabletStatusInfo* info);

void EncodeUnloadTabletRequest(const UnloadTabletRequest& req, std::string* out);
Status DecodeUnloadTabletRequest(std::string_view body, UnloadTabletRequest* req);

void EncodeSplitTabletRequest(const SplitTabletRequest& req, std::string* out);
Status DecodeSplitTabletRequest(std::string_view body, SplitTabletRequest* req);
void EncodeSplitInfo(const SplitInfo& info, std::string* out);
Status DecodeSplitInfo(std::string_view body, SplitInfo* info);

void EncodeServerStatusInfo(const ServerStatusInfo& info, std::string* out);
Status DecodeServerStatusInfo(std::string_view body, ServerStatusInfo* info);

void EncodeMigrateTabletRequest(const MigrateTabletRequest& req, std::string* out);
Status DecodeMigrateTabletRequest(std::string_view body, MigrateTabletRequest* req);
void EncodeMigrateTabletReply(const MigrateTabletReply& reply, std::string* out);
Status DecodeMigrateTabletReply(std::string_view body, MigrateTabletReply* reply);

void EncodeKeepAliveReply(const KeepAliveReply& reply, std::string* out);
Status DecodeKeepAliveReply(std::string_view body, KeepAliveReply* reply);

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_ADMIN_PROTOCOL_H_
