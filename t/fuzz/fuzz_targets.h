// KDI fuzz targets. Each target is a plain function so that it can be driven
// both by libFuzzer (built with clang when ./configure --enable-fuzz; the
// target's file then also defines LLVMFuzzerTestOneInput) and by
// t/fuzz_replay_test, which replays t/fuzz/corpus/<target>/* in `make check`
// with any compiler. A target must never crash, hang or allocate much on any
// input; it checks round-trip invariants with KDI_FUZZ_CHECK, which aborts
// (libFuzzer then saves the input; the replay test dies and fails).
//
// Crashes found by fuzzing are added to the target's corpus directory so that
// they stay regression tests.
#ifndef KDI_T_FUZZ_FUZZ_TARGETS_H_
#define KDI_T_FUZZ_FUZZ_TARGETS_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#define KDI_FUZZ_CHECK(cond)                                                          \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                        \
    }                                                                                 \
  } while (0)

namespace kdi::fuzz {

// DecodeFrameHeader + DecodeFrameBody + DecodeReplyBody (lib/rpc/frame.h).
int FrameHeaderTarget(const uint8_t* data, size_t size);
// ConfigFile::Parse and Options::ApplyConfig/ParseArgs (lib/util/options.h).
int ConfigTarget(const uint8_t* data, size_t size);
// ScanPredicate::Parse/ToString, DecodeFrom/EncodeTo, ParseTimeLiteral.
int ScanPredicateTarget(const uint8_t* data, size_t size);
// Schema::DecodeFrom/Parse, FamilyOptions::Parse, storage::TabletMeta::DecodeFrom.
int SchemaTarget(const uint8_t* data, size_t size);
// Cell keys/values on disk, the cell/batch/condition codec, scan resume tokens.
int StorageCodecTarget(const uint8_t* data, size_t size);
// lock::DecodeRequest/DecodeReply for types 100..114, DecodeSequencer.
int LockProtocolTarget(const uint8_t* data, size_t size);
// Table interface bodies 300..304 (lib/client/table_protocol.h).
int TableProtocolTarget(const uint8_t* data, size_t size);
// Admin, migration and master-session bodies (lib/client/admin_protocol.h).
int AdminProtocolTarget(const uint8_t* data, size_t size);
// Table-meta interface bodies 200..208 (lib/client/meta_protocol.h).
int MetaProtocolTarget(const uint8_t* data, size_t size);
// META rows, keys, split intents (lib/client/meta_layout.h).
int MetaLayoutTarget(const uint8_t* data, size_t size);
// kdicli load lines: TSV, JSON, escapes, base64 (kdicli/format.h).
int LoadLineTarget(const uint8_t* data, size_t size);

}  // namespace kdi::fuzz

#endif  // KDI_T_FUZZ_FUZZ_TARGETS_H_
