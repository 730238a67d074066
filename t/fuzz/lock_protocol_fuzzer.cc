// Fuzz target for the lock-service message bodies (lib/lock/lock_protocol.h),
// which lockd decodes from any authenticated client and clients decode from
// lockd. Input: one selector byte (message type 100..114 and request/reply),
// then the body. Invariants: an accepted body re-encodes to bytes that decode
// again to the same encoding; unknown types are NotSupported; a sequencer
// survives decode -> encode -> decode.
#include <string>
#include <string_view>

#include "lib/lock/lock_protocol.h"
#include "t/fuzz/fuzz_targets.h"
#include "t/fuzz/round_trip.h"

namespace kdi::fuzz {

int LockProtocolTarget(const uint8_t* data, size_t size) {
  uint8_t sel;
  std::string_view body;
  if (!TakeSelector(data, size, &sel, &body)) return 0;
  // 16 message types (one past the last, to see the NotSupported path) x 2.
  const uint16_t type = static_cast<uint16_t>(lock::kFirstLockMessage + (sel >> 1) % 16);
  const bool reply = sel & 1;
  const bool known = type <= lock::kLastLockMessage;
  if (!reply) {
    auto dec = [type](std::string_view in, lock::LockRequest* r) {
      return lock::DecodeRequest(type, in, r);
    };
    auto enc = [type](const lock::LockRequest& r, std::string* out) {
      lock::EncodeRequest(type, r, out);
    };
    lock::LockRequest r;
    if (known) {
      CheckRoundTrip(body, dec, enc, &r);
    } else {
      KDI_FUZZ_CHECK(!dec(body, &r).ok());
    }
  } else {
    auto dec = [type](std::string_view in, lock::LockReply* r) {
      return lock::DecodeReply(type, in, r);
    };
    auto enc = [type](const lock::LockReply& r, std::string* out) {
      lock::EncodeReply(type, r, out);
    };
    lock::LockReply r;
    if (known) {
      if (CheckRoundTrip(body, dec, enc, &r)) {
        KDI_FUZZ_CHECK(r.events.size() <= lock::kMaxEventsPerReply);
      }
    } else {
      KDI_FUZZ_CHECK(!dec(body, &r).ok());
    }
  }
  (void)lock::LockMessageName(type);
  lock::Sequencer s;
  if (lock::DecodeSequencer(body, &s).ok()) {
    lock::Sequencer s2;
    std::string e = lock::EncodeSequencer(s);
    KDI_FUZZ_CHECK(lock::DecodeSequencer(e, &s2).ok());
    KDI_FUZZ_CHECK(s2.path == s.path && s2.instance == s.instance &&
                   s2.lock_generation == s.lock_generation && s2.mode == s.mode);
    KDI_FUZZ_CHECK(lock::EncodeSequencer(s2) == e);
  }
  return 0;
}

}  // namespace kdi::fuzz

#ifdef KDI_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kdi::fuzz::LockProtocolTarget(data, size);
}
#endif
