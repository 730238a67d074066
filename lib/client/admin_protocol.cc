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

namespace kdi::client {
namespace {

void PutDesc(std::string* out, const TabletDescriptor& d) {
  PutTabletRef(out, d.tablet);
  PutLengthPrefixed(out, d.start_row);
  PutLengthPrefixed(out, d.end_row);
  PutLengthPrefixed(out, d.dir);
}

void GetDesc(Decoder* d, TabletDescriptor* desc) {
  GetTabletRef(d, &desc->tablet);
  d->GetLengthPrefixed(&desc->start_row, kMaxWireKeyBytes);
  d->GetLengthPrefixed(&desc->end_row, kMaxWireKeyBytes);
  d->GetLengthPrefixed(&desc->dir, kMaxDirBytes);
}

void PutTStatus(std::string* out, const TabletStatusInfo& s) {
  PutDesc(out, s.desc);
  PutVarint32(out, static_cast<uint32_t>(s.state));
  PutVarint64(out, s.size_bytes);
  PutVarint64(out, s.applies);
  PutVarint64(out, s.scans);
  PutVarint64(out, s.cells_written);
  PutVarsint64(out, s.loaded_at_us);
}

void GetTStatus(Decoder* d, TabletStatusInfo* s) {
  GetDesc(d, &s->desc);
  uint32_t state = 0;
  d->GetVarint32(&state);
  s->state = state == 1 ? TabletState::kFrozen : TabletState::kServing;
  d->GetVarint64(&s->size_bytes);
  d->GetVarint64(&s->applies);
  d->GetVarint64(&s->scans);
  d->GetVarint64(&s->cells_written);
  d->GetVarsint64(&s->loaded_at_us);
}

void PutSplit(std::string* out, const SplitInfo& s) {
  PutDesc(out, s.parent);
  PutDesc(out, s.left);
  PutDesc(out, s.right);
  PutLengthPrefixed(out, s.server);
  PutVarsint64(out, s.split_time_us);
}

void GetSplit(Decoder* d, SplitInfo* s) {
  GetDesc(d, &s->parent);
  GetDesc(d, &s->left);
  GetDesc(d, &s->right);
  d->GetLengthPrefixed(&s->server, kMaxAddressBytes);
  d->GetVarsint64(&s->split_time_us);
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

void EncodeTabletRefBody(const TabletRef& ref, std::string* out) { PutTabletRef(out, ref); }

Status DecodeTabletRefBody(std::string_view body, const char* what, TabletRef* ref) {
  Decoder d(body);
  GetTabletRef(&d, ref);
  return d.status(what);
}

void EncodeLoadTabletRequest(const LoadTabletRequest& req, std::string* out) {
  PutDesc(out, req.desc);
  std::string schema;
  req.schema.EncodeTo(&schema);
  PutLengthPrefixed(out, schema);
  PutBool(out, req.create_if_missing);
}

Status DecodeLoadTabletRequest(std::string_view body, LoadTabletRequest* req) {
  Decoder d(body);
  GetDesc(&d, &req->desc);
  std::string_view schema;
  d.GetLengthPrefixed(&schema);
  d.GetBool(&req->create_if_missing);
  RETURN_NOT_OK(d.status("LoadTablet request"));
  if (schema.size() > kMaxSchemaBytes) {
    return Status::ProtocolError("LoadTablet request: schema larger than 1 MiB");
  }
  return Schema::DecodeFrom(schema, &req->schema).CloneAndPrepend("LoadTablet request: schema");
}

void EncodeTabletStatusInfo(const TabletStatusInfo& info, std::string* out) {
  PutTStatus(out, info);
}

Status DecodeTabletStatusInfo(std::string_view body, TabletStatusInfo* info) {
  Decoder d(body);
  GetTStatus(&d, info);
  return d.status("tablet status");
}

void EncodeUnloadTabletRequest(const UnloadTabletRequest& req, std::string* out) {
  PutTabletRef(out, req.tablet);
  PutBool(out, req.destroy);
}

Status DecodeUnloadTabletRequest(std::string_view body, UnloadTabletRequest* req) {
  Decoder d(body);
  GetTabletRef(&d, &req->tablet);
  d.GetBool(&req->destroy);
  return d.status("UnloadTablet request");
}

void EncodeSplitTabletRequest(const SplitTabletRequest& req, std::string* out) {
  PutTabletRef(out, req.tablet);
  PutLengthPrefixed(out, req.split_row);
  PutLengthPrefixed(out, req.left_id);
  PutLengthPrefixed(out, req.right_id);
}

Status DecodeSplitTabletRequest(std::string_view body, SplitTabletRequest* req) {
  Decoder d(body);
  GetTabletRef(&d, &req->tablet);
  d.GetLengthPrefixed(&req->split_row, kMaxWireKeyBytes);
  d.GetLengthPrefixed(&req->left_id, kMaxTabletIdBytes);
  d.GetLengthPrefixed(&req->right_id, kMaxTabletIdBytes);
  return d.status("SplitTablet request");
}

void EncodeSplitInfo(const SplitInfo& info, std::string* out) { PutSplit(out, info); }

Status DecodeSplitInfo(std::string_view body, SplitInfo* info) {
  Decoder d(body);
  GetSplit(&d, info);
  return d.status("split info");
}

void EncodeServerStatusInfo(const ServerStatusInfo& s, std::string* out) {
  PutLengthPrefixed(out, s.address);
  PutVarsint64(out, s.start_time_us);
  PutLengthPrefixed(out, s.data_root);
  PutBool(out, s.shared_data);
  PutLengthPrefixed(out, s.session_state);
  PutBool(out, s.serving);
  PutVarint64(out, s.rss_bytes);
  PutVarint64(out, s.cache_bytes);
  PutVarint64(out, s.applies_per_sec);
  PutVarint64(out, s.scans_per_sec);
  PutVarint32(out, static_cast<uint32_t>(s.tablets.size()));
  for (const TabletStatusInfo& t : s.tablets) PutTStatus(out, t);
  PutVarint32(out, static_cast<uint32_t>(s.pending_splits.size()));
  for (const SplitInfo& sp : s.pending_splits) PutSplit(out, sp);
}

Status DecodeServerStatusInfo(std::string_view body, ServerStatusInfo* s) {
  Decoder d(body);
  d.GetLengthPrefixed(&s->address, kMaxAddressBytes);
  d.GetVarsint64(&s->start_time_us);
  d.GetLengthPrefixed(&s->data_root, kMaxDirBytes);
  d.GetBool(&s->shared_data);
  d.GetLengthPrefixed(&s->session_state, 64);
  d.GetBool(&s->serving);
  d.GetVarint64(&s->rss_bytes);
  d.GetVarint64(&s->cache_bytes);
  d.GetVarint64(&s->applies_per_sec);
  d.GetVarint64(&s->scans_per_sec);
  uint32_t n = 0;
  s->tablets.clear();
  s->pending_splits.clear();
  // A tstatus is at least 11 bytes, a split at least 17.
  if (d.GetCount(&n, 11, kMaxTabletsPerServer)) {
    s->tablets.resize(n);
    for (uint32_t i = 0; i < n && d.ok(); i++) GetTStatus(&d, &s->tablets[i]);
  }
  if (d.ok() && d.GetCount(&n, 17, kMaxTabletsPerServer)) {
    s->pending_splits.resize(n);
    for (uint32_t i = 0; i < n && d.ok(); i++) GetSplit(&d, &s->pending_splits[i]);
  }
  return d.status("server status");
}

void EncodeMigrateTabletRequest(const MigrateTabletRequest& req, std::string* out) {
  PutTabletRef(out, req.tablet);
  PutLengthPrefixed(out, req.target_address);
}

Status DecodeMigrateTabletRequest(std::string_view body, MigrateTabletRequest* req) {
  Decoder d(body);
  GetTabletRef(&d, &req->tablet);
  d.GetLengthPrefixed(&req->target_address, kMaxAddressBytes);
  return d.status("MigrateTablet request");
}

void EncodeMigrateTabletReply(const MigrateTabletReply& reply, std::string* out) {
  PutTStatus(out, reply.target_status);
  PutVarsint64(out, reply.unavailable_us);
}

Status DecodeMigrateTabletReply(std::string_view body, MigrateTabletReply* reply) {
  Decoder d(body);
  GetTStatus(&d, &reply->target_status);
  d.GetVarsint64(&reply->unavailable_us);
  return d.status("MigrateTablet reply");
}

void EncodeKeepAliveReply(const KeepAliveReply& reply, std::string* out) {
  PutVarint32(out, static_cast<uint32_t>(reply.orders.size()));
  for (const MasterOrder& o : reply.orders) {
    PutVarint32(out, o.type);
    PutLengthPrefixed(out, o.body);
  }
}

Status DecodeKeepAliveReply(std::string_view body, KeepAliveReply* reply) {
  Decoder d(body);
  uint32_t n = 0;
  reply->orders.clear();
  if (d.GetCount(&n, 2, kMaxOrders)) {
    reply->orders.resize(n);
    for (uint32_t i = 0; i < n && d.ok(); i++) {
      d.GetVarint32(&reply->orders[i].type);
      d.GetLengthPrefixed(&reply->orders[i].body, kMaxWireValueBytes);
    }
  }
  return d.status("KeepAlive reply");
}

bool IsPlainFileName(std::string_view name) {
  if (name.empty() || name.size() > kMaxFileNameBytes || name == "." || name == "..") {
    return false;
  }
  return name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

void EncodeListTabletFilesRequest(const ListTabletFilesRequest& req, std::string* out) {
  PutTabletRef(out, req.tablet);
  PutVarint32(out, req.chunk_bytes);
}

Status DecodeListTabletFilesRequest(std::string_view body, ListTabletFilesRequest* req) {
  Decoder d(body);
  GetTabletRef(&d, &req->tablet);
  d.GetVarint32(&req->chunk_bytes);
  RETURN_NOT_OK(d.status("ListTabletFiles request"));
  if (req->chunk_bytes != 0 && (req->chunk_bytes < 4096 || req->chunk_bytes > kMaxChunkBytes)) {
    return Status::InvalidArgument("ListTabletFiles: chunk_bytes must be 0 or 4 KiB..4 MiB");
  }
  return Status::OK();
}

void EncodeListTabletFilesReply(const ListTabletFilesReply& reply, std::string* out) {
  PutVarint32(out, static_cast<uint32_t>(reply.files.size()));
  for (const TabletFileInfo& f : reply.files) {
    PutLengthPrefixed(out, f.name);
    PutVarint64(out, f.size);
    PutVarint32(out, static_cast<uint32_t>(f.chunk_crcs.size()));
    for (uint32_t c : f.chunk_crcs) PutFixed32(out, c);
  }
}

Status DecodeListTabletFilesReply(std::string_view body, ListTabletFilesReply* reply) {
  Decoder d(body);
  uint32_t n = 0;
  reply->files.clear();
  if (d.GetCount(&n, 3, kMaxTabletFiles)) {
    reply->files.resize(n);
    for (uint32_t i = 0; i < n && d.ok(); i++) {
      TabletFileInfo& f = reply->files[i];
      uint32_t m = 0;
      d.GetLengthPrefixed(&f.name, kMaxFileNameBytes);
      d.GetVarint64(&f.size);
      if (d.GetCount(&m, 4)) {
        f.chunk_crcs.resize(m);
        for (uint32_t j = 0; j < m; j++) d.GetFixed32(&f.chunk_crcs[j]);
      }
      if (d.ok() && !IsPlainFileName(f.name)) {
        return Status::ProtocolError("ListTabletFiles reply: bad file name");
      }
    }
  }
  return d.status("ListTabletFiles reply");
}

void EncodeReadTabletChunkRequest(const ReadTabletChunkRequest& req, std::string* out) {
  PutTabletRef(out, req.tablet);
  PutLengthPrefixed(out, req.name);
  PutVarint64(out, req.offset);
  PutVarint32(out, req.length);
}

Status DecodeReadTabletChunkRequest(std::string_view body, ReadTabletChunkRequest* req) {
  Decoder d(body);
  GetTabletRef(&d, &req->tablet);
  d.GetLengthPrefixed(&req->name, kMaxFileNameBytes);
  d.GetVarint64(&req->offset);
  d.GetVarint32(&req->length);
  RETURN_NOT_OK(d.status("ReadTabletChunk request"));
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
  PutLengthPrefixed(out, load);
  PutLengthPrefixed(out, req.source_address);
}

Status DecodeCopyTabletRequest(std::string_view body, CopyTabletRequest* req) {
  Decoder d(body);
  std::string_view load;
  d.GetLengthPrefixed(&load);
  d.GetLengthPrefixed(&req->source_address, kMaxAddressBytes);
  RETURN_NOT_OK(d.status("copy tablet request"));
  return DecodeLoadTabletRequest(load, &req->load);
}

void EncodeCopyTabletReply(const CopyTabletReply& reply, std::string* out) {
  PutTStatus(out, reply.status);
  PutVarint64(out, reply.bytes_copied);
}

Status DecodeCopyTabletReply(std::string_view body, CopyTabletReply* reply) {
  Decoder d(body);
  GetTStatus(&d, &reply->status);
  d.GetVarint64(&reply->bytes_copied);
  return d.status("copy tablet reply");
}

}  // namespace kdi::client
