// Compaction (GC of versions beyond max_versions / TTL), the approximate median
// row, and the crash-safe split into two child tablets.
//
// Split protocol (see doc/storage_format.md):
//   1. block writers (write_mu), flush the log;
//   2. build each child in "<child>.splitting": create the tablet, copy the raw
//      key/value pairs of its half and the row revisions, sync, checkpoint, close;
//   3. fsync, then rename "<child>.splitting" -> "<child>" for both, fsync the
//      parent directories;
//   4. freeze the parent (writes get NotServing).
// A crash before 3 leaves only "*.splitting" (removed by CleanupIncompleteSplits)
// and the intact parent; after 3 both children are complete. Which side is live
// is decided by the caller's record (META), which names either the parent or the
// two children; directories it does not name are garbage.
#include <algorithm>
#include <cstring>
#include <limits>

#include "lib/storage/cell_key.h"
#include "lib/storage/tablet_impl.h"
#include "lib/util/coding.h"
#include "lib/util/log.h"

namespace kdi::storage {

namespace {

constexpr size_t kCompactChunk = 1000;  // keys examined per GC transaction
constexpr size_t kCopyChunk = 2000;     // pairs copied per split transaction
constexpr size_t kSplitBuildCacheBytes = 4u << 20;  // cache of a child while it is built

std::string ParentDir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Seeds a DB_DBT_REALLOC DBT with bytes for DB_SET_RANGE.
int SeekRange(DBC* c, DbtHolder* key, DbtHolder* val, std::string_view target) {
  DBT* k = key->get();
  void* p = realloc(k->data, target.size() + 1);
  if (p == nullptr) return ENOMEM;
  k->data = p;
  memcpy(k->data, target.data(), target.size());
  k->size = static_cast<u_int32_t>(target.size());
  return c->get(c, k, val->get(), DB_SET_RANGE);
}

}  // namespace

Status Tablet::Compact(CompactStats* stats) {
  Impl* impl = impl_.get();
  std::shared_lock<std::shared_mutex> life(impl->life_mu);
  if (impl->closed) return Status::ServiceUnavailable("tablet " + dir_ + " is closed");
  CompactStats total;
  std::string resume;  // first key not yet examined ("" = start)
  bool finished = false;
  {
    // Versions are counted in the B-tree: the acknowledged batches go there first.
    std::lock_guard<std::mutex> w(impl->write_mu);
    RETURN_NOT_OK(impl->DrainUpTo(UINT64_MAX));
  }
  while (!finished) {
    std::lock_guard<std::mutex> w(impl->write_mu);
    if (impl->frozen) break;
    TabletMeta meta = impl->MetaCopy();
    int64_t now = impl->Now();
    std::unique_lock<std::shared_mutex> x(impl->rw_mu);
    impl->btree_generation++;  // the row cache's entries are stale from here
    DB_TXN* txn = nullptr;
    int rc = impl->dbenv->txn_begin(impl->dbenv, nullptr, &txn, 0);
    if (rc != 0) return impl->BdbError(rc, "txn_begin");
    DBC* c = nullptr;
    rc = impl->cells->cursor(impl->cells, txn, &c, 0);
    if (rc != 0) {
      txn->abort(txn);
      return impl->BdbError(rc, "cursor");
    }
    DbtHolder key, val;
    std::string row, column, cur_row, cur_col;
    int64_t ts = 0;
    uint64_t existing = 0;
    // Recount the versions of the column we stop in from its start, so a write
    // between chunks cannot make us delete a visible version.
    if (!resume.empty()) {
      std::string r, col;
      if (DecodeCellKey(resume, &r, &col, &ts)) {
        std::string prefix;
        EncodeColumnPrefix(r, col, &prefix);
        rc = SeekRange(c, &key, &val, prefix);
        while (rc == 0 && key.view() < resume) {
          ++existing;
          rc = c->get(c, key.get(), val.get(), DB_NEXT);
        }
        cur_row = r;
        cur_col = col;
      }
      rc = SeekRange(c, &key, &val, resume);
    } else {
      rc = c->get(c, key.get(), val.get(), DB_FIRST);
    }
    size_t n = 0;
    Status s;
    for (; rc == 0; rc = c->get(c, key.get(), val.get(), DB_NEXT)) {
      if (n++ == kCompactChunk) {
        resume.assign(key.view());
        break;
      }
      if (!DecodeCellKey(key.view(), &row, &column, &ts)) {
        s = Status::Corruption("tablet " + dir_ + ": malformed cell key");
        break;
      }
      if (row != cur_row || column != cur_col) {
        cur_row = row;
        cur_col = column;
        existing = 0;
      }
      ++existing;
      total.cells_examined++;
      const FamilyOptions* fam = meta.schema.FindFamilyOfColumn(column);
      if (fam == nullptr) continue;  // unknown family: kept (it may come back)
      bool expired = ts < ExpiryCutoff(now, fam->max_age_seconds);
      if ((fam->max_versions != 0 && existing > fam->max_versions) || expired) {
        rc = c->del(c, 0);
        if (rc != 0) break;
        total.cells_removed++;
      }
    }
    if (rc == DB_NOTFOUND) {
      finished = true;
      rc = 0;
    }
    c->close(c);
    if (s.ok() && rc != 0) s = impl->BdbError(rc, "compacting");
    if (!s.ok()) {
      txn->abort(txn);
      return s;
    }
    rc = txn->commit(txn, 0);
    if (rc != 0) return impl->BdbError(rc, "commit");
    {
      std::lock_guard<std::mutex> l(impl->sync_mu);
      impl->commits++;
    }
  }
  if (stats != nullptr) *stats = total;
  return impl->CheckpointLocked();
}

Status Tablet::ApproximateMedianRow(std::string* out) {
  Impl* impl = impl_.get();
  std::shared_lock<std::shared_mutex> life(impl->life_mu);
  if (impl->closed) return Status::ServiceUnavailable("tablet " + dir_ + " is closed");
  {
    std::lock_guard<std::mutex> w(impl->write_mu);
    RETURN_NOT_OK(impl->DrainUpTo(UINT64_MAX));
  }
  std::shared_lock<std::shared_mutex> r(impl->rw_mu);
  DBC* raw = nullptr;
  int rc = impl->cells->cursor(impl->cells, nullptr, &raw, 0);
  if (rc != 0) return impl->BdbError(rc, "cursor");
  CursorCloser closer(raw);
  DbtHolder key, val;
  std::string first, last;
  rc = raw->get(raw, key.get(), val.get(), DB_FIRST);
  if (rc == DB_NOTFOUND) return Status::NotFound("tablet " + dir_ + " is empty");
  if (rc != 0) return impl->BdbError(rc, "reading first key");
  first.assign(key.view());
  rc = raw->get(raw, key.get(), val.get(), DB_LAST);
  if (rc != 0) return impl->BdbError(rc, "reading last key");
  last.assign(key.view());
  std::string first_row;
  if (!DecodeKeyRow(first, &first_row)) return Status::Corruption("tablet " + dir_ + ": bad key");

  // Bisect the key space with DB->key_range, which estimates the fraction of keys
  // below a key from the B-tree's internal pages in O(log n).
  std::string lo = first, hi = last;
  for (int iter = 0; iter < 48 && lo < hi; ++iter) {
    // mid = (lo + hi) / 2 as base-256 fractions of equal length.
    size_t len = std::max(lo.size(), hi.size()) + 1;
    std::string a = lo, b = hi;
    a.resize(len, '\0');
    b.resize(len, '\0');
    std::string mid(len, '\0');
    unsigned carry = 0;
    for (size_t i = len; i-- > 0;) {
      unsigned sum = static_cast<unsigned char>(a[i]) + static_cast<unsigned char>(b[i]) + carry;
      mid[i] = static_cast<char>(sum & 0xff);
      carry = sum >> 8;
    }
    // Divide the (len+1)-byte number carry:mid by two.
    unsigned rem = carry;
    for (size_t i = 0; i < len; ++i) {
      unsigned cur = (rem << 8) | static_cast<unsigned char>(mid[i]);
      mid[i] = static_cast<char>(cur >> 1);
      rem = cur & 1;
    }
    while (mid.size() > 1 && mid.back() == '\0' && mid.size() > lo.size()) mid.pop_back();
    if (mid <= lo || mid >= hi) break;
    DBT k = MakeDbt(mid);
    DB_KEY_RANGE kr;
    rc = impl->cells->key_range(impl->cells, nullptr, &k, &kr, 0);
    if (rc != 0) return impl->BdbError(rc, "key_range");
    if (kr.less < 0.5) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  rc = SeekRange(raw, &key, &val, lo);
  std::string row;
  if (rc == 0 && !DecodeKeyRow(key.view(), &row)) {
    return Status::Corruption("tablet " + dir_ + ": bad key");
  }
  if (rc == DB_NOTFOUND || row == first_row) {
    // Take the row after the first one.
    std::string after;
    EncodeAfterRow(first_row, &after);
    rc = SeekRange(raw, &key, &val, after);
    if (rc == DB_NOTFOUND) return Status::NotFound("tablet " + dir_ + " has a single row");
    if (rc != 0) return impl->BdbError(rc, "seeking");
    if (!DecodeKeyRow(key.view(), &row)) return Status::Corruption("tablet " + dir_ + ": bad key");
  } else if (rc != 0) {
    return impl->BdbError(rc, "seeking");
  }
  *out = std::move(row);
  return Status::OK();
}

namespace {

// Copies the cells of [start, end) and their row revisions from parent into a
// new tablet at dir. Caller holds the parent's write_mu (no writers).
Status BuildChild(Tablet::Impl* parent, const TabletMeta& child_meta, const std::string& dir,
                  uint64_t last_revision) {
  TabletOptions opts = parent->options;
  // The copy appends in key order: a small cache does, and the parent's share
  // of the server's cache budget is not spent twice while it runs.
  opts.cache_bytes = std::min<size_t>(opts.cache_bytes, kSplitBuildCacheBytes);
  std::unique_ptr<Tablet> child;
  RETURN_NOT_OK(Tablet::Create(dir, child_meta, opts, &child));
  Tablet::Impl* ci = child->impl();

  auto copy_db = [&](DB* from, DB* to, const std::string& start_key, const std::string& end_key,
                     bool end_unbounded) -> Status {
    std::string resume = start_key;
    bool first = true;
    for (;;) {
      RETURN_NOT_OK(parent->env->CheckFault(FaultPoint::kSplitCopy, dir));
      // Read a chunk under the parent's shared lock (scans may continue).
      std::vector<std::pair<std::string, std::string>> chunk;
      bool finished = false;
      {
        std::shared_lock<std::shared_mutex> r(parent->rw_mu);
        DBC* c = nullptr;
        int rc = from->cursor(from, nullptr, &c, 0);
        if (rc != 0) return parent->BdbError(rc, "cursor");
        CursorCloser closer(c);
        DbtHolder key, val;
        rc = SeekRange(c, &key, &val, resume);
        if (rc == 0 && !first && key.view() == resume) {
          rc = c->get(c, key.get(), val.get(), DB_NEXT);
        }
        for (; rc == 0; rc = c->get(c, key.get(), val.get(), DB_NEXT)) {
          if (!end_unbounded && key.view() >= end_key) {
            finished = true;
            break;
          }
          chunk.emplace_back(std::string(key.view()), std::string(val.view()));
          if (chunk.size() >= kCopyChunk) break;
        }
        if (rc == DB_NOTFOUND) finished = true;
        else if (rc != 0) return parent->BdbError(rc, "reading for split");
      }
      if (!chunk.empty()) {
        DB_TXN* txn = nullptr;
        int rc = ci->dbenv->txn_begin(ci->dbenv, nullptr, &txn, 0);
        if (rc != 0) return ci->BdbError(rc, "txn_begin");
        for (const auto& kv : chunk) {
          DBT k = MakeDbt(kv.first);
          DBT v = MakeDbt(kv.second);
          rc = to->put(to, txn, &k, &v, 0);
          if (rc != 0) {
            txn->abort(txn);
            return ci->BdbError(rc, "copying");
          }
        }
        rc = txn->commit(txn, 0);
        if (rc != 0) return ci->BdbError(rc, "commit");
        resume = chunk.back().first;
        first = false;
      }
      if (finished || chunk.empty()) return Status::OK();
    }
  };

  std::string start_key, end_key;
  EncodeRowPrefix(child_meta.start_row, &start_key);
  bool unbounded = child_meta.end_row.empty();
  if (!unbounded) EncodeRowPrefix(child_meta.end_row, &end_key);
  RETURN_NOT_OK(copy_db(parent->cells, ci->cells, start_key, end_key, unbounded));
  std::string rstart(1, kRowRevPrefix), rend(1, kRowRevPrefix);
  rstart += child_meta.start_row;
  if (unbounded) {
    rend = std::string(1, kRowRevPrefix + 1);
  } else {
    rend += child_meta.end_row;
  }
  RETURN_NOT_OK(copy_db(parent->rows, ci->rows, rstart, rend, false));
  // The child continues the parent's revision sequence.
  {
    std::string rev;
    PutFixed64(&rev, last_revision);
    DBT k = MakeDbt(kLastRevisionKey);
    DBT v = MakeDbt(rev);
    int rc = ci->rows->put(ci->rows, nullptr, &k, &v, DB_AUTO_COMMIT);
    if (rc != 0) return ci->BdbError(rc, "recording last revision");
  }
  RETURN_NOT_OK(child->Sync());
  RETURN_NOT_OK(child->Close());  // flush, checkpoint (fsyncs the databases)
  std::vector<std::string> names;
  RETURN_NOT_OK(parent->env->ListDir(dir, &names));
  for (const std::string& n : names) RETURN_NOT_OK(parent->env->SyncPath(dir + "/" + n));
  return parent->env->SyncPath(dir);
}

}  // namespace

Status Tablet::Split(const std::string& split_row, const std::string& left_dir,
                     const std::string& right_dir, const std::string& pending_marker) {
  Impl* impl = impl_.get();
  std::shared_lock<std::shared_mutex> life(impl->life_mu);
  if (impl->closed) return Status::ServiceUnavailable("tablet " + dir_ + " is closed");
  std::lock_guard<std::mutex> w(impl->write_mu);
  if (impl->frozen) return Status::NotServing("tablet " + dir_ + " was already split");
  // The children are built from the B-tree: every acknowledged batch goes there.
  RETURN_NOT_OK(impl->DrainUpTo(UINT64_MAX));
  TabletMeta meta = impl->MetaCopy();
  if (split_row.empty() || split_row <= meta.start_row ||
      (!meta.end_row.empty() && split_row >= meta.end_row)) {
    return Status::InvalidArgument("split row outside the interior of " + meta.Describe());
  }
  if (impl->env->Exists(left_dir) || impl->env->Exists(right_dir)) {
    return Status::AlreadyExists("split target directory exists: " + left_dir + " or " +
                                 right_dir);
  }
  int rc = impl->dbenv->log_flush(impl->dbenv, nullptr);
  if (rc != 0) return impl->BdbError(rc, "flushing log before split");

  TabletMeta left = meta, right = meta;
  left.end_row = split_row;
  right.start_row = split_row;
  std::string left_tmp = left_dir + kSplittingSuffix, right_tmp = right_dir + kSplittingSuffix;
  auto cleanup = [&] {
    (void)impl->env->RemoveTree(left_tmp);
    (void)impl->env->RemoveTree(right_tmp);
  };
  cleanup();
  Status s;
  if (!pending_marker.empty()) {
    s = WritePendingMarker(left_tmp, pending_marker, impl->env);
    if (s.ok()) s = WritePendingMarker(right_tmp, pending_marker, impl->env);
  }
  if (s.ok()) s = BuildChild(impl, left, left_tmp, impl->last_revision);
  if (s.ok()) s = BuildChild(impl, right, right_tmp, impl->last_revision);
  if (s.ok()) s = impl->env->CheckFault(FaultPoint::kSplitPublish, dir_);
  if (s.ok()) s = impl->env->Rename(left_tmp, left_dir);
  if (s.ok()) s = impl->env->Rename(right_tmp, right_dir);
  if (s.ok()) s = impl->env->SyncPath(ParentDir(left_dir));
  if (s.ok() && ParentDir(right_dir) != ParentDir(left_dir)) {
    s = impl->env->SyncPath(ParentDir(right_dir));
  }
  if (!s.ok()) {
    cleanup();
    (void)impl->env->RemoveTree(left_dir);
    (void)impl->env->RemoveTree(right_dir);
    return s.CloneAndPrepend("splitting tablet " + dir_);
  }
  impl->frozen = true;
  KDI_LOG(INFO, "storage") << "split " << meta.Describe() << " into " << left_dir << " and "
                           << right_dir;
  return Status::OK();
}

Status Tablet::WritePendingMarker(const std::string& dir, const std::string& contents,
                                  Env* env) {
  if (env == nullptr) env = Env::Default();
  RETURN_NOT_OK(env->CreateDir(dir));
  return env->WriteFileAtomic(dir + "/" + kPendingFile, contents);
}

Status Tablet::ReadPendingMarker(const std::string& dir, std::string* contents, Env* env) {
  if (env == nullptr) env = Env::Default();
  const std::string path = dir + "/" + kPendingFile;
  if (!env->Exists(path)) return Status::NotFound("no " + std::string(kPendingFile) + " in " + dir);
  return env->ReadFile(path, 64 * 1024, contents);
}

Status Tablet::ClearPendingMarker(const std::string& dir, Env* env) {
  if (env == nullptr) env = Env::Default();
  const std::string path = dir + "/" + kPendingFile;
  if (!env->Exists(path)) return Status::OK();
  RETURN_NOT_OK(env->RemoveTree(path));
  return env->SyncPath(dir);
}

Status Tablet::CleanupIncompleteSplits(const std::string& data_dir, Env* env) {
  if (env == nullptr) env = Env::Default();
  std::vector<std::string> names;
  RETURN_NOT_OK(env->ListDir(data_dir, &names));
  auto ends_with = [](const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  for (const std::string& n : names) {
    if (ends_with(n, kSplittingSuffix) || ends_with(n, kRetiredSuffix)) {
      RETURN_NOT_OK(env->RemoveTree(data_dir + "/" + n));
    }
  }
  return Status::OK();
}

}  // namespace kdi::storage
