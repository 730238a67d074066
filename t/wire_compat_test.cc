// Wire compatibility of the admin (3b/3c/600s) and table-meta (2a) codecs.
//
// The named seeds of t/fuzz/corpus/admin_protocol/ and meta_protocol/ were
// written by the encoders of their time (t/fuzz/corpus_gen.cc); the first byte
// selects the fuzz target's message, the rest is one message body. Every seed
// must still decode, and encoding what was decoded must give the very same
// bytes: a codec rewrite that changes a byte on the wire fails here. (Crash
// inputs kept as regressions are replayed by t/fuzz_replay_test instead.)
#include <fstream>
#include <sstream>
#include <string>

#include "lib/client/admin_protocol.h"
#include "lib/client/meta_protocol.h"
#include "lib/client/table_protocol.h"
#include "t/test_util.h"

namespace kdi {
namespace {

std::string Seed(const std::string& target, const std::string& name) {
  const char* src = std::getenv("KDI_SRC_DIR");
  std::string path =
      std::string(src && *src ? src : ".") + "/t/fuzz/corpus/" + target + "/" + name;
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << "missing seed " << path;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

template <class T, class Decode, class Encode>
void ExpectSameBytes(const std::string& target, const std::string& name, Decode decode,
                     Encode encode) {
  const std::string seed = Seed(target, name);
  ASSERT_GT(seed.size(), 1u) << target << "/" << name;
  const std::string_view body = std::string_view(seed).substr(1);  // after the selector
  T msg;
  Status s = decode(body, &msg);
  ASSERT_TRUE(s.ok()) << target << "/" << name << ": " << s.ToString();
  std::string again;
  encode(msg, &again);
  EXPECT_EQ(again, body) << target << "/" << name << ": the encoding changed";
}

TEST(WireCompatTest, AdminMessagesKeepTheirBytes) {
  using namespace client;
  const std::string t = "admin_protocol";
  auto decode_ref = [](std::string_view b, TabletRef* r) {
    return DecodeTabletRefBody(b, "tablet ref", r);
  };
  ExpectSameBytes<TabletRef>(t, "tablet_ref", decode_ref, EncodeTabletRefBody);
  ExpectSameBytes<LoadTabletRequest>(t, "load", DecodeLoadTabletRequest, EncodeLoadTabletRequest);
  ExpectSameBytes<TabletStatusInfo>(t, "tablet_status", DecodeTabletStatusInfo,
                                    EncodeTabletStatusInfo);
  ExpectSameBytes<UnloadTabletRequest>(t, "unload", DecodeUnloadTabletRequest,
                                       EncodeUnloadTabletRequest);
  ExpectSameBytes<SplitTabletRequest>(t, "split", DecodeSplitTabletRequest,
                                      EncodeSplitTabletRequest);
  ExpectSameBytes<SplitInfo>(t, "split_info", DecodeSplitInfo, EncodeSplitInfo);
  ExpectSameBytes<ServerStatusInfo>(t, "server_status", DecodeServerStatusInfo,
                                    EncodeServerStatusInfo);
  ExpectSameBytes<MigrateTabletRequest>(t, "migrate", DecodeMigrateTabletRequest,
                                        EncodeMigrateTabletRequest);
  ExpectSameBytes<MigrateTabletReply>(t, "migrate_reply", DecodeMigrateTabletReply,
                                      EncodeMigrateTabletReply);
  ExpectSameBytes<KeepAliveReply>(t, "keepalive_reply", DecodeKeepAliveReply,
                                  EncodeKeepAliveReply);
  ExpectSameBytes<ListTabletFilesRequest>(t, "list_files", DecodeListTabletFilesRequest,
                                          EncodeListTabletFilesRequest);
  ExpectSameBytes<ListTabletFilesReply>(t, "list_files_reply", DecodeListTabletFilesReply,
                                        EncodeListTabletFilesReply);
  ExpectSameBytes<ReadTabletChunkRequest>(t, "read_chunk", DecodeReadTabletChunkRequest,
                                          EncodeReadTabletChunkRequest);
  ExpectSameBytes<CopyTabletRequest>(t, "copy", DecodeCopyTabletRequest, EncodeCopyTabletRequest);
  ExpectSameBytes<CopyTabletReply>(t, "copy_reply", DecodeCopyTabletReply, EncodeCopyTabletReply);
}

TEST(WireCompatTest, MetaMessagesKeepTheirBytes) {
  using namespace meta;
  const std::string t = "meta_protocol";
  ExpectSameBytes<CreateTableRequest>(t, "create", DecodeCreateTableRequest,
                                      EncodeCreateTableRequest);
  ExpectSameBytes<AlterTableRequest>(t, "alter", DecodeAlterTableRequest, EncodeAlterTableRequest);
  ExpectSameBytes<FsckRequest>(t, "fsck", DecodeFsckRequest, EncodeFsckRequest);
  ExpectSameBytes<FsckReply>(t, "fsck_reply", DecodeFsckReply, EncodeFsckReply);
  ExpectSameBytes<MasterStatusInfo>(t, "master_status", DecodeMasterStatusInfo,
                                    EncodeMasterStatusInfo);
  ExpectSameBytes<ServerList>(t, "server_list", DecodeServerList, EncodeServerList);
  ExpectSameBytes<TableInfo>(t, "table_info", DecodeTableInfo, EncodeTableInfo);
  ExpectSameBytes<TableList>(t, "table_list", DecodeTableList, EncodeTableList);
  ExpectSameBytes<TableNameRequest>(t, "table_name", DecodeTableNameRequest,
                                    EncodeTableNameRequest);
  ExpectSameBytes<TabletList>(t, "tablet_list", DecodeTabletList, EncodeTabletList);
}

// The bytes of Apply (300) are unchanged (old tabletds keep understanding
// it) and ApplyWithFlags (305) is the same body with the flags word after
// the tablet reference.
TEST(WireCompatTest, TableApplyKeepsItsBytes) {
  using namespace client;
  ApplyRequest req;
  req.tablet = {"t", "1"};
  RowMutation m("r");
  m.Set("f:c", 5, "v");
  req.rows = {m};
  std::string plain, flagged;
  EncodeApplyRequest(req, &plain);
  EXPECT_EQ(plain, std::string("\x01t\x01" "1\x01\x01r\x01\x00\x03" "f:c\x0a\x01v", 16));
  req.sync = true;
  EncodeApplyWithFlagsRequest(req, &flagged);
  EXPECT_EQ(flagged, std::string("\x01t\x01" "1\x01\x01\x01r\x01\x00\x03" "f:c\x0a\x01v", 17));
  EXPECT_EQ(kMsgApply, 300);
  EXPECT_EQ(kMsgApplyWithFlags, 305);
}

}  // namespace
}  // namespace kdi
