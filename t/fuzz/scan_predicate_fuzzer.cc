// Fuzz target for the scan predicate language and its wire form
// (include/kdi/scan_predicate.h). The input is tried as predicate text, as the
// binary EncodeTo form and as a time literal. Invariants: Parse(ToString(p)) == p
// for every accepted predicate (text or binary); DecodeFrom(EncodeTo(p)) == p;
// interval sets are normalized (non-empty, sorted, disjoint); a time literal
// survives FormatTimeIso8601.
#include <string>
#include <string_view>

#include "kdi/scan_predicate.h"
#include "t/fuzz/fuzz_targets.h"

namespace kdi::fuzz {

namespace {
void CheckNormalized(const StringIntervalSet& set) {
  const auto& iv = set.intervals();
  for (size_t i = 0; i < iv.size(); i++) {
    KDI_FUZZ_CHECK(!iv[i].IsEmpty());
    if (i > 0) {
      // The previous interval ends strictly before this one starts.
      KDI_FUZZ_CHECK(!iv[i - 1].upper_unbounded);
      KDI_FUZZ_CHECK(iv[i - 1].upper < iv[i].lower);
    }
  }
}

void CheckNormalized(const TimeIntervalSet& set) {
  const auto& iv = set.intervals();
  for (size_t i = 0; i < iv.size(); i++) {
    KDI_FUZZ_CHECK(iv[i].lo <= iv[i].hi);
    if (i > 0) KDI_FUZZ_CHECK(iv[i - 1].hi < iv[i].lo);
  }
}

void CheckPredicate(const ScanPredicate& p) {
  CheckNormalized(p.rows());
  CheckNormalized(p.columns());
  CheckNormalized(p.times());
  // Text round trip.
  std::string text = p.ToString();
  ScanPredicate q;
  Status s = ScanPredicate::Parse(text, &q);
  if (!s.ok()) fprintf(stderr, "canonical text refused: %s\n", s.ToString().c_str());
  KDI_FUZZ_CHECK(s.ok());
  KDI_FUZZ_CHECK(q == p);
  KDI_FUZZ_CHECK(q.ToString() == text);
  // Binary round trip.
  std::string bin;
  p.EncodeTo(&bin);
  ScanPredicate r;
  KDI_FUZZ_CHECK(ScanPredicate::DecodeFrom(bin, &r).ok());
  KDI_FUZZ_CHECK(r == p);
}
}  // namespace

int ScanPredicateTarget(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ScanPredicate p;
  const ScanPredicate untouched = p;
  Status s = ScanPredicate::Parse(in, &p);
  if (s.ok()) {
    CheckPredicate(p);
  } else {
    KDI_FUZZ_CHECK(s.IsInvalidArgument());
    KDI_FUZZ_CHECK(p == untouched);  // *out unchanged on error
  }
  ScanPredicate b;
  s = ScanPredicate::DecodeFrom(in, &b);
  if (s.ok()) {
    CheckPredicate(b);
  } else {
    KDI_FUZZ_CHECK(b == untouched);
  }
  int64_t t = 0;
  if (ParseTimeLiteral(in, &t).ok()) {
    int64_t t2 = 0;
    std::string iso = FormatTimeIso8601(t);
    Status ts = ParseTimeLiteral(iso, &t2);
    if (!ts.ok()) fprintf(stderr, "%s: %s\n", iso.c_str(), ts.ToString().c_str());
    KDI_FUZZ_CHECK(ts.ok());
    KDI_FUZZ_CHECK(t2 == t);
  }
  return 0;
}

}  // namespace kdi::fuzz

#ifdef KDI_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kdi::fuzz::ScanPredicateTarget(data, size);
}
#endif
