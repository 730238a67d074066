// Fuzz target for the table interface bodies (lib/client/table_protocol.h):
// what tabletd decodes from every client (Apply, ConditionalApply, Sync,
// ScanPage, GetRowRevision) and what clients decode from tabletd. Input: one
// selector byte, then the body. Invariants: an accepted body re-encodes to bytes
// that decode again to the same encoding; decoded sizes respect the wire limits.
#include <string>
#include <string_view>

#include "lib/client/table_protocol.h"
#include "t/fuzz/fuzz_targets.h"
#include "t/fuzz/round_trip.h"

namespace kdi::fuzz {

int TableProtocolTarget(const uint8_t* data, size_t size) {
  using namespace kdi::client;
  uint8_t sel;
  std::string_view body;
  if (!TakeSelector(data, size, &sel, &body)) return 0;
  switch (sel % 9) {
    case 0: {
      ApplyRequest r;
      if (CheckRoundTrip(body, DecodeApplyRequest, EncodeApplyRequest, &r)) {
        KDI_FUZZ_CHECK(r.rows.size() <= kMaxBatchRows);
        KDI_FUZZ_CHECK(r.tablet.table.size() <= kMaxTableNameBytes);
        (void)CheckTabletRef(r.tablet);
      }
      break;
    }
    case 1:
      CheckRoundTrip<ApplyReply>(body, DecodeApplyReply, EncodeApplyReply);
      break;
    case 2: {
      ConditionalApplyRequest r;
      if (CheckRoundTrip(body, DecodeConditionalApplyRequest, EncodeConditionalApplyRequest,
                         &r)) {
        KDI_FUZZ_CHECK(r.conditions.size() <= kMaxConditions);
      }
      break;
    }
    case 3:
      CheckRoundTrip<SyncRequest>(body, DecodeSyncRequest, EncodeSyncRequest);
      break;
    case 4: {
      ScanPageRequest r;
      if (CheckRoundTrip(body, DecodeScanPageRequest, EncodeScanPageRequest, &r)) {
        KDI_FUZZ_CHECK(r.resume_token.size() <= kMaxResumeTokenBytes);
        (void)r.predicate.ToString();
      }
      break;
    }
    case 5:
      CheckRoundTrip<ScanPageReply>(body, DecodeScanPageReply, EncodeScanPageReply);
      break;
    case 6:
      CheckRoundTrip<RowRevisionRequest>(body, DecodeRowRevisionRequest,
                                         EncodeRowRevisionRequest);
      break;
    case 7:
      CheckRoundTrip<RowRevisionReply>(body, DecodeRowRevisionReply, EncodeRowRevisionReply);
      break;
    case 8: {
      // The names alone, as tabletd validates them.
      (void)IsValidTabletId(body);
      (void)IsValidTableName(body);
      Decoder d(body);
      TabletRef ref;
      GetTabletRef(&d, &ref);
      if (d.ok()) {
        std::string e;
        PutTabletRef(&e, ref);
        Decoder d2(e);
        TabletRef ref2;
        GetTabletRef(&d2, &ref2);
        KDI_FUZZ_CHECK(d2.ok() && d2.empty() && ref2 == ref);
      }
      break;
    }
  }
  (void)TableMessageName(static_cast<uint16_t>(300 + sel % 8));
  return 0;
}

}  // namespace kdi::fuzz

#ifdef KDI_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kdi::fuzz::TableProtocolTarget(data, size);
}
#endif
