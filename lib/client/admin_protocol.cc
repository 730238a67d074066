// Codec of the master admin (3b), migration (3c) and master session (600s)
// messages. Byte grammar (primitives as in doc/protocol.md; ref as in
// table_protocol.cc):
//
//   desc    := ref bytes start_row bytes end_row bytes dir
//   tstatus := desc varint32 state (0 serving, 1 frozen) varint64 size_bytes
//              varint64 applies varint64 scans varint64 cells_written
//              varsint64 loaded_at_us
//   split   := desc parent desc left desc right bytes server varsint64 split_time_us
//   sstatus := bytes address varsint64 start_time_us bytes data_root bool shared
//              bytes session_state bool serving varint64 rss_bytes
//              varint64 cache_bytes varint64 applies_per_sec varint64 scans_per_sec
//              count n, n x tstatus  count m, m x split
//   load    := desc bytes schema (Schema binary form) bool create_if_missing
//
//   type                request                                   reply payload
//   400 LoadTablet      load                                      tstatus
//   401 UnloadTablet    ref bool destroy                          (empty)
//   402 SplitTablet     ref bytes split_row bytes left_id         split
//                       bytes right_id
//   403 CommitSplit     ref (of the parent)                       split
//   404 TabletStatus    ref                                       tstatus
//   405 ServerStatus    (empty)                                   sstatus
//   406 MigrateTablet   ref bytes target_address                  tstatus varsint64 unavailable_us
//   500 TakeTablet      load                                      tstatus
//   501 ListTabletFiles ref varint32 chunk_bytes                  count n, n x (bytes name
//                                                                 varint64 size count m,
//                                                                 m x fixed32 crc)
//   502 ReadTabletChunk ref bytes name varint64 offset            bytes data
//                       varint32 length
//   503 PrepareTake     load bytes source_address                 tstatus varint64 bytes_copied
//   504 FinishTake      load bytes source_address                 tstatus varint64 bytes_copied
//   600 KeepAlive       sstatus                                   count n, n x (varint32 type bytes body)
//   601 SplitReport     split                                     (empty)
//
// Limits: dirs 4 KiB, schemas 1 MiB, addresses 1 KiB, rows as in the table
// interface, counts by the remaining input and kMaxTabletsPerServer/kMaxOrders.
#include "lib/client/admin_protocol.h"

#include "lib/util/field_codec.h"

