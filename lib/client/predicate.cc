// ScanPredicate: builders, canonical text (ToString) and the binary wire form.
//
// Binary form (version 1):
//   u8 version, u8 flags (1 rows, 2 columns, 4 times, 8 history: which are present;
//   an absent field is unrestricted),
//   rows/columns := varint32 n, n x { lp lower, u8 upper_unbounded, [lp upper] }
//   times        := varint32 n, n x { varsint64 lo, varsint64 hi }
//   history      := varsint64 k
#include <cstdio>
#include <limits>

#include "kdi/scan_predicate.h"
#include "lib/util/coding.h"

namespace kdi {

namespace {

constexpr uint8_t kPredicateVersion = 1;
constexpr uint8_t kHasRows = 1, kHasColumns = 2, kHasTimes = 4, kHasHistory = 8;

void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c >= 0x20 && c < 0x7f) {
      out->push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out->append(buf);
    }
  }
  out->push_back('"');
}

bool EndsWithNul(const std::string& s) { return !s.empty() && s.back() == '\0'; }

std::string WithoutLast(const std::string& s) { return s.substr(0, s.size() - 1); }

void AppendStringInterval(std::string* out, const char* field, const StringInterval& i) {
  std::string succ;
  if (!i.upper_unbounded && EndsWithNul(i.upper) && WithoutLast(i.upper) == i.lower) {
    *out += field;
    *out += " = ";
    AppendQuoted(out, i.lower);
    return;
  }
  if (!i.lower.empty()) {
    bool has_succ = PrefixSuccessor(i.lower, &succ);
    if ((has_succ && !i.upper_unbounded && i.upper == succ) ||
        (!has_succ && i.upper_unbounded)) {
      *out += field;
      *out += " ~= ";
      AppendQuoted(out, i.lower);
      return;
    }
  }
  if (i.lower.empty()) {
    // Bounded above only (the unbounded case is the whole set, never printed).
    *out += field;
    if (EndsWithNul(i.upper)) {
      *out += " <= ";
      AppendQuoted(out, WithoutLast(i.upper));
    } else {
      *out += " < ";
      AppendQuoted(out, i.upper);
    }
    return;
  }
  if (i.upper_unbounded) {
    *out += field;
    if (EndsWithNul(i.lower)) {
      *out += " > ";
      AppendQuoted(out, WithoutLast(i.lower));
    } else {
      *out += " >= ";
      AppendQuoted(out, i.lower);
    }
    return;
  }
  if (EndsWithNul(i.lower)) {
    AppendQuoted(out, WithoutLast(i.lower));
    *out += " < ";
  } else {
    AppendQuoted(out, i.lower);
    *out += " <= ";
  }
  *out += field;
  if (EndsWithNul(i.upper)) {
    *out += " <= ";
    AppendQuoted(out, WithoutLast(i.upper));
  } else {
    *out += " < ";
    AppendQuoted(out, i.upper);
  }
}

void AppendStringSet(std::string* out, const char* field, const StringIntervalSet& set) {
  if (set.empty()) {
    *out += field;
    *out += " < \"\"";  // matches nothing
    return;
  }
  bool first = true;
  for (const StringInterval& i : set.intervals()) {
    if (!first) *out += " or ";
    first = false;
    AppendStringInterval(out, field, i);
  }
}

void AppendTimeSet(std::string* out, const TimeIntervalSet& set) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (set.empty()) {
    *out += "time < @" + std::to_string(kMin);
    return;
  }
  bool first = true;
  for (const TimeInterval& i : set.intervals()) {
    if (!first) *out += " or ";
    first = false;
    if (i.lo == i.hi) {
      *out += "time = @" + std::to_string(i.lo);
    } else if (i.lo == kMin) {
      *out += "time <= @" + std::to_string(i.hi);
    } else if (i.hi == kMax) {
      *out += "time >= @" + std::to_string(i.lo);
    } else {
      *out += "@" + std::to_string(i.lo) + " <= time <= @" + std::to_string(i.hi);
    }
  }
}

void EncodeStringSet(const StringIntervalSet& set, std::string* dst) {
  PutVarint32(dst, static_cast<uint32_t>(set.intervals().size()));
  for (const StringInterval& i : set.intervals()) {
    PutLengthPrefixed(dst, i.lower);
    PutBool(dst, i.upper_unbounded);
    if (!i.upper_unbounded) PutLengthPrefixed(dst, i.upper);
  }
}

bool DecodeStringSet(Decoder* d, StringIntervalSet* out) {
  uint32_t n = 0;
  if (!d->GetCount(&n, 2, ScanPredicate::kMaxIntervals)) return false;
  StringIntervalSet set;
  for (uint32_t k = 0; k < n; ++k) {
    StringInterval i;
    if (!d->GetLengthPrefixed(&i.lower) || !d->GetBool(&i.upper_unbounded)) return false;
    if (!i.upper_unbounded && !d->GetLengthPrefixed(&i.upper)) return false;
    set.Add(i);
  }
  *out = std::move(set);
  return true;
}

}  // namespace

