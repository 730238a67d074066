// StringIntervalSet / TimeIntervalSet: normalized unions of intervals.
//
// Invariant of both sets: intervals sorted by lower bound, non-empty, disjoint and
// not adjacent (adjacent or overlapping intervals are merged on Add), so two sets
// are equal iff they denote the same set of values.
#include <algorithm>

#include "kdi/scan_predicate.h"

namespace kdi {

bool PrefixSuccessor(std::string_view p, std::string* out) {
  std::string s(p);
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xff) s.pop_back();
  if (s.empty()) return false;
  s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  *out = std::move(s);
  return true;
}

bool StringInterval::Contains(std::string_view s) const {
  return s >= lower && (upper_unbounded || s < upper);
}

bool StringInterval::operator==(const StringInterval& o) const {
  return lower == o.lower && upper_unbounded == o.upper_unbounded &&
         (upper_unbounded || upper == o.upper);
}

StringIntervalSet StringIntervalSet::All() {
  StringIntervalSet s;
  s.intervals_.push_back(StringInterval{});
  return s;
}

StringIntervalSet StringIntervalSet::Exact(std::string_view v) {
  StringIntervalSet s;
  StringInterval i;
  i.lower = std::string(v);
  i.upper = i.lower;
  i.upper.push_back('\0');  // the immediate successor of v
  i.upper_unbounded = false;
  s.Add(i);
  return s;
}

StringIntervalSet StringIntervalSet::Prefix(std::string_view p) {
  StringIntervalSet s;
  StringInterval i;
  i.lower = std::string(p);
  i.upper_unbounded = !PrefixSuccessor(p, &i.upper);
  s.Add(i);
  return s;
}

StringIntervalSet StringIntervalSet::Range(std::string_view lo, std::string_view hi) {
  StringIntervalSet s;
  StringInterval i;
  i.lower = std::string(lo);
  i.upper = std::string(hi);
  i.upper_unbounded = false;
  s.Add(i);
  return s;
}

StringIntervalSet StringIntervalSet::AtLeast(std::string_view lo) {
  StringIntervalSet s;
  StringInterval i;
  i.lower = std::string(lo);
  s.Add(i);
  return s;
}

void StringIntervalSet::Add(const StringInterval& interval) {
  if (interval.IsEmpty()) return;
  std::vector<StringInterval> out;
  out.reserve(intervals_.size() + 1);
  StringInterval cur = interval;
  bool placed = false;
  for (StringInterval& i : intervals_) {
    // i entirely before cur (not touching)?
    if (!i.upper_unbounded && i.upper < cur.lower) {
      out.push_back(std::move(i));
      continue;
    }
    // i entirely after cur (not touching)?
    if (!cur.upper_unbounded && cur.upper < i.lower) {
      if (!placed) {
        out.push_back(cur);
        placed = true;
      }
      out.push_back(std::move(i));
      continue;
    }
    // Overlapping or adjacent: merge into cur.
    if (i.lower < cur.lower) cur.lower = i.lower;
    if (i.upper_unbounded || cur.upper_unbounded) {
      cur.upper_unbounded = true;
      cur.upper.clear();
    } else if (i.upper > cur.upper) {
      cur.upper = i.upper;
    }
  }
  if (!placed) out.push_back(cur);
  intervals_ = std::move(out);
}

void StringIntervalSet::AddAll(const StringIntervalSet& other) {
  for (const StringInterval& i : other.intervals_) Add(i);
}

StringIntervalSet StringIntervalSet::Intersect(const StringIntervalSet& other) const {
  StringIntervalSet out;
  for (const StringInterval& a : intervals_) {
    for (const StringInterval& b : other.intervals_) {
      StringInterval c;
      c.lower = std::max(a.lower, b.lower);
      if (a.upper_unbounded && b.upper_unbounded) {
        c.upper_unbounded = true;
      } else {
        c.upper_unbounded = false;
        if (a.upper_unbounded) {
          c.upper = b.upper;
        } else if (b.upper_unbounded) {
          c.upper = a.upper;
        } else {
          c.upper = std::min(a.upper, b.upper);
        }
      }
      out.Add(c);
    }
  }
  return out;
}

bool StringIntervalSet::Contains(std::string_view s) const {
  // First interval whose upper bound is beyond s.
  auto it = std::partition_point(intervals_.begin(), intervals_.end(),
                                 [&](const StringInterval& i) {
                                   return !i.upper_unbounded && i.upper <= s;
                                 });
  return it != intervals_.end() && it->Contains(s);
}

bool StringIntervalSet::IsAll() const {
  return intervals_.size() == 1 && intervals_[0].lower.empty() && intervals_[0].upper_unbounded;
}

TimeIntervalSet TimeIntervalSet::All() {
  TimeIntervalSet s;
  s.intervals_.push_back(TimeInterval{});
  return s;
}

TimeIntervalSet TimeIntervalSet::Range(int64_t lo, int64_t hi) {
  TimeIntervalSet s;
  s.Add(TimeInterval{lo, hi});
  return s;
}

void TimeIntervalSet::Add(const TimeInterval& interval) {
  if (interval.lo > interval.hi) return;
  std::vector<TimeInterval> out;
  TimeInterval cur = interval;
  bool placed = false;
  auto before = [](const TimeInterval& a, const TimeInterval& b) {
    // a ends before b starts and they are not adjacent.
    return a.hi < b.lo && a.hi + 1 < b.lo;  // a.hi < b.lo guarantees no overflow
  };
  for (const TimeInterval& i : intervals_) {
    if (before(i, cur)) {
      out.push_back(i);
    } else if (before(cur, i)) {
      if (!placed) {
        out.push_back(cur);
        placed = true;
      }
      out.push_back(i);
    } else {
      cur.lo = std::min(cur.lo, i.lo);
      cur.hi = std::max(cur.hi, i.hi);
    }
  }
  if (!placed) out.push_back(cur);
  intervals_ = std::move(out);
}

TimeIntervalSet TimeIntervalSet::Intersect(const TimeIntervalSet& other) const {
  TimeIntervalSet out;
  for (const TimeInterval& a : intervals_) {
    for (const TimeInterval& b : other.intervals_) {
      out.Add(TimeInterval{std::max(a.lo, b.lo), std::min(a.hi, b.hi)});
    }
  }
  return out;
}

bool TimeIntervalSet::Contains(int64_t t) const {
  for (const TimeInterval& i : intervals_) {
    if (t >= i.lo && t <= i.hi) return true;
  }
  return false;
}

bool TimeIntervalSet::IsAll() const {
  return intervals_.size() == 1 && intervals_[0] == TimeInterval{};
}

}  // namespace kdi
