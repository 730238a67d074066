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
// max_versions and history stay exact across pages. On resume the column of
// that key is checked against the column set again (it may be the key that
// made the engine seek out of an unwanted column).
//
// Cost: keys are read through a BulkCursor (bulk Berkeley DB reads; point
// reads pair by pair, see bulk_cursor.h) and decoded as views into its buffer;
// the page's Cells are reused, so a caller that hands the same ScanPageResult
// back (LocalTable does) allocates nothing per cell. Measurements:
// doc/benchmarks.md (profiling notes).
#include <algorithm>
#include <limits>

#include "lib/storage/bulk_cursor.h"
#include "lib/storage/row_overlay.h"
#include "lib/storage/cell_key.h"
#include "lib/storage/tablet_impl.h"
#include "lib/util/coding.h"

namespace kdi::storage {

namespace {
constexpr uint8_t kTokenVersion = 1;
// Pairs a point read fetches one at a time before it switches to bulk reads.
constexpr size_t kPointReadSinglePairs = 64;
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

// Whether rows is exactly one row (a point read), and which.
bool SingleRow(const StringIntervalSet& rows, std::string_view* row) {
  if (rows.intervals().size() != 1) return false;
  const StringInterval& r = rows.intervals()[0];
  if (r.upper_unbounded || r.upper.size() != r.lower.size() + 1 || r.upper.back() != '\0' ||
      r.upper.compare(0, r.lower.size(), r.lower) != 0) {
    return false;
  }
  *row = r.lower;
  return true;
}

}  // namespace

Status Tablet::Impl::ScanLocked(const ScanPredicate& pred, std::string_view resume_token,
                                const ScanLimits& limits, const TabletMeta& meta,
                                ScanPageResult* page, bool with_pending) {
  // page->cells is reused: its first `n` elements are this page's cells, the
  // rest are spare Cells whose strings keep their capacity (a caller that hands
  // the same page back, like LocalTable, then allocates nothing per cell).
  std::vector<Cell>& out = page->cells;
  size_t n = 0;
  page->resume_token.clear();
  page->done = false;
  ScanCursorState resume;
  if (!resume_token.empty() && !resume.DecodeFrom(resume_token)) {
    out.clear();
    return Status::InvalidArgument("malformed scan resume token");
  }
  // Rows: the predicate's row set clipped to the tablet's range (used as it is
  // when it lies inside the range, as a point read's does: no copy).
  const StringIntervalSet& prows = pred.rows();
  const std::vector<StringInterval>& pints = prows.intervals();
  const bool inside = !pints.empty() && pints.front().lower >= meta.start_row &&
                      (meta.end_row.empty() ||
                       (!pints.back().upper_unbounded && pints.back().upper <= meta.end_row));
  StringIntervalSet clipped;
  if (!inside) {
    clipped = prows.Intersect(meta.end_row.empty()
                                  ? StringIntervalSet::AtLeast(meta.start_row)
                                  : StringIntervalSet::Range(meta.start_row, meta.end_row));
  }
  const StringIntervalSet& rowset = inside ? prows : clipped;
  if (rowset.empty() || pred.columns().empty() || pred.times().empty()) {
    out.clear();
    page->done = true;
    return Status::OK();
  }
  const std::vector<StringInterval>& rints = rowset.intervals();
  const std::vector<StringInterval>& cints = pred.columns().intervals();
  const TimeIntervalSet& times = pred.times();
  const bool all_times = times.intervals().size() == 1 &&
                         times.intervals()[0].lo == std::numeric_limits<int64_t>::min() &&
                         times.intervals()[0].hi == std::numeric_limits<int64_t>::max();
  const int64_t min_time = times.intervals().front().lo;
  const int64_t max_time = times.intervals().back().hi;
  const int64_t history = pred.history();
  const int64_t now = Now();
  const size_t max_cells = std::max<size_t>(limits.max_cells, 1);
  const size_t max_bytes = std::max<size_t>(limits.max_bytes, 1);

  DBC* raw = nullptr;
  int rc = cells->cursor(cells, nullptr, &raw, 0);
  if (rc != 0) {
    out.clear();
    return BdbError(rc, "opening cursor");
  }
  CursorCloser closer(raw);
  // A point read (one exact row) reads pair by pair (see bulk_cursor.h) unless
  // its row is long; anything else reads in bulk from the start.
  std::string_view point_row;
  const bool one_row = SingleRow(rowset, &point_row);
  BulkCursor bulk(raw, one_row ? kPointReadSinglePairs : 0);
  // The scan proper, over the B-tree alone or merged with a row overlay
  // (generic: each cursor type gets its own inlined copy).
  auto scan = [&](auto& w) -> Status {
    // Scan state. row/column view the cursor's buffer (or the scratch strings)
    // and are valid for one key; what must outlive it is copied into strings
    // that keep their capacity.
    std::string row_scratch, column_scratch, seek;
    std::string_view row, column;
    int64_t ts = 0;
    std::string cur_row, cur_col, cur_family;
    bool have_row = false, have_col = false;
    // False while the column of a resumed key has not been checked against the
    // column set: a page may end right after a key whose column was outside it
    // (the key that made the engine seek), and the next version of that column
    // must not be taken for admitted.
    bool col_checked = true;
    uint64_t existing = 0, matched = 0;
    const FamilyOptions* fam = nullptr;
    bool have_family = false;
    int64_t cutoff = std::numeric_limits<int64_t>::min();
    ScanCursorState last;          // last key examined
    ScanCursorState before_row;    // last key examined before the current row began
    size_t row_start = 0;          // index in out of the current row's first cell
    size_t bytes = 0;
    size_t ri = 0;                 // current row interval
    auto set_family = [&](std::string_view col) {
      std::string_view family = ColumnFamily(col);
      if (!have_family || family != cur_family) {
        cur_family.assign(family.data(), family.size());
        fam = meta.schema.FindFamily(family);
        have_family = true;
        cutoff = fam ? ExpiryCutoff(now, fam->max_age_seconds)
                     : std::numeric_limits<int64_t>::min();
      }
    };

    if (!resume.key.empty()) {
      rc = w.Seek(resume.key);
      if (rc == 0 && w.key() == resume.key) rc = w.Next();
      if (DecodeCellKey(resume.key, &cur_row, &cur_col, &ts)) {
        have_row = true;
        have_col = true;
        col_checked = false;
        existing = resume.existing;
        matched = resume.matched;
        set_family(cur_col);
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
      if (rc != 0) {
        out.resize(n);
        return BdbError(rc, "reading cells");
      }
      std::string_view key = w.key();
      if (!DecodeCellKeyView(key, &row_scratch, &column_scratch, &row, &column, &ts)) {
        out.resize(n);
        return Status::Corruption("tablet " + dir + ": malformed cell key");
      }
      // Seeks to `seek` after examining `key`.
      auto seek_to = [&](uint64_t ex, uint64_t ma) {
        last.key.assign(key.data(), key.size());
        last.existing = ex;
        last.matched = ma;
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
      if (!have_row || row != cur_row) {
        // A new row begins: a full page ends here (resume after `last`).
        if (n > 0 && (n >= max_cells || bytes >= max_bytes)) break;
        before_row = last;
        row_start = n;
        cur_row.assign(row.data(), row.size());
        have_row = true;
        have_col = false;
      }
      if (!have_col || column != cur_col || !col_checked) {
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
        col_checked = true;
        if (!have_col || column != cur_col) {
          cur_col.assign(column.data(), column.size());
          have_col = true;
          existing = 0;
          matched = 0;
          set_family(column);
        }
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
      bool take = all_times || times.Contains(ts);
      if (take) {
        ++matched;
        if (history < 0 && matched <= static_cast<uint64_t>(-history)) take = false;
      }
      if (take) {
        if (n >= max_cells || bytes >= max_bytes) {
          // Full inside a row: give the row back if the page holds earlier rows;
          // otherwise this row alone exceeds a page and is cut here.
          if (row_start > 0) {
            n = row_start;
            last = before_row;
          }
          break;
        }
        if (n == out.size()) out.emplace_back();
        Cell& cell = out[n];
        ValueType type;
        Status s = DecodeCellValue(w.value(), options.max_value_bytes, &type, &cell.value);
        if (!s.ok()) {
          out.resize(n);
          return s.CloneAndPrepend("tablet " + dir);
        }
        if (type == ValueType::kValue) {
          cell.row.assign(row.data(), row.size());
          cell.column.assign(column.data(), column.size());
          cell.timestamp = ts;
          cell.erasure = false;
          bytes += row.size() + column.size() + cell.value.size() + 16;
          ++n;
        }
      }
      last.key.assign(key.data(), key.size());
      last.existing = existing;
      last.matched = matched;
    }
    out.resize(n);
    if (!page->done) last.EncodeTo(&page->resume_token);
    return Status::OK();
  };
  if (with_pending && one_row) {
    if (std::optional<RowOverlay> pending = PendingRow(point_row)) {
      OverlayCursor merged(&bulk, &*pending);
      return scan(merged);
    }
  }
  if (one_row && row_cache != nullptr) {
    // The row has no pending batch (or the caller reads the B-tree alone):
    // its stored pairs are all there is.
    Status error;
    std::shared_ptr<const RowCache::Entry> cached = CachedRow(point_row, &bulk, &error);
    if (!error.ok()) {
      out.clear();
      return error;
    }
    if (cached != nullptr && !cached->too_big) {
      RowCacheCursor from_cache(cached.get());
      return scan(from_cache);
    }
  }
  return scan(bulk);
}

std::shared_ptr<const RowCache::Entry> Tablet::Impl::CachedRow(std::string_view row,
                                                               BulkCursor* cursor,
                                                               Status* error) {
  if (row_cache == nullptr) return nullptr;
  if (std::shared_ptr<const RowCache::Entry> hit = row_cache->Lookup(row, btree_generation)) {
    return hit;
  }
  auto entry = std::make_shared<RowCache::Entry>();
  entry->generation = btree_generation;
  std::string prefix;
  EncodeRowPrefix(row, &prefix);
  size_t bytes = 0;
  int rc = cursor->Seek(prefix);
  while (rc == 0) {
    std::string_view key = cursor->key();
    if (key.size() < prefix.size() || key.compare(0, prefix.size(), prefix) != 0) break;
    bytes += key.size() + cursor->value().size();
    if (entry->pairs.size() >= RowCache::kMaxRowPairs || bytes > RowCache::kMaxRowBytes) {
      entry->too_big = true;  // read through the B-tree (RowCache::Insert drops the pairs)
      break;
    }
    entry->pairs.emplace_back(std::string(key), std::string(cursor->value()));
    rc = cursor->Next();
  }
  if (rc != 0 && rc != DB_NOTFOUND) {
    *error = BdbError(rc, "reading cells");
    return nullptr;
  }
  row_cache->Insert(row, entry);
  return entry;
}

bool Tablet::Impl::OverlayRow(std::string_view row) {
  const size_t pending = buffer.BatchesOfRow(row);
  if (pending > kMaxOverlayBatches) return false;
  if (pending > kHotRowBatches) KickDrainer(true, true);
  return true;
}

std::optional<RowOverlay> Tablet::Impl::PendingRow(std::string_view row) const {
  if (buffer.empty()) return std::nullopt;
  std::string prefix;
  EncodeRowPrefix(row, &prefix);
  std::vector<const BatchOp*> ops;
  if (!buffer.CollectRowOps(row, prefix, &ops)) return std::nullopt;
  return RowOverlay(ops);
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
  RETURN_NOT_OK(ScanLocked(p, "", limits, meta, &page, /*with_pending=*/true));
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
      uint64_t pending = 0;
      if (buffer.HasRow(row, &pending)) {  // newer than rows.db's
        *holds = pending == c.revision;
        *why = "row revision is " + std::to_string(pending) + ", not " +
               std::to_string(c.revision);
        return Status::OK();
      }
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

// Reads of pending rows: a point read lays the row's pending batches over the
// B-tree (RowOverlay), unless they are many; any other read first applies the
// pending batches that touch its rows (DrainForRead).
Status Tablet::ScanPage(const ScanPredicate& predicate, std::string_view resume_token,
                        const ScanLimits& limits, ScanPageResult* page) {
  Impl* impl = impl_.get();
  std::shared_lock<std::shared_mutex> life(impl->life_mu);
  if (impl->closed) return Status::ServiceUnavailable("tablet " + dir_ + " is closed");
  std::string_view row;
  const bool point = SingleRow(predicate.rows(), &row) && impl->OverlayRow(row);
  if (!point) RETURN_NOT_OK(impl->DrainForRead(predicate.rows(), false, nullptr));
  TabletMeta meta = impl->MetaCopy();
  std::shared_lock<std::shared_mutex> r(impl->rw_mu);
  return impl->ScanLocked(predicate, resume_token, limits, meta, page, point);
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
  std::string_view row;
  const bool point = SingleRow(predicate.rows(), &row) && impl->OverlayRow(row);
  if (!point) {
    bool drain_busy = false;
    Status d = impl->DrainForRead(predicate.rows(), true, &drain_busy);
    if (drain_busy) return Status::OK();
    if (!d.ok()) {
      *busy = false;
      return d;
    }
  }
  TabletMeta meta = impl->MetaCopy();
  std::shared_lock<std::shared_mutex> r(impl->rw_mu, std::try_to_lock);
  if (!r.owns_lock()) return Status::OK();
  *busy = false;
  return impl->ScanLocked(predicate, resume_token, limits, meta, page, point);
}

}  // namespace kdi::storage
