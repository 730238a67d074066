// kdi::ScanPredicate: which cells a scan returns, in KDI's predicate language.
//
//   PREDICATE    := ( SUBPREDICATE ( 'and' SUBPREDICATE )* )?
//   SUBPREDICATE := INTERVALSET | HISTORY
//   INTERVALSET  := INTERVAL ( 'or' INTERVAL )*
//   INTERVAL     := ( LITERAL REL-OP )? FIELD REL-OP LITERAL
//   HISTORY      := 'history' '=' INTEGER
//   FIELD        := 'row' | 'column' | 'time'
//   REL-OP       := '<' | '<=' | '>' | '>=' | '=' | '~='      (~= : starts with)
//   LITERAL      := "string" (escapes \" \\ \xNN \n \t \r)  for row and column
//                 | ISO8601 datetime | @INTEGER (microseconds)   for time
//
// e.g.  row ~= "com.foo" and "word:cat" < column <= "word:dog" and history = 1
//
// Semantics (see doc/predicates.md): an INTERVALSET on one field is the union of
// its intervals; 'and' intersects (two subpredicates on the same field give the
// intersection). A field with no subpredicate is unrestricted. `history = K`
// keeps, per (row, column), the K newest versions among those the time filter
// admits; K < 0 keeps all but the |K| newest; K = 0 is an error. The table
// schema's max_versions and TTL apply before the predicate: expired or
// surplus versions never exist as far as a scan is concerned.
//
// Representation: rows and columns are kept as a normalized StringIntervalSet
// (sorted, disjoint half-open intervals [lower, upper)); times as a normalized
// TimeIntervalSet of closed intervals [lo, hi]. Parse(ToString(p)) == p for every
// predicate, and EncodeTo/DecodeFrom is the compact binary wire form.
//
// Value type: a const ScanPredicate may be read from many threads.
#ifndef KDI_SCAN_PREDICATE_H_
#define KDI_SCAN_PREDICATE_H_

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/status.h"

namespace kdi {

// [lower, upper) over byte strings; upper_unbounded means +infinity.
struct StringInterval {
  std::string lower;
  std::string upper;
  bool upper_unbounded = true;

  bool Contains(std::string_view s) const;
  bool IsEmpty() const { return !upper_unbounded && upper <= lower; }
  bool operator==(const StringInterval& o) const;
};

// A union of intervals, kept sorted, disjoint and merged. Default: empty (matches
// nothing); All() matches every string.
class StringIntervalSet {
 public:
  StringIntervalSet() = default;
  static StringIntervalSet All();
  static StringIntervalSet Exact(std::string_view s);           // = s
  static StringIntervalSet Prefix(std::string_view p);          // ~= p
  static StringIntervalSet Range(std::string_view lo, std::string_view hi);  // [lo, hi)
  static StringIntervalSet AtLeast(std::string_view lo);        // >= lo

  // Union with one interval (ignored if empty).
  void Add(const StringInterval& interval);
  void AddAll(const StringIntervalSet& other);
  StringIntervalSet Intersect(const StringIntervalSet& other) const;

  bool Contains(std::string_view s) const;
  bool IsAll() const;
  bool empty() const { return intervals_.empty(); }
  const std::vector<StringInterval>& intervals() const { return intervals_; }
  bool operator==(const StringIntervalSet& o) const { return intervals_ == o.intervals_; }
  bool operator!=(const StringIntervalSet& o) const { return !(*this == o); }

 private:
  std::vector<StringInterval> intervals_;
};

// The smallest string greater than every string starting with p; false when there
// is none (p empty or all 0xff), i.e. the prefix range is unbounded above.
bool PrefixSuccessor(std::string_view p, std::string* out);

// Closed interval [lo, hi] of microsecond timestamps.
struct TimeInterval {
  int64_t lo = std::numeric_limits<int64_t>::min();
  int64_t hi = std::numeric_limits<int64_t>::max();
  bool operator==(const TimeInterval& o) const { return lo == o.lo && hi == o.hi; }
};

class TimeIntervalSet {
 public:
  TimeIntervalSet() = default;  // empty
  static TimeIntervalSet All();
  static TimeIntervalSet Range(int64_t lo, int64_t hi);  // [lo, hi]; empty if lo > hi

