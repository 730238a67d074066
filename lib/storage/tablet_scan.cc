// The scan engine: evaluates a ScanPredicate against a tablet's B-tree, one
// bounded page at a time.
//
// Walk: seek to the first row interval (clipped to the tablet's range); for each
// key decide, cheapest first: row outside the current row interval -> seek to the
// next interval; column outside the column set -> seek to the next column
// interval or the next row; version beyond max_versions or older than the TTL ->
// seek past the column (older versions are older still); outside the time set ->
// skip (or seek to the newest admissible time); history limit -> skip/seek. The
// page ends at a row boundary once it is full; a row alone larger than the page
// is cut (the only case in which a row is not returned whole).
//
// Resume token := u8 version(=1), lp key, varint64 existing, varint64 matched:
// the last key examined and the version counts of its column, so that
// max_versions and history stay exact across pages.
#include <limits>

#include "lib/storage/cell_key.h"
#include "lib/storage/tablet_impl.h"
#include "lib/util/coding.h"

namespace kdi::storage {

namespace {
constexpr uint8_t kTokenVersion = 1;
}  // namespace

void ScanCursorState::EncodeTo(std::string* dst) const {
  dst->push_back(static_cast<char>(kTokenVersion));
  PutLengthPrefixed(dst, key);
  PutVarint64(dst, existing);
  PutVarint64(dst, matched);
}

bool ScanCursorState::DecodeFrom(std::string_view src) {
  Decoder d(src);
  std::string_view v;
  if (!d.GetBytes(1, &v) || static_cast<uint8_t>(v[0]) != kTokenVersion) return false;
  return d.GetLengthPrefixed(&key, 2 * kMaxRowBytes + 2 * kMaxColumnBytes + 16) &&
         d.GetVarint64(&existing) && d.GetVarint64(&matched) && d.empty();
}

namespace {

// Cursor wrapper that seeks and steps, keeping the current key and value.
class Walker {
 public:
  explicit Walker(DBC* c) : c_(c) {}

  // Positions at the first key >= target. Returns 0, DB_NOTFOUND or an error.
  int Seek(std::string_view target) {
    DBT* k = key_.get();
    // DB_DBT_REALLOC buffer: Berkeley DB grows it for the key it returns; the
    // search key is seeded into it here.
    void* p = realloc(k->data, target.size() + 1);
    if (p == nullptr) return ENOMEM;
    k->data = p;
    memcpy(k->data, target.data(), target.size());
    k->size = static_cast<u_int32_t>(target.size());
    return c_->get(c_, k, val_.get(), DB_SET_RANGE);
  }
  int Next() { return c_->get(c_, key_.get(), val_.get(), DB_NEXT); }
  std::string_view key() const { return key_.view(); }
  std::string_view value() const { return val_.view(); }

