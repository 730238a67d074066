// Fuzz target for the server-role bodies around tabletd
// (lib/client/admin_protocol.h): master admin (400-406), tablet migration
// (500-504) and the master session (600-601). These come from other servers,
// but a server may be buggy, old or compromised: a bad body must give an error,
// never a crash. Input: one selector byte, then the body. Invariants: an
// accepted body re-encodes to bytes that decode again to the same encoding;
// decoded file names from a peer are plain names.
#include <string>
#include <string_view>

#include "lib/client/admin_protocol.h"
#include "t/fuzz/fuzz_targets.h"
#include "t/fuzz/round_trip.h"

namespace kdi::fuzz {

namespace {
Status DecodeRefBody(std::string_view in, client::TabletRef* ref) {
  return client::DecodeTabletRefBody(in, "fuzz", ref);
}
}  // namespace

int AdminProtocolTarget(const uint8_t* data, size_t size) {
  using namespace kdi::client;
  uint8_t sel;
  std::string_view body;
  if (!TakeSelector(data, size, &sel, &body)) return 0;
  switch (sel % 17) {
    case 0:
      CheckRoundTrip<TabletRef>(body, DecodeRefBody, EncodeTabletRefBody);
      break;
    case 1: {
      LoadTabletRequest r;
      if (CheckRoundTrip(body, DecodeLoadTabletRequest, EncodeLoadTabletRequest, &r)) {
        KDI_FUZZ_CHECK(r.desc.dir.size() <= kMaxDirBytes);
      }
      break;
    }
    case 2:
      CheckRoundTrip<TabletStatusInfo>(body, DecodeTabletStatusInfo, EncodeTabletStatusInfo);
      break;
    case 3:
      CheckRoundTrip<UnloadTabletRequest>(body, DecodeUnloadTabletRequest,
                                          EncodeUnloadTabletRequest);
      break;
    case 4:
      CheckRoundTrip<SplitTabletRequest>(body, DecodeSplitTabletRequest,
                                         EncodeSplitTabletRequest);
      break;
    case 5:
      CheckRoundTrip<SplitInfo>(body, DecodeSplitInfo, EncodeSplitInfo);
      break;
    case 6: {
      ServerStatusInfo info;
      if (CheckRoundTrip(body, DecodeServerStatusInfo, EncodeServerStatusInfo, &info)) {
        KDI_FUZZ_CHECK(info.tablets.size() <= kMaxTabletsPerServer);
        for (const TabletStatusInfo& t : info.tablets) (void)TabletStateName(t.state);
      }
      break;
    }
    case 7:
      CheckRoundTrip<MigrateTabletRequest>(body, DecodeMigrateTabletRequest,
                                           EncodeMigrateTabletRequest);
      break;
    case 8:
      CheckRoundTrip<MigrateTabletReply>(body, DecodeMigrateTabletReply,
                                         EncodeMigrateTabletReply);
      break;
    case 9: {
      KeepAliveReply r;
      if (CheckRoundTrip(body, DecodeKeepAliveReply, EncodeKeepAliveReply, &r)) {
        KDI_FUZZ_CHECK(r.orders.size() <= kMaxOrders);
      }
      break;
    }
    case 10:
      CheckRoundTrip<ListTabletFilesRequest>(body, DecodeListTabletFilesRequest,
                                             EncodeListTabletFilesRequest);
      break;
    case 11: {
      ListTabletFilesReply r;
      if (CheckRoundTrip(body, DecodeListTabletFilesReply, EncodeListTabletFilesReply, &r)) {
        KDI_FUZZ_CHECK(r.files.size() <= kMaxTabletFiles);
        for (const TabletFileInfo& f : r.files) KDI_FUZZ_CHECK(IsPlainFileName(f.name));
      }
      break;
    }
    case 12: {
      ReadTabletChunkRequest r;
      if (CheckRoundTrip(body, DecodeReadTabletChunkRequest, EncodeReadTabletChunkRequest,
                         &r)) {
        KDI_FUZZ_CHECK(r.length <= kMaxChunkBytes);
        KDI_FUZZ_CHECK(IsPlainFileName(r.name));
      }
      break;
    }
    case 13:
      CheckRoundTrip<CopyTabletRequest>(body, DecodeCopyTabletRequest, EncodeCopyTabletRequest);
      break;
    case 14:
      CheckRoundTrip<CopyTabletReply>(body, DecodeCopyTabletReply, EncodeCopyTabletReply);
      break;
    case 15: {
      bool plain = IsPlainFileName(body);
      if (plain) {
        KDI_FUZZ_CHECK(!body.empty() && body.size() <= kMaxFileNameBytes);
        KDI_FUZZ_CHECK(body.find('/') == std::string_view::npos && body != "." && body != "..");
      }
      break;
    }
    case 16: {
      TabletRef ref;
      ref.table = std::string(body.substr(0, body.size() / 2));
      ref.tablet_id = std::string(body.substr(body.size() / 2));
      (void)DefaultTabletDir(ref);
      (void)AdminMessageName(static_cast<uint16_t>(400 + sel % 8));
      (void)AdminMessageName(static_cast<uint16_t>(500 + sel % 8));
      (void)AdminMessageName(static_cast<uint16_t>(600 + sel % 4));
      break;
    }
  }
  return 0;
}

}  // namespace kdi::fuzz

#ifdef KDI_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kdi::fuzz::AdminProtocolTarget(data, size);
}
#endif