namespace kdi::client {
namespace {

// Each message is described once, for FieldWriter (encode) and FieldReader
// (decode); see lib/util/field_codec.h.

template <class C>
void RefFields(C& c, TabletRef* r) {
  c.Bytes(&r->table, kMaxTableNameBytes);
  c.Bytes(&r->tablet_id, kMaxTabletIdBytes);
}

template <class C>
void DescFields(C& c, TabletDescriptor* d) {
  RefFields(c, &d->tablet);
  c.Bytes(&d->start_row, kMaxWireKeyBytes);
  c.Bytes(&d->end_row, kMaxWireKeyBytes);
  c.Bytes(&d->dir, kMaxDirBytes);
}

template <class C>
void TStatusFields(C& c, TabletStatusInfo* s) {
  DescFields(c, &s->desc);
  c.Enum(&s->state, static_cast<uint32_t>(TabletState::kFrozen), TabletState::kServing);
  c.Varint64(&s->size_bytes);
  c.Varint64(&s->applies);
  c.Varint64(&s->scans);
  c.Varint64(&s->cells_written);
  c.Varsint64(&s->loaded_at_us);
}

template <class C>
void SplitFields(C& c, SplitInfo* s) {
  DescFields(c, &s->parent);
  DescFields(c, &s->left);
  DescFields(c, &s->right);
  c.Bytes(&s->server, kMaxAddressBytes);
  c.Varsint64(&s->split_time_us);
}

// The schema travels as its binary form (Schema::EncodeTo) in a bytes field.
template <class C>
void LoadFields(C& c, LoadTabletRequest* r, std::string* schema) {
  DescFields(c, &r->desc);
  c.Bytes(schema, kMaxSchemaBytes);
  c.Bool(&r->create_if_missing);
}

template <class C>
void UnloadFields(C& c, UnloadTabletRequest* r) {
  RefFields(c, &r->tablet);
  c.Bool(&r->destroy);
}

template <class C>
void SplitRequestFields(C& c, SplitTabletRequest* r) {
  RefFields(c, &r->tablet);
  c.Bytes(&r->split_row, kMaxWireKeyBytes);
  c.Bytes(&r->left_id, kMaxTabletIdBytes);
  c.Bytes(&r->right_id, kMaxTabletIdBytes);
}

template <class C>
void ServerStatusFields(C& c, ServerStatusInfo* s) {
  c.Bytes(&s->address, kMaxAddressBytes);
  c.Varsint64(&s->start_time_us);
  c.Bytes(&s->data_root, kMaxDirBytes);
  c.Bool(&s->shared_data);
  c.Bytes(&s->session_state, 64);
  c.Bool(&s->serving);
  c.Varint64(&s->rss_bytes);
  c.Varint64(&s->cache_bytes);
  c.Varint64(&s->applies_per_sec);
  c.Varint64(&s->scans_per_sec);
  // A tstatus is at least 11 bytes, a split at least 17.
  c.List(&s->tablets, 11, kMaxTabletsPerServer, TStatusFields<C>);
  c.List(&s->pending_splits, 17, kMaxTabletsPerServer, SplitFields<C>);
}

template <class C>
void MigrateRequestFields(C& c, MigrateTabletRequest* r) {
  RefFields(c, &r->tablet);
  c.Bytes(&r->target_address, kMaxAddressBytes);
}

template <class C>
void MigrateReplyFields(C& c, MigrateTabletReply* r) {
  TStatusFields(c, &r->target_status);
  c.Varsint64(&r->unavailable_us);
}

template <class C>
void OrderFields(C& c, MasterOrder* o) {
  c.Varint32(&o->type);
  c.Bytes(&o->body, kMaxWireValueBytes);
}

template <class C>
void KeepAliveReplyFields(C& c, KeepAliveReply* r) {
  c.List(&r->orders, 2, kMaxOrders, OrderFields<C>);
}

template <class C>
void ListFilesRequestFields(C& c, ListTabletFilesRequest* r) {
  RefFields(c, &r->tablet);
  c.Varint32(&r->chunk_bytes);
}

template <class C>
void CrcFields(C& c, uint32_t* crc) {
  c.Fixed32(crc);
}

template <class C>
void FileFields(C& c, TabletFileInfo* f) {
  c.Bytes(&f->name, kMaxFileNameBytes);
  c.Varint64(&f->size);
  c.List(&f->chunk_crcs, 4, UINT32_MAX, CrcFields<C>);
}

template <class C>
void ListFilesReplyFields(C& c, ListTabletFilesReply* r) {
  c.List(&r->files, 3, kMaxTabletFiles, FileFields<C>);
}

template <class C>
void ReadChunkRequestFields(C& c, ReadTabletChunkRequest* r) {
  RefFields(c, &r->tablet);
  c.Bytes(&r->name, kMaxFileNameBytes);
  c.Varint64(&r->offset);
  c.Varint32(&r->length);
}

// The load request travels whole (its own encoding) in a bytes field.
template <class C>
void CopyRequestFields(C& c, std::string* load, CopyTabletRequest* r) {
  c.Bytes(load, kMaxSchemaBytes + 2 * kMaxWireKeyBytes + kMaxDirBytes + 1024);
  c.Bytes(&r->source_address, kMaxAddressBytes);
}

template <class C>
void CopyReplyFields(C& c, CopyTabletReply* r) {
  TStatusFields(c, &r->status);
  c.Varint64(&r->bytes_copied);
}

}  // namespace

const char* AdminMessageName(uint16_t type) {
  switch (type) {
    case kMsgLoadTablet:
      return "LoadTablet";
    case kMsgUnloadTablet:
      return "UnloadTablet";
    case kMsgSplitTablet:
      return "SplitTablet";
    case kMsgCommitSplit:
      return "CommitSplit";
    case kMsgTabletStatus:
      return "TabletStatus";
    case kMsgServerStatus:
      return "ServerStatus";
    case kMsgMigrateTablet:
      return "MigrateTablet";
    case kMsgTakeTablet:
      return "TakeTablet";
    case kMsgListTabletFiles:
      return "ListTabletFiles";
    case kMsgReadTabletChunk:
      return "ReadTabletChunk";
    case kMsgPrepareTake:
      return "PrepareTake";
    case kMsgFinishTake:
      return "FinishTake";
    case kMsgKeepAlive:
      return "KeepAlive";
    case kMsgSplitReport:
      return "SplitReport";
  }
  return "unknown admin message";
}

std::string DefaultTabletDir(const TabletRef& ref) {
  return "tables/" + ref.table + "/" + ref.tablet_id;
}

const char* TabletStateName(TabletState s) {
  return s == TabletState::kFrozen ? "frozen" : "serving";
}

void EncodeTabletRefBody(const TabletRef& ref, std::string* out) {
  EncodeFields(RefFields<FieldWriter>, ref, out);
}

Status DecodeTabletRefBody(std::string_view body, const char* what, TabletRef* ref) {
  return DecodeFields(RefFields<FieldReader>, body, what, ref);
}

void EncodeLoadTabletRequest(const LoadTabletRequest& req, std::string* out) {
  std::string schema;
  req.schema.EncodeTo(&schema);
  FieldWriter w(out);
  LoadFields(w, const_cast<LoadTabletRequest*>(&req), &schema);
}

Status DecodeLoadTabletRequest(std::string_view body, LoadTabletRequest* req) {
  std::string schema;
  FieldReader r(body);
  LoadFields(r, req, &schema);
  RETURN_NOT_OK(r.status("LoadTablet request (schemas are at most 1 MiB)"));
  return Schema::DecodeFrom(schema, &req->schema).CloneAndPrepend("LoadTablet request: schema");
}

void EncodeTabletStatusInfo(const TabletStatusInfo& info, std::string* out) {
  EncodeFields(TStatusFields<FieldWriter>, info, out);
}

Status DecodeTabletStatusInfo(std::string_view body, TabletStatusInfo* info) {
  return DecodeFields(TStatusFields<FieldReader>, body, "tablet status", info);
}

void EncodeUnloadTabletRequest(const UnloadTabletRequest& req, std::string* out) {
  EncodeFields(UnloadFields<FieldWriter>, req, out);
}

Status DecodeUnloadTabletRequest(std::string_view body, UnloadTabletRequest* req) {
  return DecodeFields(UnloadFields<FieldReader>, body, "UnloadTablet request", req);
}

void EncodeSplitTabletRequest(const SplitTabletRequest& req, std::string* out) {
  EncodeFields(SplitRequestFields<FieldWriter>, req, out);
}

Status DecodeSplitTabletRequest(std::string_view body, SplitTabletRequest* req) {
  return DecodeFields(SplitRequestFields<FieldReader>, body, "SplitTablet request", req);
}

void EncodeSplitInfo(const SplitInfo& info, std::string* out) {
  EncodeFields(SplitFields<FieldWriter>, info, out);
}

Status DecodeSplitInfo(std::string_view body, SplitInfo* info) {
  return DecodeFields(SplitFields<FieldReader>, body, "split info", info);
}

void EncodeServerStatusInfo(const ServerStatusInfo& s, std::string* out) {
  EncodeFields(ServerStatusFields<FieldWriter>, s, out);
}

Status DecodeServerStatusInfo(std::string_view body, ServerStatusInfo* s) {
  return DecodeFields(ServerStatusFields<FieldReader>, body, "server status", s);
}

void EncodeMigrateTabletRequest(const MigrateTabletRequest& req, std::string* out) {
  EncodeFields(MigrateRequestFields<FieldWriter>, req, out);
}

Status DecodeMigrateTabletRequest(std::string_view body, MigrateTabletRequest* req) {
  return DecodeFields(MigrateRequestFields<FieldReader>, body, "MigrateTablet request", req);
}

void EncodeMigrateTabletReply(const MigrateTabletReply& reply, std::string* out) {
  EncodeFields(MigrateReplyFields<FieldWriter>, reply, out);
}

Status DecodeMigrateTabletReply(std::string_view body, MigrateTabletReply* reply) {
  return DecodeFields(MigrateReplyFields<FieldReader>, body, "MigrateTablet reply", reply);
}

void EncodeKeepAliveReply(const KeepAliveReply& reply, std::string* out) {
  EncodeFields(KeepAliveReplyFields<FieldWriter>, reply, out);
}

Status DecodeKeepAliveReply(std::string_view body, KeepAliveReply* reply) {
  return DecodeFields(KeepAliveReplyFields<FieldReader>, body, "KeepAlive reply", reply);
}

bool IsPlainFileName(std::string_view name) {
  if (name.empty() || name.size() > kMaxFileNameBytes || name == "." || name == "..") {
    return false;
  }
  return name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

void EncodeListTabletFilesRequest(const ListTabletFilesRequest& req, std::string* out) {
  EncodeFields(ListFilesRequestFields<FieldWriter>, req, out);
}

Status DecodeListTabletFilesRequest(std::string_view body, ListTabletFilesRequest* req) {
  RETURN_NOT_OK(
      DecodeFields(ListFilesRequestFields<FieldReader>, body, "ListTabletFiles request", req));
  if (req->chunk_bytes != 0 && (req->chunk_bytes < 4096 || req->chunk_bytes > kMaxChunkBytes)) {
    return Status::InvalidArgument("ListTabletFiles: chunk_bytes must be 0 or 4 KiB..4 MiB");
  }
  return Status::OK();
}

void EncodeListTabletFilesReply(const ListTabletFilesReply& reply, std::string* out) {
  EncodeFields(ListFilesReplyFields<FieldWriter>, reply, out);
}

Status DecodeListTabletFilesReply(std::string_view body, ListTabletFilesReply* reply) {
  RETURN_NOT_OK(
      DecodeFields(ListFilesReplyFields<FieldReader>, body, "ListTabletFiles reply", reply));
  for (const TabletFileInfo& f : reply->files) {
    if (!IsPlainFileName(f.name)) {
      return Status::ProtocolError("ListTabletFiles reply: bad file name");
    }
  }
  return Status::OK();
}

void EncodeReadTabletChunkRequest(const ReadTabletChunkRequest& req, std::string* out) {
  EncodeFields(ReadChunkRequestFields<FieldWriter>, req, out);
}

Status DecodeReadTabletChunkRequest(std::string_view body, ReadTabletChunkRequest* req) {
  RETURN_NOT_OK(
      DecodeFields(ReadChunkRequestFields<FieldReader>, body, "ReadTabletChunk request", req));
  if (!IsPlainFileName(req->name)) {
    return Status::InvalidArgument("ReadTabletChunk: bad file name");
  }
  if (req->length == 0 || req->length > kMaxChunkBytes) {
    return Status::InvalidArgument("ReadTabletChunk: length must be 1 B..4 MiB");
  }
  return Status::OK();
}

void EncodeCopyTabletRequest(const CopyTabletRequest& req, std::string* out) {
  std::string load;
  EncodeLoadTabletRequest(req.load, &load);
  FieldWriter w(out);
  CopyRequestFields(w, &load, const_cast<CopyTabletRequest*>(&req));
}

Status DecodeCopyTabletRequest(std::string_view body, CopyTabletRequest* req) {
  std::string load;
  FieldReader r(body);
  CopyRequestFields(r, &load, req);
  RETURN_NOT_OK(r.status("copy tablet request"));
  return DecodeLoadTabletRequest(load, &req->load);
}

void EncodeCopyTabletReply(const CopyTabletReply& reply, std::string* out) {
  EncodeFields(CopyReplyFields<FieldWriter>, reply, out);
}

Status DecodeCopyTabletReply(std::string_view body, CopyTabletReply* reply) {
  return DecodeFields(CopyReplyFields<FieldReader>, body, "copy tablet reply", reply);
}

}  // namespace kdi::client
