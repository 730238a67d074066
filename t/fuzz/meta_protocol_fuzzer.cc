// Fuzz target for the masterd table-meta interface bodies
// (lib/client/meta_protocol.h, types 200-208): requests masterd decodes from any
// authenticated client and replies clients decode from masterd. Input: one
// selector byte, then the body. Invariants: an accepted body re-encodes to
// bytes that decode again to the same encoding; decoded alter operations apply
// to a schema without crashing, and a successful apply leaves a schema that
// survives its own encoding.
#include <string>
#include <string_view>

#include "lib/client/meta_protocol.h"
#include "t/fuzz/fuzz_targets.h"
#include "t/fuzz/round_trip.h"

namespace kdi::fuzz {

int MetaProtocolTarget(const uint8_t* data, size_t size) {
  using namespace kdi::meta;
  uint8_t sel;
  std::string_view body;
  if (!TakeSelector(data, size, &sel, &body)) return 0;
  switch (sel % 11) {
    case 0: {
      CreateTableRequest r;
      if (CheckRoundTrip(body, DecodeCreateTableRequest, EncodeCreateTableRequest, &r)) {
        KDI_FUZZ_CHECK(r.split_rows.size() <= kMaxSplitRows);
      }
      break;
    }
    case 1:
      CheckRoundTrip<TableNameRequest>(body, DecodeTableNameRequest, EncodeTableNameRequest);
      break;
    case 2: {
      AlterTableRequest r;
      if (CheckRoundTrip(body, DecodeAlterTableRequest, EncodeAlterTableRequest, &r)) {
        KDI_FUZZ_CHECK(r.ops.size() <= kMaxAlterOps);
        Schema s;
        FamilyOptions f;
        f.name = "f";
        (void)s.AddFamily(f);
        if (ApplyAlterOps(r.ops, &s).ok()) {
          std::string e;
          s.EncodeTo(&e);
          Schema s2;
          KDI_FUZZ_CHECK(Schema::DecodeFrom(e, &s2).ok() && s2 == s);
        }
      }
      break;
    }
    case 3:
      CheckRoundTrip<TableInfo>(body, DecodeTableInfo, EncodeTableInfo);
      break;
    case 4:
      CheckRoundTrip<TableList>(body, DecodeTableList, EncodeTableList);
      break;
    case 5: {
      TabletList list;
      if (CheckRoundTrip(body, DecodeTabletList, EncodeTabletList, &list)) {
        for (const TabletInfo& t : list.tablets) (void)t.meta.DebugString();
      }
      break;
    }
    case 6:
      CheckRoundTrip<ServerList>(body, DecodeServerList, EncodeServerList);
      break;
    case 7:
      CheckRoundTrip<FsckRequest>(body, DecodeFsckRequest, EncodeFsckRequest);
      break;
    case 8:
      CheckRoundTrip<FsckReply>(body, DecodeFsckReply, EncodeFsckReply);
      break;
    case 9:
      CheckRoundTrip<MasterStatusInfo>(body, DecodeMasterStatusInfo, EncodeMasterStatusInfo);
      break;
    case 10:
      (void)MetaMessageName(static_cast<uint16_t>(200 + body.size() % 12));
      break;
  }
  return 0;
}

}  // namespace kdi::fuzz

#ifdef KDI_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kdi::fuzz::MetaProtocolTarget(data, size);
}
#endif
