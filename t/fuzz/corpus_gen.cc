// Writes the seed corpus of the decoder fuzz targets: real messages encoded by
// KDI's own encoders, each prefixed with the selector byte its target expects.
// Usage: t/fuzz/corpus_gen SRCDIR/t/fuzz/corpus  (creates <target>/<name> files;
// existing files are overwritten, others are left alone). Run by hand when a
// message grammar changes; the output is committed. Not part of make check.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "kdi/scan_predicate.h"
#include "kdi/schema.h"
#include "kdicli/format.h"
#include "lib/client/admin_protocol.h"
#include "lib/client/meta_layout.h"
#include "lib/client/meta_protocol.h"
#include "lib/client/table_protocol.h"
#include "lib/lock/lock_protocol.h"
#include "lib/storage/cell_key.h"
#include "lib/storage/codec.h"
#include "lib/storage/tablet.h"
#include "lib/storage/tablet_impl.h"

namespace kdi::fuzz {
namespace {

std::string root;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  std::string dir = root + "/" + target;
  mkdir(dir.c_str(), 0755);
  std::ofstream f(dir + "/" + name, std::ios::binary | std::ios::trunc);
  f << bytes;
}

std::string Sel(int sel, const std::string& body) { return std::string(1, char(sel)) + body; }

Schema TestSchema() {
  Schema s;
  (void)Schema::Parse("word:versions=3:compress=zlib meta:ttl=86400 *", &s);
  return s;
}

client::TabletRef Ref() { return {"webtable", "t0001"}; }

void ScanPredicates() {
  const char* texts[] = {
      "row ~= \"com.foo\" and \"word:cat\" < column <= \"word:dog\" and history = 1",
      "row = \"a\" or row = \"b\\x00c\" or \"m\" <= row < \"p\"",
      "time >= 2026-11-28T17:55:00Z and time < @1700000000000000",
      "history = -2 and column ~= \"meta:\"",
      "row > \"z\\xff\" and time = 2026-11-28",
      "",
  };
  int i = 0;
  for (const char* t : texts) {
    Write("scan_predicate", "text" + std::to_string(i), t);
    ScanPredicate p;
    if (ScanPredicate::Parse(t, &p).ok()) {
      std::string bin;
      p.EncodeTo(&bin);
      Write("scan_predicate", "bin" + std::to_string(i), bin);
    }
    i++;
  }
  Write("scan_predicate", "time_iso", "2026-11-28T17:55:00.123456+02:00");
  Write("scan_predicate", "bad_token", "rowx = \"a\"");
}

void Schemas() {
  Schema s = TestSchema();
  std::string bin;
  s.EncodeTo(&bin);
  Write("schema", "binary", bin);
  Write("schema", "text", s.ToString());
  Write("schema", "family", "word:versions=3:ttl=60:compress=none");
  storage::TabletMeta m;
  m.table = "webtable";
  m.start_row = "com.a";
  m.end_row = "com.m";
  m.schema = s;
  std::string tm;
  m.EncodeTo(&tm);
  Write("schema", "tablet_meta", tm);
}

void StorageCodec() {
  std::string k;
  storage::EncodeCellKey(std::string("row\x00\xff", 5), "word:cat", 1700000000000000, &k);
  Write("storage_codec", "key", k);
  std::string v;
  storage::EncodeCellValue(storage::ValueType::kValue, std::string(200, 'x'), Compression::kZlib,
                           &v);
  Write("storage_codec", "value_zlib", v);
  v.clear();
  storage::EncodeCellValue(storage::ValueType::kErasure, "", Compression::kNone, &v);
  Write("storage_codec", "value_erasure", v);
  std::string cells;
  storage::EncodeCells({Cell("r1", "word:a", 5, "v1"), Cell("r2", "meta:b", -3, "")}, &cells);
  Write("storage_codec", "cells", cells);
  RowMutation m("row1");
  m.Set("word:a", 10, "value").Erase("word:b", 3).EraseColumn("meta:x").EraseRow();
  std::string batch;
  storage::EncodeBatch({m, RowMutation("row2").Set("a:b", 1, "c")}, &batch);
  Write("storage_codec", "batch", batch);
  std::string conds;
  Condition c = Condition::CellEquals("word:a", 10, "value");
  storage::EncodeConditions({c, Condition::CellAbsent("word:b", 3)}, &conds);
  Write("storage_codec", "conditions", conds);
  storage::ScanCursorState token;
  token.key = k;
  token.existing = 3;
  token.matched = 1;
  std::string t;
  token.EncodeTo(&t);
  Write("storage_codec", "token", t);
}

void LockProtocol() {
  using namespace lock;
  for (uint16_t type = kFirstLockMessage; type <= kLastLockMessage; type++) {
    LockRequest rq;
    rq.session_id = 42;
    rq.handle = 7;
    rq.path = "/kdi/tablets/webtable/t0001";
    rq.mode = 3;
    rq.event_mask = 5;
    rq.contents = "host:9000";
    rq.has_cas = true;
    rq.cas_generation = 9;
    rq.acked_event_seq = 11;
    rq.wait_ms = 2000;
    std::string body;
    EncodeRequest(type, rq, &body);
    int idx = type - kFirstLockMessage;
    Write("lock_protocol", std::string("req_") + LockMessageName(type), Sel(idx * 2, body));
    LockReply rp;
    rp.session_id = 42;
    rp.lease_ms = 6000;
    rp.handle = 7;
    rp.stat.instance = 3;
    rp.stat.lock_mode = LockMode::kExclusive;
    rp.contents = "host:9000";
    rp.names = {"a", "b"};
    SessionEvent ev;
    ev.seq = 1;
    ev.event.path = "/kdi/master";
    rp.events = {ev};
    rp.acquired = true;
    rp.lock_generation = 4;
    SessionInfo si;
    si.session_id = 42;
    si.principal = "tabletd-1";
    si.role = "server";
    si.locks = {"EXCLUSIVE /kdi/master"};
    rp.sessions = {si};
    body.clear();
    EncodeReply(type, rp, &body);
    Write("lock_protocol", std::string("reply_") + LockMessageName(type), Sel(idx * 2 + 1, body));
  }
  Sequencer s;
  s.path = "/kdi/master";
  s.instance = 5;
  s.lock_generation = 6;
  s.mode = LockMode::kExclusive;
  Write("lock_protocol", "sequencer", Sel(2 * 13, EncodeSequencer(s)));
}

void TableProtocol() {
  using namespace client;
  std::string b;
  ApplyRequest ap;
  ap.tablet = Ref();
  ap.rows = {RowMutation("com.foo").Set("word:cat", 5, "meow").EraseColumn("word:dog")};
  EncodeApplyRequest(ap, &b);
  Write("table_protocol", "apply", Sel(0, b));
  b.clear();
  EncodeApplyReply({77}, &b);
  Write("table_protocol", "apply_reply", Sel(1, b));
  b.clear();
  ConditionalApplyRequest cap;
  cap.tablet = Ref();
  cap.conditions = {Condition::CellEquals("word:cat", 5, "meow")};
  cap.mutation = RowMutation("com.foo").Set("word:cat", 6, "purr");
  EncodeConditionalApplyRequest(cap, &b);
  Write("table_protocol", "conditional_apply", Sel(2, b));
  b.clear();
  EncodeSyncRequest({Ref()}, &b);
  Write("table_protocol", "sync", Sel(3, b));
  b.clear();
  ScanPageRequest sp;
  sp.tablet = Ref();
  (void)ScanPredicate::Parse("row ~= \"com\" and history = 1", &sp.predicate);
  sp.resume_token = std::string("\x01\x03") + "abc\x02\x01";
  EncodeScanPageRequest(sp, &b);
  Write("table_protocol", "scan_page", Sel(4, b));
  b.clear();
  ScanPageReply spr;
  spr.cells = {Cell("com.foo", "word:cat", 5, "meow")};
  spr.resume_token = "tok";
  EncodeScanPageReply(spr, &b);
  Write("table_protocol", "scan_page_reply", Sel(5, b));
  b.clear();
  EncodeRowRevisionRequest({Ref(), "com.foo"}, &b);
  Write("table_protocol", "row_revision", Sel(6, b));
  b.clear();
  EncodeRowRevisionReply({12}, &b);
  Write("table_protocol", "row_revision_reply", Sel(7, b));
  b.clear();
  PutTabletRef(&b, Ref());
  Write("table_protocol", "tablet_ref", Sel(8, b));
}

client::TabletDescriptor Desc(const std::string& id, const std::string& s, const std::string& e) {
  client::TabletDescriptor d;
  d.tablet = {"webtable", id};
  d.start_row = s;
  d.end_row = e;
  d.dir = "tables/webtable/" + id;
  return d;
}

void AdminProtocol() {
  using namespace client;
  std::string b;
  EncodeTabletRefBody(Ref(), &b);
  Write("admin_protocol", "tablet_ref", Sel(0, b));
  LoadTabletRequest load;
  load.desc = Desc("t0001", "", "m");
  load.schema = TestSchema();
  load.create_if_missing = true;
  b.clear();
  EncodeLoadTabletRequest(load, &b);
  Write("admin_protocol", "load", Sel(1, b));
  TabletStatusInfo st;
  st.desc = load.desc;
  st.state = TabletState::kFrozen;
  st.size_bytes = 1 << 20;
  st.applies = 5;
  b.clear();
  EncodeTabletStatusInfo(st, &b);
  Write("admin_protocol", "tablet_status", Sel(2, b));
  b.clear();
  EncodeUnloadTabletRequest({Ref(), true}, &b);
  Write("admin_protocol", "unload", Sel(3, b));
  b.clear();
  EncodeSplitTabletRequest({Ref(), "g", "left1", "right1"}, &b);
  Write("admin_protocol", "split", Sel(4, b));
  SplitInfo si;
  si.parent = Desc("t0001", "", "m");
  si.left = Desc("left1", "", "g");
  si.right = Desc("right1", "g", "m");
  si.server = "127.0.0.1:9001";
  si.split_time_us = 1700000000000000;
  b.clear();
  EncodeSplitInfo(si, &b);
  Write("admin_protocol", "split_info", Sel(5, b));
  ServerStatusInfo ss;
  ss.address = "127.0.0.1:9001";
  ss.data_root = "/var/lib/kdi";
  ss.session_state = "safe";
  ss.tablets = {st};
  ss.pending_splits = {si};
  b.clear();
  EncodeServerStatusInfo(ss, &b);
  Write("admin_protocol", "server_status", Sel(6, b));
  b.clear();
  EncodeMigrateTabletRequest({Ref(), "127.0.0.1:9002"}, &b);
  Write("admin_protocol", "migrate", Sel(7, b));
  MigrateTabletReply mr;
  mr.target_status = st;
  mr.unavailable_us = 1500;
  b.clear();
  EncodeMigrateTabletReply(mr, &b);
  Write("admin_protocol", "migrate_reply", Sel(8, b));
  KeepAliveReply ka;
  ka.orders = {{1, "x"}};
  b.clear();
  EncodeKeepAliveReply(ka, &b);
  Write("admin_protocol", "keepalive_reply", Sel(9, b));
  b.clear();
  EncodeListTabletFilesRequest({Ref(), 1 << 20}, &b);
  Write("admin_protocol", "list_files", Sel(10, b));
  ListTabletFilesReply lf;
  lf.files = {{"cells.db", 8192, {1, 2}}, {"log.0000000001", 100, {}}};
  b.clear();
  EncodeListTabletFilesReply(lf, &b);
  Write("admin_protocol", "list_files_reply", Sel(11, b));
  b.clear();
  EncodeReadTabletChunkRequest({Ref(), "cells.db", 4096, 4096}, &b);
  Write("admin_protocol", "read_chunk", Sel(12, b));
  CopyTabletRequest ct;
  ct.load = load;
  ct.source_address = "127.0.0.1:9001";
  b.clear();
  EncodeCopyTabletRequest(ct, &b);
  Write("admin_protocol", "copy", Sel(13, b));
  CopyTabletReply cr;
  cr.status = st;
  cr.bytes_copied = 12345;
  b.clear();
  EncodeCopyTabletReply(cr, &b);
  Write("admin_protocol", "copy_reply", Sel(14, b));
}

meta::TabletMeta Tm() {
  meta::TabletMeta t;
  t.table = "webtable";
  t.id = "t0001";
  t.start_row = "a";
  t.end_row = "m";
  t.dir = "tables/webtable/t0001";
  t.state = meta::TabletState::kSplitting;
  t.server = "127.0.0.1:9001";
  t.since_us = 1700000000000000;
  t.split = {"g", "left1", "right1"};
  return t;
}

void MetaProtocol() {
  using namespace meta;
  std::string b;
  CreateTableRequest ct;
  ct.name = "webtable";
  ct.schema = TestSchema();
  ct.split_rows = {"g", "p"};
  EncodeCreateTableRequest(ct, &b);
  Write("meta_protocol", "create", Sel(0, b));
  b.clear();
  EncodeTableNameRequest({"webtable"}, &b);
  Write("meta_protocol", "table_name", Sel(1, b));
  AlterTableRequest at;
  at.name = "webtable";
  AlterOp add;
  (void)FamilyOptions::Parse("new:versions=2", &add.family);
  AlterOp rm;
  rm.kind = AlterOp::Kind::kRemoveFamily;
  rm.family.name = "f";
  at.ops = {add, rm};
  at.force = true;
  b.clear();
  EncodeAlterTableRequest(at, &b);
  Write("meta_protocol", "alter", Sel(2, b));
  TableInfo ti;
  ti.name = "webtable";
  ti.schema = TestSchema();
  ti.num_tablets = 3;
  b.clear();
  EncodeTableInfo(ti, &b);
  Write("meta_protocol", "table_info", Sel(3, b));
  b.clear();
  EncodeTableList({{"META", "webtable"}}, &b);
  Write("meta_protocol", "table_list", Sel(4, b));
  TabletList tl;
  tl.tablets = {{Tm(), 4096}};
  b.clear();
  EncodeTabletList(tl, &b);
  Write("meta_protocol", "tablet_list", Sel(5, b));
  ServerList sl;
  ServerInfo si;
  si.address = "127.0.0.1:9001";
  si.live = true;
  si.tablets = 3;
  sl.servers = {si};
  b.clear();
  EncodeServerList(sl, &b);
  Write("meta_protocol", "server_list", Sel(6, b));
  b.clear();
  EncodeFsckRequest({true}, &b);
  Write("meta_protocol", "fsck", Sel(7, b));
  FsckReply fr;
  fr.problems = 1;
  fr.lines = {"gap before m"};
  b.clear();
  EncodeFsckReply(fr, &b);
  Write("meta_protocol", "fsck_reply", Sel(8, b));
  MasterStatusInfo ms;
  ms.address = "127.0.0.1:9000";
  ms.active = true;
  b.clear();
  EncodeMasterStatusInfo(ms, &b);
  Write("meta_protocol", "master_status", Sel(9, b));
}

std::string RowText(const meta::TabletMeta& t) {
  RowMutation m = meta::EncodeTabletRow(t, 1);
  std::string text = m.row();
  for (const Mutation& x : m.mutations()) {
    if (x.type == Mutation::Type::kSet) text += "\n" + x.column + "=" + x.value;
  }
  return text;
}

void MetaLayout() {
  meta::TabletMeta t = Tm();
  Write("meta_layout", "row_splitting", Sel(0, RowText(t)));
  t.state = meta::TabletState::kOffline;
  t.reason = "server gone, data local";
  t.start_row = "";
  t.end_row = "";
  Write("meta_layout", "row_offline_all", Sel(1, RowText(t)));
  Write("meta_layout", "key", Sel(2, meta::MetaRowKey("webtable", "m")));
  Write("meta_layout", "key_inf", Sel(2, meta::MetaRowKey("webtable", "")));
  Write("meta_layout", "split_intent", Sel(3, Tm().split.Encode()));
  Write("meta_layout", "state", Sel(4, "assigned"));
}

void LoadLines() {
  Cell c("com.foo\t{", "word:cat", 1700000000000000, std::string("v\x00\xff\n", 4));
  Write("load_line", "tsv", cli::FormatCellTsv(c));
  Write("load_line", "json", cli::FormatCellJson(c));
  Write("load_line", "json_plain", cli::FormatCellJson(Cell("r", "f:c", 5, "hello")));
  Write("load_line", "tsv_iso", "r\tf:c\t2026-11-28T17:55:00Z\tv\\x00\\t\r");
  Write("load_line", "json_time_string", "{\"row\":\"r\",\"column\":\"f:c\",\"time\":\"@5\",\"value\":{\"base64\":\"AP8=\"}}");
}

}  // namespace
}  // namespace kdi::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: corpus_gen CORPUS_DIR\n");
    return 2;
  }
  kdi::fuzz::root = argv[1];
  kdi::fuzz::ScanPredicates();
  kdi::fuzz::Schemas();
  kdi::fuzz::StorageCodec();
  kdi::fuzz::LockProtocol();
  kdi::fuzz::TableProtocol();
  kdi::fuzz::AdminProtocol();
  kdi::fuzz::MetaProtocol();
  kdi::fuzz::MetaLayout();
  kdi::fuzz::LoadLines();
  return 0;
}
