// 2a table-meta messages; see meta_protocol.h.
//
// Byte grammar (lp = varint32 length + bytes; all counts are varint32 and are
// checked against the remaining input before anything is allocated):
//
//   CreateTable (200)   lp name, lp schema (Schema::EncodeTo), count, count x lp split_row
//                       reply: TableInfo
//   DeleteTable (201)   lp name;                       reply: empty
//   AlterTable  (202)   lp name, u8 force, count, count x { u8 kind, lp family_spec }
//                       (family_spec = FamilyOptions::ToString); reply: TableInfo
//   ListTables  (203)   empty;   reply: count, count x lp name
//   DescribeTable (204) lp name; reply: TableInfo
//   ListTablets (205)   lp name; reply: count, count x TabletEntry
//   ListServers (206)   empty;   reply: count, count x ServerEntry
//   Fsck        (207)   u8 repair; reply: varint32 problems, varint32 repaired,
//                                         count, count x lp line
//   MasterStatus (208)  empty;   reply: lp address, u8 active, lp active_master,
//                                       varint32 tables, tablets, unassigned, live_servers
//
//   TableInfo   := lp name, lp schema, varint32 num_tablets, varint32 num_assigned
//   TabletEntry := lp table, lp id, lp start, lp end, lp dir, lp state, lp server,
//                  varsint64 since_us, lp reason, lp split_intent, varint64 size_bytes
//   ServerEntry := lp address, u8 live, u8 shared, lp data_root, varint32 tablets,
//                  varint64 applies/s, varint64 scans/s, varint64 rss, varsint64 last_keepalive_us
#include "lib/client/meta_protocol.h"

#include "kdi/cell.h"
#include "lib/util/coding.h"

