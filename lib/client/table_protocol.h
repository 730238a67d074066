// The table interface (3a, message types 300-399): request and reply bodies
// exchanged between table clients (libkdi's kdi:// tables, masterd for META)
// and tabletd. The byte grammar of every message is written at the top of
// table_protocol.cc and in doc/tabletd.md.
//
// Every request names its tablet explicitly (table name + tablet id, learned
// from META). A tabletd answers NotServing when it does not serve that tablet
// right now, InvalidArgument when a row lies outside the tablet's range or the
// mutation is invalid (empty row, row > 64 KiB, unknown family, value too big).
//
// Decoders are bounds-checked (lib/util/coding.h Decoder) and limit-checked
// before allocating; a malformed body gives ProtocolError naming the message.
// The wire limits here are deliberately looser than the semantic ones (a 70 KiB
// row decodes and is then refused with a clear InvalidArgument by validation).
//
// Pure functions and value types; any thread.
#ifndef KDI_LIB_CLIENT_TABLE_PROTOCOL_H_
#define KDI_LIB_CLIENT_TABLE_PROTOCOL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/cell.h"
#include "kdi/scan_predicate.h"
#include "kdi/status.h"
#include "kdi/table.h"
#include "lib/rpc/message_types.h"
#include "lib/util/coding.h"

namespace kdi::client {

enum TableMessage : uint16_t {
  kMsgApply = rpc::kTableBlockBegin + 0,             // 300
  kMsgConditionalApply = rpc::kTableBlockBegin + 1,  // 301
  kMsgSync = rpc::kTableBlockBegin + 2,              // 302
  kMsgScanPage = rpc::kTableBlockBegin + 3,          // 303
  kMsgGetRowRevision = rpc::kTableBlockBegin + 4,    // 304
  kMsgApplyWithFlags = rpc::kTableBlockBegin + 5,    // 305
};
const char* TableMessageName(uint16_t type);

// Wire limits, enforced by the decoders.
constexpr size_t kMaxTableNameBytes = 255;
constexpr size_t kMaxTabletIdBytes = 64;
constexpr size_t kMaxWireKeyBytes = 1 << 20;        // a row or column on the wire
constexpr size_t kMaxWireValueBytes = 72u << 20;    // = the default frame limit
constexpr uint32_t kMaxBatchRows = 1u << 20;
constexpr uint32_t kMaxMutationsPerRow = 1u << 20;
constexpr uint32_t kMaxConditions = 4096;
constexpr size_t kMaxPredicateBytes = 16u << 20;
constexpr size_t kMaxResumeTokenBytes = 1u << 20;
constexpr uint32_t kMaxScanPageCells = 1u << 20;
constexpr uint64_t kMaxScanPageBytes = 32u << 20;

// Which tablet a request is for.
struct TabletRef {
  std::string table;
  std::string tablet_id;

