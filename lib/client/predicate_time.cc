// Time literals of the predicate language: ISO8601 datetimes and @microseconds.
#include <cstdio>

#include "kdi/scan_predicate.h"

namespace kdi {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  bool neg = s[0] == '-';
  size_t i = neg || s[0] == '+' ? 1 : 0;
  if (i == s.size() || s.size() - i > 19) return false;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  }
  uint64_t limit = neg ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (v > limit) return false;
  *out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

Status BadTime(std::string_view text) {
  return Status::InvalidArgument(
      "bad time literal '" + std::string(text) +
      "' (expected @MICROSECONDS or ISO8601 like 2026-11-28T17:55:00Z)");
}

}  // namespace

Status ParseTimeLiteral(std::string_view text, int64_t* micros) {
  if (!text.empty() && text[0] == '@') {
    if (!ParseInt64(text.substr(1), micros)) return BadTime(text);
    return Status::OK();
  }
  int year, mon, day, hour = 0, min = 0, sec = 0;
  if (!Digits(text, 0, 4, &year) || text.size() < 10 || text[4] != '-' ||
      !Digits(text, 5, 2, &mon) || text[7] != '-' || !Digits(text, 8, 2, &day)) {
    return BadTime(text);
  }
  size_t p = 10;
  int64_t frac_us = 0;
  if (p < text.size() && (text[p] == 'T' || text[p] == 't')) {
    if (!Digits(text, p + 1, 2, &hour) || p + 3 >= text.size() || text[p + 3] != ':' ||
        !Digits(text, p + 4, 2, &min)) {
      return BadTime(text);
    }
    p += 6;
    if (p < text.size() && text[p] == ':') {
      if (!Digits(text, p + 1, 2, &sec)) return BadTime(text);
      p += 3;
      if (p < text.size() && (text[p] == '.' || text[p] == ',')) {
        ++p;
        int ndig = 0;
        int64_t scale = 100000;
        while (p < text.size() && text[p] >= '0' && text[p] <= '9') {
          if (ndig < 6) frac_us += (text[p] - '0') * scale;
          scale /= 10;
          ++ndig;
          ++p;
        }
        if (ndig == 0) return BadTime(text);
      }
    }
  }
  int64_t offset_s = 0;
  if (p < text.size()) {
    if ((text[p] == 'Z' || text[p] == 'z') && p + 1 == text.size()) {
      ++p;
    } else if (text[p] == '+' || text[p] == '-') {
      int oh, om = 0;
      int sign = text[p] == '-' ? -1 : 1;
      if (!Digits(text, p + 1, 2, &oh)) return BadTime(text);
      size_t q = p + 3;
      if (q < text.size() && text[q] == ':') ++q;
      if (q < text.size()) {
        if (!Digits(text, q, 2, &om)) return BadTime(text);
        q += 2;
      }
      if (q != text.size() || oh > 23 || om > 59) return BadTime(text);
      offset_s = sign * (oh * 3600 + om * 60);
      p = q;
    } else {
      return BadTime(text);
    }
  }
  if (p != text.size() || mon < 1 || mon > 12 || day < 1 || hour > 23 || min > 59 ||
      sec > 60) {
    return BadTime(text);
  }
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day));
  // Reject days past the end of the month (e.g. 2026-02-30).
  int64_t y2;
  unsigned m2, d2;
  CivilFromDays(days, &y2, &m2, &d2);
  if (m2 != static_cast<unsigned>(mon) || d2 != static_cast<unsigned>(day)) return BadTime(text);
  int64_t secs = days * 86400 + hour * 3600 + min * 60 + sec - offset_s;
  *micros = secs * 1000000 + frac_us;
  return Status::OK();
}

std::string FormatTimeIso8601(int64_t micros) {
  int64_t secs = micros / 1000000;
  int64_t us = micros % 1000000;
  if (us < 0) {
    us += 1000000;
    secs -= 1;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02d:%02d:%02d",
                        static_cast<long long>(y), m, d, static_cast<int>(rem / 3600),
                        static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (us != 0) {
    std::snprintf(buf, sizeof(buf), ".%06lld", static_cast<long long>(us));
    out += buf;
  }
  out += "Z";
  return out;
}

}  // namespace kdi
