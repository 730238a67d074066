// The 2a table-meta interface of masterd (message types 200-299): messages,
// value types and their byte encodings. Byte grammar at the top of
// meta_protocol.cc and in doc/masterd.md.
//
// Roles (CLUSTER.md): CreateTable, DeleteTable, AlterTable and Fsck with repair
// need the admin or server role (others get PermissionDenied); the reads
// (ListTables, DescribeTable, ListTablets, ListServers, Fsck without repair,
// MasterStatus) are open to every authenticated principal. A standby master
// (not holding /kdi/master) answers everything but MasterStatus with
// ServiceUnavailable, naming the active master when it knows it.
//
// Pure functions and value types; any thread.
#ifndef KDI_LIB_CLIENT_META_PROTOCOL_H_
#define KDI_LIB_CLIENT_META_PROTOCOL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/schema.h"
#include "kdi/status.h"
#include "lib/client/meta_layout.h"
#include "lib/rpc/message_types.h"

namespace kdi::meta {

enum MetaMessage : uint16_t {
  kMsgCreateTable = rpc::kMetaBlockBegin + 0,    // 200
  kMsgDeleteTable = rpc::kMetaBlockBegin + 1,    // 201
  kMsgAlterTable = rpc::kMetaBlockBegin + 2,     // 202
  kMsgListTables = rpc::kMetaBlockBegin + 3,     // 203
  kMsgDescribeTable = rpc::kMetaBlockBegin + 4,  // 204
  kMsgListTablets = rpc::kMetaBlockBegin + 5,    // 205
  kMsgListServers = rpc::kMetaBlockBegin + 6,    // 206
  kMsgFsck = rpc::kMetaBlockBegin + 7,           // 207
  kMsgMasterStatus = rpc::kMetaBlockBegin + 8,   // 208
};
const char* MetaMessageName(uint16_t type);

// Limits checked before allocating.
constexpr uint32_t kMaxSplitRows = 100000;
constexpr uint32_t kMaxAlterOps = 1024;
constexpr size_t kMaxNameBytes = 1024;
constexpr size_t kMaxMetaSchemaBytes = 1u << 20;
constexpr uint32_t kMaxListItems = 1u << 22;

// 200 CreateTable
struct CreateTableRequest {
  std::string name;
  Schema schema;
  // Initial split rows (sorted, distinct, non-empty): n rows make n+1 tablets.
  std::vector<std::string> split_rows;
};

// 201 DeleteTable / 204 DescribeTable / 205 ListTablets: the name alone.
struct TableNameRequest {
  std::string name;
};

// 202 AlterTable: the operations apply in order to the current schema.
struct AlterOp {
  enum class Kind : uint8_t {
    kSetFamily = 0,     // add the family, or replace its settings
    kRemoveFamily = 1,  // remove it; with data in it, only when force
  };
  Kind kind = Kind::kSetFamily;
  FamilyOptions family;  // for kRemoveFamily only the name matters
};
struct AlterTableRequest {
  std::string name;
  std::vector<AlterOp> ops;
  bool force = false;
};

// Reply of 204 DescribeTable (and of 200/202: the resulting table).
struct TableInfo {
  std::string name;
  Schema schema;
  uint32_t num_tablets = 0;
  uint32_t num_assigned = 0;  // tablets in state assigned
};

// Reply of 203 ListTables.
struct TableList {
  std::vector<std::string> names;
};

// Reply of 205 ListTablets.
struct TabletInfo {
  TabletMeta meta;
  uint64_t size_bytes = 0;  // from the last keepAlive of its server (0 if unknown)
};
struct TabletList {
  std::vector<TabletInfo> tablets;
};

// Reply of 206 ListServers.
struct ServerInfo {
  std::string address;
  bool live = false;           // holds its /kdi/servers lock
  bool shared_data = false;
  std::string data_root;
  uint32_t tablets = 0;        // tablets META assigns to it
  uint64_t applies_per_sec = 0;
  uint64_t scans_per_sec = 0;
  uint64_t rss_bytes = 0;
  int64_t last_keepalive_us = 0;  // 0: never
};
struct ServerList {
  std::vector<ServerInfo> servers;
};

// 207 Fsck
struct FsckRequest {
  bool repair = false;
};
struct FsckReply {
  uint32_t problems = 0;   // found (before repair)
  uint32_t repaired = 0;
  std::vector<std::string> lines;  // one finding or action per line
};

// Reply of 208 MasterStatus.
struct MasterStatusInfo {
  std::string address;
  bool active = false;
  std::string active_master;  // contents of /kdi/master ("" if unknown)
  uint32_t tables = 0;
  uint32_t tablets = 0;
  uint32_t unassigned = 0;    // not assigned (any state but assigned)
  uint32_t live_servers = 0;
};

void EncodeCreateTableRequest(const CreateTableRequest& req, std::string* out);
Status DecodeCreateTableRequest(std::string_view body, CreateTableRequest* req);
void EncodeTableNameRequest(const TableNameRequest& req, std::string* out);
Status DecodeTableNameRequest(std::string_view body, TableNameRequest* req);
void EncodeAlterTableRequest(const AlterTableRequest& req, std::string* out);
Status DecodeAlterTableRequest(std::string_view body, AlterTableRequest* req);
void EncodeTableInfo(const TableInfo& info, std::string* out);
Status DecodeTableInfo(std::string_view body, TableInfo* info);
void EncodeTableList(const TableList& list, std::string* out);
Status DecodeTableList(std::string_view body, TableList* list);
void EncodeTabletList(const TabletList& list, std::string* out);
Status DecodeTabletList(std::string_view body, TabletList* list);
void EncodeServerList(const ServerList& list, std::string* out);
Status DecodeServerList(std::string_view body, ServerList* list);
void EncodeFsckRequest(const FsckRequest& req, std::string* out);
Status DecodeFsckRequest(std::string_view body, FsckRequest* req);
void EncodeFsckReply(const FsckReply& reply, std::string* out);
Status DecodeFsckReply(std::string_view body, FsckReply* reply);
void EncodeMasterStatusInfo(const MasterStatusInfo& info, std::string* out);
Status DecodeMasterStatusInfo(std::string_view body, MasterStatusInfo* info);

// Applies alter ops to a schema (what masterd does; exposed for tests and for
// kdicli's dry run). NotFound removing an unknown family; InvalidArgument for a
// bad family.
Status ApplyAlterOps(const std::vector<AlterOp>& ops, Schema* schema);

}  // namespace kdi::meta

#endif  // KDI_LIB_CLIENT_META_PROTOCOL_H_
