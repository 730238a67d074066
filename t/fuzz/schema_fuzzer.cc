// Fuzz target for schema decoding (include/kdi/schema.h): the binary form
// (Schema::DecodeFrom, from the wire and from tablet metadata on disk) and the
// text form (Schema::Parse, FamilyOptions::Parse, from kdicli and masterd), and
// the on-disk tablet metadata record that embeds a schema
// (lib/storage/tablet.h TabletMeta::DecodeFrom). Invariants: DecodeFrom of
// EncodeTo gives the same schema; Parse of ToString gives the same schema;
// every bad input is InvalidArgument (or Corruption for tablet metadata).
#include <string>
#include <string_view>

#include "kdi/schema.h"
#include "lib/storage/tablet.h"
#include "t/fuzz/fuzz_targets.h"

namespace kdi::fuzz {

namespace {
void CheckSchema(const Schema& s) {
  KDI_FUZZ_CHECK(s.families().size() <= Schema::kMaxFamilies);
  std::string bin;
  s.EncodeTo(&bin);
  Schema b;
  Status st = Schema::DecodeFrom(bin, &b);
  if (!st.ok()) fprintf(stderr, "re-decode: %s\n", st.ToString().c_str());
  KDI_FUZZ_CHECK(st.ok());
  KDI_FUZZ_CHECK(b == s);
  Schema t;
  std::string text = s.ToString();
  st = Schema::Parse(text, &t);
  if (!st.ok()) fprintf(stderr, "re-parse of '%s': %s\n", text.c_str(), st.ToString().c_str());
  KDI_FUZZ_CHECK(st.ok());
  KDI_FUZZ_CHECK(t == s);
  for (const FamilyOptions& f : s.families()) {
    KDI_FUZZ_CHECK(s.FindFamily(f.name) != nullptr);
  }
}
}  // namespace

int SchemaTarget(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Schema s;
  Status st = Schema::DecodeFrom(in, &s);
  if (st.ok()) {
    CheckSchema(s);
  } else {
    KDI_FUZZ_CHECK(st.IsInvalidArgument());
  }
  Schema p;
  st = Schema::Parse(in, &p);
  if (st.ok()) {
    CheckSchema(p);
  } else {
    KDI_FUZZ_CHECK(st.IsInvalidArgument());
  }
  FamilyOptions f;
  if (FamilyOptions::Parse(in, &f).ok()) {
    FamilyOptions g;
    KDI_FUZZ_CHECK(FamilyOptions::Parse(f.ToString(), &g).ok());
    KDI_FUZZ_CHECK(g == f);
  }
  storage::TabletMeta m;
  if (storage::TabletMeta::DecodeFrom(in, &m).ok()) {
    std::string e1;
    m.EncodeTo(&e1);
    storage::TabletMeta m2;
    KDI_FUZZ_CHECK(storage::TabletMeta::DecodeFrom(e1, &m2).ok());
    KDI_FUZZ_CHECK(m2.table == m.table && m2.start_row == m.start_row &&
                   m2.end_row == m.end_row && m2.schema == m.schema);
    (void)m.Describe();
  }
  return 0;
}

}  // namespace kdi::fuzz

#ifdef KDI_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kdi::fuzz::SchemaTarget(data, size);
}
#endif
