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
#include "lib/util/field_codec.h"

namespace kdi::meta {

namespace {

// Messages are described once for FieldWriter (encode) and FieldReader
// (decode); see lib/util/field_codec.h. Fields that need more than bytes on
// the wire (a schema, a tablet state name, a split intent) travel as bytes and
// are converted by the Encode/Decode functions below.

template <class C>
void NameFields(C& c, std::string* name) {
  c.Bytes(name, kMaxNameBytes);
}

template <class C>
void TableNameFields(C& c, TableNameRequest* r) {
  c.Bytes(&r->name, kMaxNameBytes);
}

template <class C>
void TableListFields(C& c, TableList* l) {
  c.List(&l->names, 1, kMaxListItems, NameFields<C>);
}

template <class C>
void SplitRowFields(C& c, std::string* row) {
  c.Bytes(row, kMaxRowBytes);
}

template <class C>
void CreateFields(C& c, CreateTableRequest* r, std::string* schema) {
  c.Bytes(&r->name, kMaxNameBytes);
  c.Bytes(schema, kMaxMetaSchemaBytes);
  c.List(&r->split_rows, 1, kMaxSplitRows, SplitRowFields<C>);
}

// An alter operation on the wire: u8 kind (0 set, 1 remove), lp spec.
struct WireAlterOp {
  uint8_t kind = 0;
  std::string spec;  // FamilyOptions::ToString, or the bare name to remove
};

template <class C>
void AlterOpFields(C& c, WireAlterOp* op) {
  c.Uint8(&op->kind);
  c.Bytes(&op->spec, kMaxNameBytes);
}

template <class C>
void AlterFields(C& c, AlterTableRequest* r, std::vector<WireAlterOp>* ops) {
  c.Bytes(&r->name, kMaxNameBytes);
  c.Bool(&r->force);
  c.List(ops, 2, kMaxAlterOps, AlterOpFields<C>);
}

template <class C>
void TableInfoFields(C& c, TableInfo* info, std::string* schema) {
  c.Bytes(&info->name, kMaxNameBytes);
  c.Bytes(schema, kMaxMetaSchemaBytes);
  c.Varint32(&info->num_tablets);
  c.Varint32(&info->num_assigned);
}

// A tablet entry on the wire: the state by name, the split intent encoded.
struct WireTablet {
  TabletInfo info;
  std::string state;
  std::string split;
};

template <class C>
void TabletFields(C& c, WireTablet* w) {
  TabletMeta& t = w->info.meta;
  c.Bytes(&t.table, kMaxNameBytes);
  c.Bytes(&t.id, kMaxNameBytes);
  c.Bytes(&t.start_row, kMaxRowBytes);
  c.Bytes(&t.end_row, kMaxRowBytes);
  c.Bytes(&t.dir, 4096);
  c.Bytes(&w->state, 64);
  c.Bytes(&t.server, kMaxNameBytes);
  c.Varsint64(&t.since_us);
  c.Bytes(&t.reason, 4096);
  c.Bytes(&w->split, 2 * kMaxRowBytes);
  c.Varint64(&w->info.size_bytes);
}

template <class C>
void TabletListFields(C& c, std::vector<WireTablet>* tablets) {
  c.List(tablets, 11, kMaxListItems, TabletFields<C>);
}

template <class C>
void ServerFields(C& c, ServerInfo* s) {
  c.Bytes(&s->address, kMaxNameBytes);
  c.Bool(&s->live);
  c.Bool(&s->shared_data);
  c.Bytes(&s->data_root, 4096);
  c.Varint32(&s->tablets);
  c.Varint64(&s->applies_per_sec);
  c.Varint64(&s->scans_per_sec);
  c.Varint64(&s->rss_bytes);
  c.Varsint64(&s->last_keepalive_us);
}

template <class C>
void ServerListFields(C& c, ServerList* l) {
  c.List(&l->servers, 9, kMaxListItems, ServerFields<C>);
}

template <class C>
void FsckRequestFields(C& c, FsckRequest* r) {
  c.Bool(&r->repair);
}

template <class C>
void FsckLineFields(C& c, std::string* line) {
  c.Bytes(line, 1u << 16);
}

template <class C>
void FsckReplyFields(C& c, FsckReply* r) {
  c.Varint32(&r->problems);
  c.Varint32(&r->repaired);
  c.List(&r->lines, 1, kMaxListItems, FsckLineFields<C>);
}

template <class C>
void MasterStatusFields(C& c, MasterStatusInfo* m) {
  c.Bytes(&m->address, kMaxNameBytes);
  c.Bool(&m->active);
  c.Bytes(&m->active_master, kMaxNameBytes);
  c.Varint32(&m->tables);
  c.Varint32(&m->tablets);
  c.Varint32(&m->unassigned);
  c.Varint32(&m->live_servers);
}

std::string SchemaBytes(const Schema& s) {
  std::string bytes;
  s.EncodeTo(&bytes);
  return bytes;
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
  std::string schema = SchemaBytes(req.schema);
  FieldWriter w(out);
  CreateFields(w, const_cast<CreateTableRequest*>(&req), &schema);
}

Status DecodeCreateTableRequest(std::string_view body, CreateTableRequest* req) {
  std::string schema;
  FieldReader r(body);
  CreateFields(r, req, &schema);
  RETURN_NOT_OK(r.status("CreateTable request"));
  return Schema::DecodeFrom(schema, &req->schema).CloneAndPrepend("CreateTable request");
}

void EncodeTableNameRequest(const TableNameRequest& req, std::string* out) {
  EncodeFields(TableNameFields<FieldWriter>, req, out);
}

Status DecodeTableNameRequest(std::string_view body, TableNameRequest* req) {
  return DecodeFields(TableNameFields<FieldReader>, body, "table name request", req);
}

void EncodeAlterTableRequest(const AlterTableRequest& req, std::string* out) {
  std::vector<WireAlterOp> ops;
  for (const AlterOp& op : req.ops) {
    const bool remove = op.kind == AlterOp::Kind::kRemoveFamily;
    ops.push_back({static_cast<uint8_t>(remove ? 1 : 0), remove ? op.family.name : op.family.ToString()});
  }
  FieldWriter w(out);
  AlterFields(w, const_cast<AlterTableRequest*>(&req), &ops);
}

Status DecodeAlterTableRequest(std::string_view body, AlterTableRequest* req) {
  std::vector<WireAlterOp> ops;
  FieldReader r(body);
  AlterFields(r, req, &ops);
  RETURN_NOT_OK(r.status("AlterTable request"));
  req->ops.clear();
  for (const WireAlterOp& w : ops) {
    AlterOp op;
    if (w.kind == 0) {
      op.kind = AlterOp::Kind::kSetFamily;
      RETURN_NOT_OK_PREPEND(FamilyOptions::Parse(w.spec, &op.family), "AlterTable request");
    } else if (w.kind == 1) {
      op.kind = AlterOp::Kind::kRemoveFamily;
      op.family.name = w.spec;
      if (w.spec.empty() || w.spec.find(':') != std::string::npos) {
        return Status::InvalidArgument("AlterTable request: bad family name '" +
                                       EscapeBytes(w.spec) + "'");
      }
    } else {
      return Status::InvalidArgument("AlterTable request: unknown alter operation " +
                                     std::to_string(w.kind));
    }
    req->ops.push_back(std::move(op));
  }
  return Status::OK();
}

void EncodeTableInfo(const TableInfo& info, std::string* out) {
  std::string schema = SchemaBytes(info.schema);
  FieldWriter w(out);
  TableInfoFields(w, const_cast<TableInfo*>(&info), &schema);
}

Status DecodeTableInfo(std::string_view body, TableInfo* info) {
  std::string schema;
  FieldReader r(body);
  TableInfoFields(r, info, &schema);
  RETURN_NOT_OK(r.status("TableInfo"));
  return Schema::DecodeFrom(schema, &info->schema).CloneAndPrepend("TableInfo");
}

void EncodeTableList(const TableList& list, std::string* out) {
  EncodeFields(TableListFields<FieldWriter>, list, out);
}

Status DecodeTableList(std::string_view body, TableList* list) {
  return DecodeFields(TableListFields<FieldReader>, body, "table list", list);
}

void EncodeTabletList(const TabletList& list, std::string* out) {
  std::vector<WireTablet> wire;
  wire.reserve(list.tablets.size());
  for (const TabletInfo& ti : list.tablets) {
    const TabletMeta& t = ti.meta;
    wire.push_back({ti, TabletStateName(t.state),
                    t.state == TabletState::kSplitting ? t.split.Encode() : ""});
  }
  FieldWriter w(out);
  TabletListFields(w, &wire);
}

Status DecodeTabletList(std::string_view body, TabletList* list) {
  std::vector<WireTablet> wire;
  FieldReader r(body);
  TabletListFields(r, &wire);
  RETURN_NOT_OK(r.status("tablet list"));
  list->tablets.clear();
  for (WireTablet& w : wire) {
    TabletMeta& t = w.info.meta;
    RETURN_NOT_OK_PREPEND(ParseTabletState(w.state, &t.state), "tablet list");
    if (t.state == TabletState::kSplitting) {
      RETURN_NOT_OK_PREPEND(SplitIntent::Decode(w.split, &t.split), "tablet list");
    }
    list->tablets.push_back(std::move(w.info));
  }
  return Status::OK();
}

void EncodeServerList(const ServerList& list, std::string* out) {
  EncodeFields(ServerListFields<FieldWriter>, list, out);
}

Status DecodeServerList(std::string_view body, ServerList* list) {
  return DecodeFields(ServerListFields<FieldReader>, body, "server list", list);
}

void EncodeFsckRequest(const FsckRequest& req, std::string* out) {
  EncodeFields(FsckRequestFields<FieldWriter>, req, out);
}

Status DecodeFsckRequest(std::string_view body, FsckRequest* req) {
  return DecodeFields(FsckRequestFields<FieldReader>, body, "Fsck request", req);
}

void EncodeFsckReply(const FsckReply& reply, std::string* out) {
  EncodeFields(FsckReplyFields<FieldWriter>, reply, out);
}

Status DecodeFsckReply(std::string_view body, FsckReply* reply) {
  return DecodeFields(FsckReplyFields<FieldReader>, body, "Fsck reply", reply);
}

void EncodeMasterStatusInfo(const MasterStatusInfo& info, std::string* out) {
  EncodeFields(MasterStatusFields<FieldWriter>, info, out);
}

Status DecodeMasterStatusInfo(std::string_view body, MasterStatusInfo* info) {
  return DecodeFields(MasterStatusFields<FieldReader>, body, "MasterStatus reply", info);
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