  std::string ToString() const { return table + "/" + tablet_id; }
  bool operator==(const TabletRef& o) const {
    return table == o.table && tablet_id == o.tablet_id;
  }
  bool operator<(const TabletRef& o) const {
    return table != o.table ? table < o.table : tablet_id < o.tablet_id;
  }
};

// Tablet ids: [A-Za-z0-9_-]{1,64} (CLUSTER.md). Table names: 1..255 bytes,
// no '/' and no NUL (they become lock-service path components and META keys).
bool IsValidTabletId(std::string_view id);
bool IsValidTableName(std::string_view name);
// InvalidArgument naming the bad part, else OK.
Status CheckTabletRef(const TabletRef& ref);

// Apply (300) carries tablet + rows. ApplyWithFlags (305) carries the same
// and a flags word; the only flag is kApplyFlagSync: the tabletd makes the
// tablet durable (Tablet::Sync: this batch and every write it acknowledged
// before) before it replies OK, so the reply also counts as a Sync of the
// tablet sent after the batch. Other flag bits are refused (InvalidArgument)
// by the decoder, so a future flag never gets silently ignored.
constexpr uint32_t kApplyFlagSync = 1u << 0;
constexpr uint32_t kApplyKnownFlags = kApplyFlagSync;

struct ApplyRequest {
  TabletRef tablet;
  std::vector<RowMutation> rows;
  // Only sent with ApplyWithFlags: true = kApplyFlagSync.
  bool sync = false;
};
// Reply of Apply and ConditionalApply: the commit's row revision.
struct ApplyReply {
  uint64_t revision = 0;
  // Not on the wire: set by the RemoteBackend when the request asked for sync
  // and the server did make it durable (false after the fallback to plain
  // Apply for a server that does not know ApplyWithFlags).
  bool durable = false;
};

struct ConditionalApplyRequest {
  TabletRef tablet;
  std::vector<Condition> conditions;
  RowMutation mutation;
};

struct SyncRequest {
  TabletRef tablet;
};

struct ScanPageRequest {
  TabletRef tablet;
  ScanPredicate predicate;
  std::string resume_token;  // "" to start
  uint32_t max_cells = 4096;
  uint64_t max_bytes = 4u << 20;
};
struct ScanPageReply {
  std::vector<Cell> cells;
  std::string resume_token;
  bool done = false;
};

struct RowRevisionRequest {
  TabletRef tablet;
  std::string row;
};
struct RowRevisionReply {
  uint64_t revision = 0;
};

void EncodeApplyRequest(const ApplyRequest& req, std::string* out);
Status DecodeApplyRequest(std::string_view body, ApplyRequest* req);
// 305: the Apply body with the flags word after the tablet reference.
// Unknown flag bits: InvalidArgument (the rest of the body is not decoded).
void EncodeApplyWithFlagsRequest(const ApplyRequest& req, std::string* out);
Status DecodeApplyWithFlagsRequest(std::string_view body, ApplyRequest* req);
void EncodeApplyReply(const ApplyReply& reply, std::string* out);
Status DecodeApplyReply(std::string_view body, ApplyReply* reply);

void EncodeConditionalApplyRequest(const ConditionalApplyRequest& req, std::string* out);
Status DecodeConditionalApplyRequest(std::string_view body, ConditionalApplyRequest* req);

void EncodeSyncRequest(const SyncRequest& req, std::string* out);
Status DecodeSyncRequest(std::string_view body, SyncRequest* req);

void EncodeScanPageRequest(const ScanPageRequest& req, std::string* out);
Status DecodeScanPageRequest(std::string_view body, ScanPageRequest* req);
void EncodeScanPageReply(const ScanPageReply& reply, std::string* out);
// The same bytes, straight from cells[0, n) (a tabletd encodes the storage
// engine's page without moving it into a ScanPageReply). The exact size is
// computed first and *out grows once: no regrowth copies.
void EncodeScanPageCells(const Cell* cells, size_t n, std::string_view resume_token, bool done,
                         std::string* out);
// Bytes EncodeScanPageCells appends for these cells and token.
size_t ScanPageReplySize(const Cell* cells, size_t n, std::string_view resume_token);
// Reuses reply->cells: the Cells already there are overwritten in place (their
// strings keep their capacity), so decoding page after page into the same
// reply allocates nothing per cell. On error the cells are unspecified.
Status DecodeScanPageReply(std::string_view body, ScanPageReply* reply);

void EncodeRowRevisionRequest(const RowRevisionRequest& req, std::string* out);
Status DecodeRowRevisionRequest(std::string_view body, RowRevisionRequest* req);
void EncodeRowRevisionReply(const RowRevisionReply& reply, std::string* out);
Status DecodeRowRevisionReply(std::string_view body, RowRevisionReply* reply);

// Building blocks shared with admin_protocol.cc. Get* record failures in the
// Decoder (check d->ok() / d->status() afterwards).
void PutTabletRef(std::string* out, const TabletRef& ref);
void GetTabletRef(Decoder* d, TabletRef* ref);

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_TABLE_PROTOCOL_H_