 private:
  DBC* c_;
  DbtHolder key_;
  DbtHolder val_;
};

}  // namespace

Status Tablet::Impl::ScanLocked(const ScanPredicate& pred, std::string_view resume_token,
                                const ScanLimits& limits, const TabletMeta& meta,
                                ScanPageResult* page) {
  page->cells.clear();
  page->resume_token.clear();
  page->done = false;
  ScanCursorState resume;
  if (!resume_token.empty() && !resume.DecodeFrom(resume_token)) {
    return Status::InvalidArgument("malformed scan resume token");
  }
  // Rows: the predicate's row set clipped to the tablet's range.
  StringIntervalSet range = meta.end_row.empty()
                                ? StringIntervalSet::AtLeast(meta.start_row)
                                : StringIntervalSet::Range(meta.start_row, meta.end_row);
  StringIntervalSet rowset = pred.rows().Intersect(range);
  if (rowset.empty() || pred.columns().empty() || pred.times().empty()) {
    page->done = true;
    return Status::OK();
  }
  const std::vector<StringInterval>& rints = rowset.intervals();
  const std::vector<StringInterval>& cints = pred.columns().intervals();
  const TimeIntervalSet& times = pred.times();
  const int64_t min_time = times.intervals().front().lo;
  const int64_t max_time = times.intervals().back().hi;
  const int64_t history = pred.history();
  const int64_t now = Now();
  const size_t max_cells = std::max<size_t>(limits.max_cells, 1);
  const size_t max_bytes = std::max<size_t>(limits.max_bytes, 1);

  DBC* raw = nullptr;
  int rc = cells->cursor(cells, nullptr, &raw, 0);
  if (rc != 0) return BdbError(rc, "opening cursor");
  CursorCloser closer(raw);
  Walker w(raw);

  // Scan state.
  std::string row, column, seek;
  int64_t ts = 0;
  std::string cur_row, cur_col;
  bool have_col = false;
  uint64_t existing = 0, matched = 0;
  const FamilyOptions* fam = nullptr;
  int64_t cutoff = std::numeric_limits<int64_t>::min();
  ScanCursorState last;          // last key examined
  ScanCursorState before_row;    // last key examined before the current row began
  size_t row_start = 0;          // index in page->cells of the current row's first cell
  size_t bytes = 0;
  size_t ri = 0;                 // current row interval

  if (!resume.key.empty()) {
    rc = w.Seek(resume.key);
    if (rc == 0 && w.key() == resume.key) rc = w.Next();
    if (DecodeCellKey(resume.key, &cur_row, &cur_col, &ts)) {
      have_col = true;
      existing = resume.existing;
      matched = resume.matched;
      fam = meta.schema.FindFamilyOfColumn(cur_col);
      cutoff = fam ? ExpiryCutoff(now, fam->max_age_seconds) : cutoff;
    }
    last = resume;
    before_row = resume;
  } else {
    EncodeRowPrefix(rints[0].lower, &seek);
    rc = w.Seek(seek);
  }

  // `step` is false when the cursor already sits on a key not yet examined (after
  // a seek).
  bool step = false;
  for (;;) {
    if (step) rc = w.Next();
    step = true;
    if (rc == DB_NOTFOUND) {
      page->done = true;
      break;
    }
    if (rc != 0) return BdbError(rc, "reading cells");
    std::string_view key = w.key();
    if (!DecodeCellKey(key, &row, &column, &ts)) {
      return Status::Corruption("tablet " + dir + ": malformed cell key");
    }
    // Seeks to target after examining `key`.
    auto seek_to = [&](uint64_t ex, uint64_t ma) {
      last = ScanCursorState{std::string(key), ex, ma};
      rc = w.Seek(seek);
      step = false;
    };
    // Row filter: advance the row interval; seek forward when before it.
    while (ri < rints.size() && !rints[ri].upper_unbounded && rints[ri].upper <= row) ++ri;
    if (ri == rints.size()) {
      page->done = true;
      break;
    }
    if (row < rints[ri].lower) {
      seek.clear();
      EncodeRowPrefix(rints[ri].lower, &seek);
      seek_to(0, 0);
      continue;
    }
    if (row != cur_row) {
      // A new row begins: a full page ends here (resume after `last`).
      if (!page->cells.empty() && (page->cells.size() >= max_cells || bytes >= max_bytes)) break;
      before_row = last;
      row_start = page->cells.size();
      cur_row = row;
      have_col = false;
    }
    if (!have_col || column != cur_col) {
      size_t ci = 0;
      while (ci < cints.size() && !cints[ci].upper_unbounded && cints[ci].upper <= column) ++ci;
      if (ci == cints.size()) {  // no more columns of interest in this row
        seek.clear();
        EncodeAfterRow(row, &seek);
        have_col = false;
        seek_to(0, 0);
        continue;
      }
      if (column < cints[ci].lower) {
        seek.clear();
        EncodeColumnPrefix(row, cints[ci].lower, &seek);
        have_col = false;
        seek_to(0, 0);
        continue;
      }
      cur_col = column;
      have_col = true;
      existing = 0;
      matched = 0;
      fam = meta.schema.FindFamilyOfColumn(column);
      cutoff = fam ? ExpiryCutoff(now, fam->max_age_seconds) : std::numeric_limits<int64_t>::min();
    }
    // Version filters. Within a column timestamps only decrease, so each of
    // these ends the column.
    if (fam == nullptr ||  // family no longer in the schema: invisible
        (fam->max_versions != 0 && existing >= fam->max_versions) || ts < cutoff ||
        ts < min_time || (history > 0 && matched >= static_cast<uint64_t>(history))) {
      seek.clear();
      EncodeAfterColumn(row, column, &seek);
      seek_to(existing + 1, matched);
      continue;
    }
    ++existing;
    if (ts > max_time && fam->max_versions == 0) {
      // Jump to the newest admissible version (counting is not needed then).
      seek.clear();
      EncodeCellKey(row, column, max_time, &seek);
      seek_to(existing, matched);
      continue;
    }
    bool take = times.Contains(ts);
    if (take) {
      ++matched;
      if (history < 0 && matched <= static_cast<uint64_t>(-history)) take = false;
    }
    if (take) {
      if (page->cells.size() >= max_cells || bytes >= max_bytes) {
        // Full inside a row: give the row back if the page holds earlier rows;
        // otherwise this row alone exceeds a page and is cut here.
        if (row_start > 0) {
          page->cells.resize(row_start);
          last = before_row;
        }
        break;
      }
      ValueType type;
      std::string value;
      Status s = DecodeCellValue(w.value(), options.max_value_bytes, &type, &value);
      if (!s.ok()) return s.CloneAndPrepend("tablet " + dir);
      if (type == ValueType::kValue) {
        bytes += row.size() + column.size() + value.size() + 16;
        page->cells.emplace_back(row, column, ts, std::move(value));
      }
    }
    last = ScanCursorState{std::string(key), existing, matched};
  }
  if (!page->done) last.EncodeTo(&page->resume_token);
  return Status::OK();
}

Status Tablet::Impl::ReadRowLocked(std::string_view row, const ScanPredicate& predicate,
                                   size_t max_cells, const TabletMeta& meta,
                                   std::vector<Cell>* out) {
  ScanPredicate p = predicate;
  p.SetRow(row);
  ScanLimits limits;
  limits.max_cells = max_cells;
  limits.max_bytes = std::numeric_limits<size_t>::max();
  ScanPageResult page;
  RETURN_NOT_OK(ScanLocked(p, "", limits, meta, &page));
  *out = std::move(page.cells);
  return Status::OK();
}

Status Tablet::Impl::EvaluateCondition(const Condition& c, std::string_view row,
                                       const TabletMeta& meta, bool* holds, std::string* why) {
  std::vector<Cell> cells;
  ScanPredicate p;
  switch (c.type) {
    case Condition::Type::kCellEquals:
    case Condition::Type::kCellAbsent:
      p.SetColumn(c.column).SetTimeRange(c.timestamp, c.timestamp);
      RETURN_NOT_OK(ReadRowLocked(row, p, 1, meta, &cells));
      if (c.type == Condition::Type::kCellAbsent) {
        *holds = cells.empty();
        *why = "cell " + c.column + " @" + std::to_string(c.timestamp) + " exists";
      } else {
        *holds = !cells.empty() && cells[0].value == c.value;
        *why = "cell " + c.column + " @" + std::to_string(c.timestamp) +
               (cells.empty() ? " does not exist" : " has another value");
      }
      return Status::OK();
    case Condition::Type::kLatestEquals:
    case Condition::Type::kColumnAbsent:
      p.SetColumn(c.column).SetHistory(1);
      RETURN_NOT_OK(ReadRowLocked(row, p, 1, meta, &cells));
      if (c.type == Condition::Type::kColumnAbsent) {
        *holds = cells.empty();
        *why = "column " + c.column + " exists";
      } else {
        *holds = !cells.empty() && cells[0].value == c.value;
        *why = "latest version of " + c.column +
               (cells.empty() ? " does not exist" : " has another value");
      }
      return Status::OK();
    case Condition::Type::kRowAbsent:
      RETURN_NOT_OK(ReadRowLocked(row, p, 1, meta, &cells));
      *holds = cells.empty();
      *why = "row exists";
      return Status::OK();
    case Condition::Type::kRowRevisionIs: {
      std::string key(1, kRowRevPrefix);
      key.append(row.data(), row.size());
      DBT k = MakeDbt(key);
      DbtHolder v;
      int rc = rows->get(rows, nullptr, &k, v.get(), 0);
      uint64_t rev = 0;
      if (rc == 0 && v.view().size() == 8) {
        rev = DecodeFixed64(v.view().data());
      } else if (rc != DB_NOTFOUND) {
        return rc == 0 ? Status::Corruption("tablet " + dir + ": bad row revision")
                       : BdbError(rc, "reading row revision");
      }
      *holds = rev == c.revision;
      *why = "row revision is " + std::to_string(rev) + ", not " + std::to_string(c.revision);
      return Status::OK();
    }
  }
  return Status::InvalidArgument("unknown condition type");
}

Status Tablet::ScanPage(const ScanPredicate& predicate, std::string_view resume_token,
                        const ScanLimits& limits, ScanPageResult* page) {
  Impl* impl = impl_.get();
  std::shared_lock<std::shared_mutex> life(impl->life_mu);
  if (impl->closed) return Status::ServiceUnavailable("tablet " + dir_ + " is closed");
  TabletMeta meta = impl->MetaCopy();
  std::shared_lock<std::shared_mutex> r(impl->rw_mu);
  return impl->ScanLocked(predicate, resume_token, limits, meta, page);
}

Status Tablet::TryScanPage(const ScanPredicate& predicate, std::string_view resume_token,
                           const ScanLimits& limits, ScanPageResult* page, bool* busy) {
  Impl* impl = impl_.get();
  *busy = true;
  std::shared_lock<std::shared_mutex> life(impl->life_mu, std::try_to_lock);
  if (!life.owns_lock()) return Status::OK();
  if (impl->closed) {
    *busy = false;
    return Status::ServiceUnavailable("tablet " + dir_ + " is closed");
  }
  TabletMeta meta = impl->MetaCopy();
  std::shared_lock<std::shared_mutex> r(impl->rw_mu, std::try_to_lock);
  if (!r.owns_lock()) return Status::OK();
  *busy = false;
  return impl->ScanLocked(predicate, resume_token, limits, meta, page);
}

}  // namespace kdi::storage