ScanPredicate::ScanPredicate()
    : rows_(StringIntervalSet::All()),
      columns_(StringIntervalSet::All()),
      times_(TimeIntervalSet::All()) {}

ScanPredicate& ScanPredicate::SetRows(StringIntervalSet rows) {
  rows_ = std::move(rows);
  return *this;
}

ScanPredicate& ScanPredicate::SetColumns(StringIntervalSet columns) {
  columns_ = std::move(columns);
  return *this;
}

ScanPredicate& ScanPredicate::SetFamily(std::string_view family) {
  std::string p(family);
  p.push_back(':');
  return SetColumns(StringIntervalSet::Prefix(p));
}

ScanPredicate& ScanPredicate::SetTimes(TimeIntervalSet times) {
  times_ = std::move(times);
  return *this;
}

ScanPredicate& ScanPredicate::SetHistory(int64_t k) {
  history_ = k;
  return *this;
}

bool ScanPredicate::operator==(const ScanPredicate& o) const {
  return rows_ == o.rows_ && columns_ == o.columns_ && times_ == o.times_ &&
         history_ == o.history_;
}

std::string ScanPredicate::ToString() const {
  std::string out;
  auto sep = [&out] {
    if (!out.empty()) out += " and ";
  };
  if (!rows_.IsAll()) {
    sep();
    AppendStringSet(&out, "row", rows_);
  }
  if (!columns_.IsAll()) {
    sep();
    AppendStringSet(&out, "column", columns_);
  }
  if (!times_.IsAll()) {
    sep();
    AppendTimeSet(&out, times_);
  }
  if (history_ != 0) {
    sep();
    out += "history = " + std::to_string(history_);
  }
  return out;
}

void ScanPredicate::EncodeTo(std::string* dst) const {
  uint8_t flags = 0;
  if (!rows_.IsAll()) flags |= kHasRows;
  if (!columns_.IsAll()) flags |= kHasColumns;
  if (!times_.IsAll()) flags |= kHasTimes;
  if (history_ != 0) flags |= kHasHistory;
  dst->push_back(static_cast<char>(kPredicateVersion));
  dst->push_back(static_cast<char>(flags));
  if (flags & kHasRows) EncodeStringSet(rows_, dst);
  if (flags & kHasColumns) EncodeStringSet(columns_, dst);
  if (flags & kHasTimes) {
    PutVarint32(dst, static_cast<uint32_t>(times_.intervals().size()));
    for (const TimeInterval& i : times_.intervals()) {
      PutVarsint64(dst, i.lo);
      PutVarsint64(dst, i.hi);
    }
  }
  if (flags & kHasHistory) PutVarsint64(dst, history_);
}

Status ScanPredicate::DecodeFrom(std::string_view src, ScanPredicate* out) {
  Decoder d(src);
  std::string_view head;
  if (!d.GetBytes(2, &head)) return Status::InvalidArgument("predicate: truncated header");
  if (static_cast<uint8_t>(head[0]) != kPredicateVersion) {
    return Status::InvalidArgument("predicate: unsupported encoding version " +
                                   std::to_string(static_cast<uint8_t>(head[0])));
  }
  uint8_t flags = static_cast<uint8_t>(head[1]);
  if (flags & ~(kHasRows | kHasColumns | kHasTimes | kHasHistory)) {
    return Status::InvalidArgument("predicate: unknown flags");
  }
  ScanPredicate p;
  if ((flags & kHasRows) && !DecodeStringSet(&d, &p.rows_)) {
    return Status::InvalidArgument("predicate: malformed row intervals");
  }
  if ((flags & kHasColumns) && !DecodeStringSet(&d, &p.columns_)) {
    return Status::InvalidArgument("predicate: malformed column intervals");
  }
  if (flags & kHasTimes) {
    uint32_t n = 0;
    if (!d.GetCount(&n, 2, kMaxIntervals)) {
      return Status::InvalidArgument("predicate: malformed time intervals");
    }
    TimeIntervalSet t;
    for (uint32_t k = 0; k < n; ++k) {
      TimeInterval i;
      if (!d.GetVarsint64(&i.lo) || !d.GetVarsint64(&i.hi)) {
        return Status::InvalidArgument("predicate: malformed time intervals");
      }
      t.Add(i);
    }
    p.times_ = std::move(t);
  }
  if ((flags & kHasHistory) && !d.GetVarsint64(&p.history_)) {
    return Status::InvalidArgument("predicate: malformed history");
  }
  if (!d.empty()) return Status::InvalidArgument("predicate: trailing bytes");
  *out = std::move(p);
  return Status::OK();
}

}  // namespace kdi