namespace kdi::meta {

namespace {

void PutSchema(std::string* out, const Schema& s) {
  std::string bytes;
  s.EncodeTo(&bytes);
  PutLengthPrefixed(out, bytes);
}

bool GetSchema(Decoder* d, Schema* s, Status* err) {
  std::string_view bytes;
  if (!d->GetLengthPrefixed(&bytes)) return false;
  if (bytes.size() > kMaxMetaSchemaBytes) {
    *err = Status::InvalidArgument("schema too large");
    return false;
  }
  Status st = Schema::DecodeFrom(bytes, s);
  if (!st.ok()) {
    *err = st;
    return false;
  }
  return true;
}

Status Finish(const Decoder& d, const Status& err, const char* what) {
  if (!err.ok()) return err.CloneAndPrepend(what);
  return d.status(what);
}

}  // namespace

const char* MetaMessageName(uint16_t type) {
  switch (type) {
    case kMsgCreateTable: return "CreateTable";
    case kMsgDeleteTable: return "DeleteTable";
    case kMsgAlterTable: return "AlterTable";
    case kMsgListTables: return "ListTables";
    case kMsgDescribeTable: return "DescribeTable";
    case kMsgListTablets: return "ListTablets";
    case kMsgListServers: return "ListServers";
    case kMsgFsck: return "Fsck";
    case kMsgMasterStatus: return "MasterStatus";
  }
  return "unknown";
}

void EncodeCreateTableRequest(const CreateTableRequest& req, std::string* out) {
  PutLengthPrefixed(out, req.name);
  PutSchema(out, req.schema);
  PutVarint32(out, static_cast<uint32_t>(req.split_rows.size()));
  for (const auto& r : req.split_rows) PutLengthPrefixed(out, r);
}

Status DecodeCreateTableRequest(std::string_view body, CreateTableRequest* req) {
  Decoder d(body);
  Status err;
  uint32_t n = 0;
  d.GetLengthPrefixed(&req->name, kMaxNameBytes);
  if (d.ok()) GetSchema(&d, &req->schema, &err);
  if (err.ok() && d.GetCount(&n, 1, kMaxSplitRows)) {
    req->split_rows.clear();
    req->split_rows.reserve(n);
    for (uint32_t i = 0; i < n && d.ok(); i++) {
      std::string r;
      if (d.GetLengthPrefixed(&r, kMaxRowBytes)) req->split_rows.push_back(std::move(r));
    }
  }
  return Finish(d, err, "CreateTable request");
}

void EncodeTableNameRequest(const TableNameRequest& req, std::string* out) {
  PutLengthPrefixed(out, req.name);
}

Status DecodeTableNameRequest(std::string_view body, TableNameRequest* req) {
  Decoder d(body);
  d.GetLengthPrefixed(&req->name, kMaxNameBytes);
  return d.status("table name request");
}

void EncodeAlterTableRequest(const AlterTableRequest& req, std::string* out) {
  PutLengthPrefixed(out, req.name);
  PutBool(out, req.force);
  PutVarint32(out, static_cast<uint32_t>(req.ops.size()));
  for (const auto& op : req.ops) {
    out->push_back(static_cast<char>(op.kind));
    PutLengthPrefixed(out, op.kind == AlterOp::Kind::kRemoveFamily ? op.family.name
                                                                  : op.family.ToString());
  }
}

Status DecodeAlterTableRequest(std::string_view body, AlterTableRequest* req) {
  Decoder d(body);
  Status err;
  uint32_t n = 0;
  d.GetLengthPrefixed(&req->name, kMaxNameBytes);
  d.GetBool(&req->force);
  if (d.GetCount(&n, 2, kMaxAlterOps)) {
    req->ops.clear();
    for (uint32_t i = 0; i < n && d.ok() && err.ok(); i++) {
      std::string_view kind;
      std::string spec;
      if (!d.GetBytes(1, &kind) || !d.GetLengthPrefixed(&spec, kMaxNameBytes)) break;
      AlterOp op;
      if (kind[0] == 0) {
        op.kind = AlterOp::Kind::kSetFamily;
        err = FamilyOptions::Parse(spec, &op.family);
      } else if (kind[0] == 1) {
        op.kind = AlterOp::Kind::kRemoveFamily;
        op.family.name = spec;
        if (spec.empty() || spec.find(':') != std::string::npos) {
          err = Status::InvalidArgument("bad family name '" + EscapeBytes(spec) + "'");
        }
      } else {
        err = Status::InvalidArgument("unknown alter operation " +
                                      std::to_string(static_cast<unsigned char>(kind[0])));
      }
      req->ops.push_back(std::move(op));
    }
  }
  return Finish(d, err, "AlterTable request");
}

void EncodeTableInfo(const TableInfo& info, std::string* out) {
  PutLengthPrefixed(out, info.name);
  PutSchema(out, info.schema);
  PutVarint32(out, info.num_tablets);
  PutVarint32(out, info.num_assigned);
}

Status DecodeTableInfo(std::string_view body, TableInfo* info) {
  Decoder d(body);
  Status err;
  d.GetLengthPrefixed(&info->name, kMaxNameBytes);
  if (d.ok()) GetSchema(&d, &info->schema, &err);
  d.GetVarint32(&info->num_tablets);
  d.GetVarint32(&info->num_assigned);
  return Finish(d, err, "TableInfo");
}

void EncodeTableList(const TableList& list, std::string* out) {
  PutVarint32(out, static_cast<uint32_t>(list.names.size()));
  for (const auto& n : list.names) PutLengthPrefixed(out, n);
}

Status DecodeTableList(std::string_view body, TableList* list) {
  Decoder d(body);
  uint32_t n = 0;
  list->names.clear();
  if (d.GetCount(&n, 1, kMaxListItems)) {
    for (uint32_t i = 0; i < n && d.ok(); i++) {
      std::string s;
      if (d.GetLengthPrefixed(&s, kMaxNameBytes)) list->names.push_back(std::move(s));
    }
  }
  return d.status("table list");
}

void EncodeTabletList(const TabletList& list, std::string* out) {
  PutVarint32(out, static_cast<uint32_t>(list.tablets.size()));
  for (const auto& ti : list.tablets) {
    const TabletMeta& t = ti.meta;
    PutLengthPrefixed(out, t.table);
    PutLengthPrefixed(out, t.id);
    PutLengthPrefixed(out, t.start_row);
    PutLengthPrefixed(out, t.end_row);
    PutLengthPrefixed(out, t.dir);
    PutLengthPrefixed(out, TabletStateName(t.state));
    PutLengthPrefixed(out, t.server);
    PutVarsint64(out, t.since_us);
    PutLengthPrefixed(out, t.reason);
    PutLengthPrefixed(out, t.state == TabletState::kSplitting ? t.split.Encode() : "");
    PutVarint64(out, ti.size_bytes);
  }
}

Status DecodeTabletList(std::string_view body, TabletList* list) {
  Decoder d(body);
  Status err;
  uint32_t n = 0;
  list->tablets.clear();
  if (d.GetCount(&n, 11, kMaxListItems)) {
    for (uint32_t i = 0; i < n && d.ok() && err.ok(); i++) {
      TabletInfo ti;
      TabletMeta& t = ti.meta;
      std::string state, split;
      d.GetLengthPrefixed(&t.table, kMaxNameBytes);
      d.GetLengthPrefixed(&t.id, kMaxNameBytes);
      d.GetLengthPrefixed(&t.start_row, kMaxRowBytes);
      d.GetLengthPrefixed(&t.end_row, kMaxRowBytes);
      d.GetLengthPrefixed(&t.dir, 4096);
      d.GetLengthPrefixed(&state, 64);
      d.GetLengthPrefixed(&t.server, kMaxNameBytes);
      d.GetVarsint64(&t.since_us);
      d.GetLengthPrefixed(&t.reason, 4096);
      d.GetLengthPrefixed(&split, 2 * kMaxRowBytes);
      d.GetVarint64(&ti.size_bytes);
      if (!d.ok()) break;
      err = ParseTabletState(state, &t.state);
      if (err.ok() && t.state == TabletState::kSplitting) err = SplitIntent::Decode(split, &t.split);
      list->tablets.push_back(std::move(ti));
    }
  }
  return Finish(d, err, "tablet list");
}

void EncodeServerList(const ServerList& list, std::string* out) {
  PutVarint32(out, static_cast<uint32_t>(list.servers.size()));
  for (const auto& s : list.servers) {
    PutLengthPrefixed(out, s.address);
    PutBool(out, s.live);
    PutBool(out, s.shared_data);
    PutLengthPrefixed(out, s.data_root);
    PutVarint32(out, s.tablets);
    PutVarint64(out, s.applies_per_sec);
    PutVarint64(out, s.scans_per_sec);
    PutVarint64(out, s.rss_bytes);
    PutVarsint64(out, s.last_keepalive_us);
  }
}

Status DecodeServerList(std::string_view body, ServerList* list) {
  Decoder d(body);
  uint32_t n = 0;
  list->servers.clear();
  if (d.GetCount(&n, 9, kMaxListItems)) {
    for (uint32_t i = 0; i < n && d.ok(); i++) {
      ServerInfo s;
      d.GetLengthPrefixed(&s.address, kMaxNameBytes);
      d.GetBool(&s.live);
      d.GetBool(&s.shared_data);
      d.GetLengthPrefixed(&s.data_root, 4096);
      d.GetVarint32(&s.tablets);
      d.GetVarint64(&s.applies_per_sec);
      d.GetVarint64(&s.scans_per_sec);
      d.GetVarint64(&s.rss_bytes);
      d.GetVarsint64(&s.last_keepalive_us);
      if (d.ok()) list->servers.push_back(std::move(s));
    }
  }
  return d.status("server list");
}

void EncodeFsckRequest(const FsckRequest& req, std::string* out) { PutBool(out, req.repair); }

Status DecodeFsckRequest(std::string_view body, FsckRequest* req) {
  Decoder d(body);
  d.GetBool(&req->repair);
  return d.status("Fsck request");
}

void EncodeFsckReply(const FsckReply& reply, std::string* out) {
  PutVarint32(out, reply.problems);
  PutVarint32(out, reply.repaired);
  PutVarint32(out, static_cast<uint32_t>(reply.lines.size()));
  for (const auto& l : reply.lines) PutLengthPrefixed(out, l);
}

Status DecodeFsckReply(std::string_view body, FsckReply* reply) {
  Decoder d(body);
  uint32_t n = 0;
  d.GetVarint32(&reply->problems);
  d.GetVarint32(&reply->repaired);
  reply->lines.clear();
  if (d.GetCount(&n, 1, kMaxListItems)) {
    for (uint32_t i = 0; i < n && d.ok(); i++) {
      std::string l;
      if (d.GetLengthPrefixed(&l, 1u << 16)) reply->lines.push_back(std::move(l));
    }
  }
  return d.status("Fsck reply");
}

void EncodeMasterStatusInfo(const MasterStatusInfo& info, std::string* out) {
  PutLengthPrefixed(out, info.address);
  PutBool(out, info.active);
  PutLengthPrefixed(out, info.active_master);
  PutVarint32(out, info.tables);
  PutVarint32(out, info.tablets);
  PutVarint32(out, info.unassigned);
  PutVarint32(out, info.live_servers);
}

Status DecodeMasterStatusInfo(std::string_view body, MasterStatusInfo* info) {
  Decoder d(body);
  d.GetLengthPrefixed(&info->address, kMaxNameBytes);
  d.GetBool(&info->active);
  d.GetLengthPrefixed(&info->active_master, kMaxNameBytes);
  d.GetVarint32(&info->tables);
  d.GetVarint32(&info->tablets);
  d.GetVarint32(&info->unassigned);
  d.GetVarint32(&info->live_servers);
  return d.status("MasterStatus reply");
}

Status ApplyAlterOps(const std::vector<AlterOp>& ops, Schema* schema) {
  std::vector<FamilyOptions> fams = schema->families();
  for (const AlterOp& op : ops) {
    auto it = fams.begin();
    while (it != fams.end() && it->name != op.family.name) ++it;
    if (op.kind == AlterOp::Kind::kRemoveFamily) {
      if (it == fams.end()) return Status::NotFound("no column family " + op.family.name);
      fams.erase(it);
    } else if (it != fams.end()) {
      *it = op.family;
    } else {
      fams.push_back(op.family);
    }
  }
  Schema out;
  for (const auto& f : fams) RETURN_NOT_OK(out.AddFamily(f));
  *schema = std::move(out);
  return Status::OK();
}

}  // namespace kdi::meta