  void Add(const TimeInterval& interval);
  TimeIntervalSet Intersect(const TimeIntervalSet& other) const;
  bool Contains(int64_t t) const;
  bool IsAll() const;
  bool empty() const { return intervals_.empty(); }
  const std::vector<TimeInterval>& intervals() const { return intervals_; }
  bool operator==(const TimeIntervalSet& o) const { return intervals_ == o.intervals_; }
  bool operator!=(const TimeIntervalSet& o) const { return !(*this == o); }

 private:
  std::vector<TimeInterval> intervals_;
};

class ScanPredicate {
 public:
  static constexpr uint32_t kMaxIntervals = 100000;

  // Matches every cell.
  ScanPredicate();

  // Parses the language above. On error returns InvalidArgument whose message
  // names the 0-based byte position and the offending token, e.g.
  //   predicate: at position 4 near "rowx": expected 'row', 'column', 'time' ...
  // *out is unchanged on error.
  static Status Parse(std::string_view text, ScanPredicate* out);
  // Canonical text; "" for the match-everything predicate.
  std::string ToString() const;

  void EncodeTo(std::string* dst) const;
  // InvalidArgument on malformed or over-limit input; *out unchanged on error.
  static Status DecodeFrom(std::string_view src, ScanPredicate* out);

  // Builders. Each replaces that field's restriction.
  ScanPredicate& SetRows(StringIntervalSet rows);
  ScanPredicate& SetRow(std::string_view row) { return SetRows(StringIntervalSet::Exact(row)); }
  ScanPredicate& SetRowPrefix(std::string_view p) { return SetRows(StringIntervalSet::Prefix(p)); }
  ScanPredicate& SetRowRange(std::string_view lo, std::string_view hi) {
    return SetRows(StringIntervalSet::Range(lo, hi));
  }
  ScanPredicate& SetColumns(StringIntervalSet columns);
  ScanPredicate& SetColumn(std::string_view c) {
    return SetColumns(StringIntervalSet::Exact(c));
  }
  ScanPredicate& SetColumnPrefix(std::string_view p) {
    return SetColumns(StringIntervalSet::Prefix(p));
  }
  // Whole family: columns starting with "family:".
  ScanPredicate& SetFamily(std::string_view family);
  ScanPredicate& SetTimes(TimeIntervalSet times);
  ScanPredicate& SetTimeRange(int64_t lo, int64_t hi) {
    return SetTimes(TimeIntervalSet::Range(lo, hi));
  }
  // k > 0: k newest; k < 0: all but the |k| newest; 0: no history limit.
  ScanPredicate& SetHistory(int64_t k);

  const StringIntervalSet& rows() const { return rows_; }
  const StringIntervalSet& columns() const { return columns_; }
  const TimeIntervalSet& times() const { return times_; }
  int64_t history() const { return history_; }  // 0 = unlimited
  // True when the predicate can match nothing (an empty interval set).
  bool MatchesNothing() const { return rows_.empty() || columns_.empty() || times_.empty(); }

  bool operator==(const ScanPredicate& o) const;
  bool operator!=(const ScanPredicate& o) const { return !(*this == o); }

 private:
  StringIntervalSet rows_;
  StringIntervalSet columns_;
  TimeIntervalSet times_;
  int64_t history_ = 0;
};

// Time literal helpers shared with kdicli: ISO8601 ("2026-11-28",
// "2026-11-28T17:55:00", "...:00.123456Z", "...+02:00"; no zone means UTC) or
// "@INTEGER" microseconds. InvalidArgument on anything else.
Status ParseTimeLiteral(std::string_view text, int64_t* micros);
// "2026-11-28T17:55:00.123456Z" (fraction omitted when zero).
std::string FormatTimeIso8601(int64_t micros);

}  // namespace kdi

#endif  // KDI_SCAN_PREDICATE_H_
