// Tablet lifecycle (create/open/close), writes (Apply, ApplyIf), revisions and
// group-commit Sync. The scan engine is in tablet_scan.cc; compaction, median
// and split in tablet_split.cc. Lock order: tablet_impl.h.
#include "lib/storage/tablet.h"

#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "lib/storage/cell_key.h"
#include "lib/storage/tablet_impl.h"
#include "lib/util/coding.h"
#include "lib/util/log.h"

namespace kdi::storage {

namespace {

constexpr size_t kMaxMetaFileBytes = 1 << 20;

void ErrCall(const DB_ENV* dbenv, const char* prefix, const char* msg) {
  auto* impl = static_cast<Tablet::Impl*>(dbenv->app_private);
  if (impl == nullptr) return;
  std::lock_guard<std::mutex> l(impl->err_mu);
  impl->last_error = msg ? msg : "";
}

// One encoded B-tree operation of a batch, prepared before any lock is taken.
struct Op {
  Mutation::Type type;
  std::string key;    // full key (kSet, kErase) or prefix (kEraseColumn, kEraseRow)
  std::string value;  // encoded value (kSet)
};

std::string RowRevKey(std::string_view row) {
  std::string k(1, kRowRevPrefix);
  k.append(row.data(), row.size());
  return k;
}

}  // namespace

int64_t Tablet::Impl::Now() const {
  if (options.now_micros != nullptr) return options.now_micros();
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Tablet::Impl::BdbError(int rc, const std::string& op) {
  std::string detail;
  {
    std::lock_guard<std::mutex> l(err_mu);
    detail = last_error;
  }
  std::string msg = "tablet " + dir + ": " + op + ": " + db_strerror(rc);
  if (!detail.empty()) msg += " (" + detail + ")";
  switch (rc) {
    case DB_NOTFOUND: return Status::NotFound(msg);
    case DB_RUNRECOVERY:
    case DB_VERIFY_BAD:
    case DB_PAGE_NOTFOUND:
    case DB_SECONDARY_BAD:
      return Status::Corruption(msg);
    case DB_LOCK_DEADLOCK:
    case DB_LOCK_NOTGRANTED:
      return Status::Aborted(msg);
    case ENOSPC:
    case EDQUOT:
    case ENOMEM:
      return Status::ResourceExhausted(msg);
    default:
      break;
  }
  if (detail.find("checksum") != std::string::npos) return Status::Corruption(msg);
  if (rc > 0) return ErrnoToStatus("tablet " + dir + ": " + op, rc);
  return Status::IOError(msg);
}

Status Tablet::Impl::CheckpointLocked() {
  int rc = dbenv->txn_checkpoint(dbenv, 0, 0, 0);
  if (rc != 0) return BdbError(rc, "checkpoint");
  return Status::OK();
}

Tablet::Tablet(std::string dir) : dir_(std::move(dir)), impl_(new Impl) { impl_->dir = dir_; }

Tablet::~Tablet() {
  Status s = Close();
  if (!s.ok()) {
    KDI_LOG(WARN, "storage") << "closing tablet " << dir_ << ": " << s.ToString();
  }
}

namespace {

Status OpenEnvironment(Tablet::Impl* impl, bool create) {
  DB_ENV* dbenv = nullptr;
  int rc = db_env_create(&dbenv, 0);
  if (rc != 0) return impl->BdbError(rc, "db_env_create");
  impl->dbenv = dbenv;
  dbenv->app_private = impl;
  dbenv->set_errcall(dbenv, ErrCall);
  size_t cache = std::max<size_t>(impl->options.cache_bytes, 64 * 1024);
  if ((rc = dbenv->set_cachesize(dbenv, 0, static_cast<u_int32_t>(cache), 1)) != 0 ||
      (rc = dbenv->set_lg_max(dbenv, impl->options.log_file_bytes)) != 0 ||
      (rc = dbenv->set_flags(dbenv, DB_TXN_WRITE_NOSYNC, 1)) != 0 ||
      (rc = dbenv->log_set_config(dbenv, DB_LOG_AUTO_REMOVE, 1)) != 0 ||
      (rc = dbenv->set_lk_detect(dbenv, DB_LOCK_DEFAULT)) != 0) {
    return impl->BdbError(rc, "configuring environment");
  }
  u_int32_t flags = DB_CREATE | DB_INIT_TXN | DB_INIT_LOG | DB_INIT_MPOOL | DB_INIT_LOCK |
                    DB_RECOVER | DB_THREAD | DB_PRIVATE;
  rc = dbenv->open(dbenv, impl->dir.c_str(), flags, 0644);
  if (rc != 0) return impl->BdbError(rc, "opening environment");

  auto open_db = [&](const char* name, DB** out) -> Status {
    DB* db = nullptr;
    int r = db_create(&db, dbenv, 0);
    if (r != 0) return impl->BdbError(r, std::string("db_create ") + name);
    *out = db;
    if ((r = db->set_flags(db, DB_CHKSUM)) != 0) {
      return impl->BdbError(r, std::string("set_flags ") + name);
    }
    u_int32_t oflags = DB_AUTO_COMMIT | DB_THREAD | (create ? DB_CREATE : 0);
    r = db->open(db, nullptr, name, nullptr, DB_BTREE, oflags, 0644);
    if (r == ENOENT && !create) {
      return Status::Corruption("tablet " + impl->dir + ": " + name + " is missing");
    }
    if (r != 0) return impl->BdbError(r, std::string("opening ") + name);
    return Status::OK();
  };
  RETURN_NOT_OK(open_db(kCellsDb, &impl->cells));
  RETURN_NOT_OK(open_db(kRowsDb, &impl->rows));

  // The last revision handed out.
  DBT k = MakeDbt(kLastRevisionKey);
  DbtHolder v;
  rc = impl->rows->get(impl->rows, nullptr, &k, v.get(), 0);
  if (rc == 0 && v.view().size() == 8) {
    impl->last_revision = DecodeFixed64(v.view().data());
  } else if (rc == 0) {
    return Status::Corruption("tablet " + impl->dir + ": bad last revision record");
  } else if (rc != DB_NOTFOUND) {
    return impl->BdbError(rc, "reading last revision");
  }
  return Status::OK();
}

void CloseEnvironment(Tablet::Impl* impl) {
  // A panicked environment (corruption found, a failed log write) refuses
  // every close and so never frees its private regions (the cache): clear
  // the panic and close without writing anything; recovery at the next open
  // works from what is on disk.
  u_int32_t close_flags = 0;
  u_int32_t env_flags = 0;
  // (get_flags reports the panic bit but returns DB_RUNRECOVERY then.)
  if (impl->dbenv != nullptr) (void)impl->dbenv->get_flags(impl->dbenv, &env_flags);
  if ((env_flags & DB_PANIC_ENVIRONMENT) != 0) {
    (void)impl->dbenv->set_flags(impl->dbenv, DB_PANIC_ENVIRONMENT, 0);
    close_flags = DB_NOSYNC;
  }
  if (!impl->Poisoned().ok()) close_flags = DB_NOSYNC;
  if (impl->cells != nullptr) impl->cells->close(impl->cells, close_flags);
  if (impl->rows != nullptr) impl->rows->close(impl->rows, close_flags);
  impl->cells = impl->rows = nullptr;
  if (impl->dbenv != nullptr) impl->dbenv->close(impl->dbenv, 0);
  impl->dbenv = nullptr;
}

}  // namespace

Status Tablet::Create(const std::string& dir, const TabletMeta& meta, const TabletOptions& options,
                      std::unique_ptr<Tablet>* out) {
  Env* env = options.env ? options.env : Env::Default();
  if (env->Exists(dir + "/" + kMetaFile)) {
    return Status::AlreadyExists("tablet " + dir + " already exists");
  }
  if (!meta.end_row.empty() && meta.end_row <= meta.start_row) {
    return Status::InvalidArgument("tablet " + dir + ": empty row range " + meta.Describe());
  }
  RETURN_NOT_OK_PREPEND(env->CreateDir(dir), "creating tablet");
  std::unique_ptr<Tablet> t(new Tablet(dir));
  Impl* impl = t->impl_.get();
  impl->options = options;
  impl->env = env;
  impl->meta = meta;
  RETURN_NOT_OK(env->LockFile(dir + "/" + kLockFile, &impl->lock));
  Status s = OpenEnvironment(impl, /*create=*/true);
  if (s.ok()) s = impl->CheckpointLocked();
  if (s.ok()) s = env->CheckFault(FaultPoint::kMetaWrite, dir);
  if (s.ok()) {
    std::string m;
    meta.EncodeTo(&m);
    // Written last: a directory without TABLET is not a tablet.
    s = env->WriteFileAtomic(dir + "/" + kMetaFile, m);
  }
  if (!s.ok()) {
    CloseEnvironment(impl);
    impl->closed = true;
    return s.CloneAndPrepend("creating tablet " + dir);
  }
  *out = std::move(t);
  return Status::OK();
}

Status Tablet::Open(const std::string& dir, const TabletOptions& options,
                    std::unique_ptr<Tablet>* out) {
  Env* env = options.env ? options.env : Env::Default();
  std::string meta_path = dir + "/" + kMetaFile;
  if (!env->Exists(meta_path)) return Status::NotFound("no tablet in " + dir);
  std::unique_ptr<Tablet> t(new Tablet(dir));
  Impl* impl = t->impl_.get();
  impl->options = options;
  impl->env = env;
  RETURN_NOT_OK(env->LockFile(dir + "/" + kLockFile, &impl->lock));
  std::string data;
  RETURN_NOT_OK_PREPEND(env->ReadFile(meta_path, kMaxMetaFileBytes, &data), "opening tablet");
  RETURN_NOT_OK_PREPEND(TabletMeta::DecodeFrom(data, &impl->meta), "tablet " + dir);
  Status s = OpenEnvironment(impl, /*create=*/false);
  if (!s.ok()) {
    CloseEnvironment(impl);
    impl->closed = true;
    return s;
  }
  *out = std::move(t);
  return Status::OK();
}

Status Tablet::Destroy(const std::string& dir, Env* env) {
  if (env == nullptr) env = Env::Default();
  if (!env->Exists(dir)) return Status::OK();
  // Renamed first so a crash half-way through the removal never leaves something
  // that looks like a tablet.
  std::string retired = dir + kRetiredSuffix;
  RETURN_NOT_OK(env->RemoveTree(retired));
  RETURN_NOT_OK(env->Rename(dir, retired));
  return env->RemoveTree(retired);
}

Status Tablet::Close() {
  Impl* impl = impl_.get();
  std::unique_lock<std::shared_mutex> life(impl->life_mu);
  if (impl->closed) return Status::OK();
  impl->closed = true;
  if (impl->dbenv == nullptr) {  // Open/Create failed before the environment existed
    impl->lock.reset();
    return Status::OK();
  }
  // A poisoned tablet is closed without flushing or checkpointing: recovery at
  // the next open must work from what is really on disk.
  Status s = impl->Poisoned();
  if (s.ok()) {
    int rc = impl->dbenv->log_flush(impl->dbenv, nullptr);
    if (rc != 0) s = impl->BdbError(rc, "flushing log at close");
  }
  if (s.ok()) s = impl->CheckpointLocked();
  CloseEnvironment(impl);
  impl->lock.reset();
  return s;
}

TabletMeta Tablet::meta() const { return impl_->MetaCopy(); }

bool Tablet::frozen() const { return impl_->frozen.load(); }

Status Tablet::SetSchema(const Schema& schema) {
  Impl* impl = impl_.get();
  std::shared_lock<std::shared_mutex> life(impl->life_mu);
  if (impl->closed) return Status::ServiceUnavailable("tablet " + dir_ + " is closed");
  std::lock_guard<std::mutex> w(impl->write_mu);
  TabletMeta m = impl->MetaCopy();
  m.schema = schema;
  RETURN_NOT_OK(impl->env->CheckFault(FaultPoint::kMetaWrite, dir_));
  std::string data;
  m.EncodeTo(&data);
  RETURN_NOT_OK_PREPEND(impl->env->WriteFileAtomic(dir_ + "/" + kMetaFile, data),
                        "writing schema of tablet " + dir_);
  std::lock_guard<std::mutex> l(impl->meta_mu);
  impl->meta = std::move(m);
  return Status::OK();
}

namespace {

// Validates a batch against the tablet and encodes its B-tree operations.
Status PrepareBatch(const std::vector<RowMutation>& batch, const TabletMeta& meta,
                    size_t max_value_bytes, const std::string& dir, std::vector<Op>* ops) {
  for (const RowMutation& rm : batch) {
    const std::string& row = rm.row();
    if (row.empty()) return Status::InvalidArgument("empty row");
    if (row.size() > kMaxRowBytes) {
      return Status::InvalidArgument("row of " + std::to_string(row.size()) +
                                     " bytes exceeds the limit of 64 KiB");
    }
    if (!meta.ContainsRow(row)) {
      return Status::NotServing("row outside tablet " + meta.Describe() + " (" + dir + ")");
    }
    for (const Mutation& m : rm.mutations()) {
      Op op;
      op.type = m.type;
      if (m.type != Mutation::Type::kEraseRow) {
        if (m.column.empty()) return Status::InvalidArgument("empty column");
        if (m.column.size() > kMaxColumnBytes) {
          return Status::InvalidArgument("column of " + std::to_string(m.column.size()) +
                                         " bytes exceeds the limit of 64 KiB");
        }
      }
      const FamilyOptions* fam = nullptr;
      if (m.type == Mutation::Type::kSet || m.type == Mutation::Type::kErase ||
          m.type == Mutation::Type::kEraseColumn) {
        fam = meta.schema.FindFamilyOfColumn(m.column);
        if (fam == nullptr) {
          return Status::InvalidArgument("unknown column family '" +
                                         std::string(ColumnFamily(m.column)) + "' in table " +
                                         meta.table);
        }
      }
      switch (m.type) {
        case Mutation::Type::kSet:
          if (m.value.size() > max_value_bytes) {
            return Status::InvalidArgument("value of " + std::to_string(m.value.size()) +
                                           " bytes exceeds the limit of " +
                                           std::to_string(max_value_bytes));
          }
          EncodeCellKey(row, m.column, m.timestamp, &op.key);
          EncodeCellValue(ValueType::kValue, m.value, fam->compression, &op.value);
          break;
        case Mutation::Type::kErase:
          EncodeCellKey(row, m.column, m.timestamp, &op.key);
          break;
        case Mutation::Type::kEraseColumn:
          EncodeColumnPrefix(row, m.column, &op.key);
          break;
        case Mutation::Type::kEraseRow:
          EncodeRowPrefix(row, &op.key);
          break;
      }
      ops->push_back(std::move(op));
    }
  }
  return Status::OK();
}

// Deletes every key starting with prefix.
int DeletePrefix(DB* db, DB_TXN* txn, const std::string& prefix) {
  DBC* c = nullptr;
  int rc = db->cursor(db, txn, &c, 0);
  if (rc != 0) return rc;
  CursorCloser closer(c);
  DbtHolder key;
  DBT v;
  memset(&v, 0, sizeof(v));
  v.flags = DB_DBT_PARTIAL;  // values are not needed
  // DB_SET_RANGE needs the search key in the DBT; DB_DBT_REALLOC lets Berkeley DB
  // replace it with the key found.
  DBT* k = key.get();
  k->data = malloc(prefix.size() + 1);
  memcpy(k->data, prefix.data(), prefix.size());
  k->size = static_cast<u_int32_t>(prefix.size());
  rc = c->get(c, k, &v, DB_SET_RANGE);
  while (rc == 0) {
    if (key.view().substr(0, prefix.size()) != prefix) break;
    rc = c->del(c, 0);
    if (rc != 0) return rc;
    rc = c->get(c, k, &v, DB_NEXT);
  }
  return rc == DB_NOTFOUND ? 0 : rc;
}

}  // namespace

namespace {

// Runs `ops` and the revision updates in one transaction and commits it (without
// fsync). Caller holds write_mu and rw_mu exclusively.
Status CommitOps(Tablet::Impl* impl, const std::vector<Op>& ops,
                 const std::vector<const std::string*>& rows, uint64_t revision) {
  DB_TXN* txn = nullptr;
  int rc = impl->dbenv->txn_begin(impl->dbenv, nullptr, &txn, 0);
  if (rc != 0) return impl->BdbError(rc, "txn_begin");
  // A write that failed with an I/O error (or a commit that failed at all) may
  // have left the log with a hole or a torn record: the tablet refuses writes
  // and syncs until it is reopened and recovery reads what is on disk.
  auto poison_if_io = [&](int code, const Status& s) {
    if (code > 0 || code == DB_RUNRECOVERY) impl->Poison(s);
  };
  auto abort_with = [&](Status s) {
    txn->abort(txn);
    return s;
  };
  for (const Op& op : ops) {
    DBT k = MakeDbt(op.key);
    switch (op.type) {
      case Mutation::Type::kSet: {
        DBT v = MakeDbt(op.value);
        rc = impl->cells->put(impl->cells, txn, &k, &v, 0);
        break;
      }
      case Mutation::Type::kErase:
        rc = impl->cells->del(impl->cells, txn, &k, 0);
        if (rc == DB_NOTFOUND) rc = 0;
        break;
      case Mutation::Type::kEraseColumn:
      case Mutation::Type::kEraseRow:
        rc = DeletePrefix(impl->cells, txn, op.key);
        break;
    }
    if (rc != 0) {
      Status e = impl->BdbError(rc, "applying mutation");
      poison_if_io(rc, e);
      return abort_with(e);
    }
  }
  std::string rev;
  PutFixed64(&rev, revision);
  DBT rv = MakeDbt(rev);
  for (const std::string* row : rows) {
    std::string key = RowRevKey(*row);
    DBT k = MakeDbt(key);
    rc = impl->rows->put(impl->rows, txn, &k, &rv, 0);
    if (rc != 0) return abort_with(impl->BdbError(rc, "recording row revision"));
  }
  DBT lk = MakeDbt(kLastRevisionKey);
  rc = impl->rows->put(impl->rows, txn, &lk, &rv, 0);
  if (rc != 0) return abort_with(impl->BdbError(rc, "recording last revision"));
  Status fault = impl->env->CheckFault(FaultPoint::kApplyCommit, impl->dir);
  if (!fault.ok()) return abort_with(fault);
  rc = txn->commit(txn, 0);
  if (rc != 0) {
    Status e = impl->BdbError(rc, "commit");
    impl->Poison(e);
    return e;
  }
  return Status::OK();
}

}  // namespace

Status Tablet::Apply(const std::vector<RowMutation>& batch, uint64_t* revision) {
  return ApplyInternal(nullptr, batch, revision);
}

Status Tablet::ApplyIf(const std::vector<Condition>& conditions, const RowMutation& mutation,
                       uint64_t* revision) {
  return ApplyInternal(&conditions, {mutation}, revision);
}

Status Tablet::TryApply(const std::vector<RowMutation>& batch, uint64_t* revision, bool* busy) {
  return ApplyInternal(nullptr, batch, revision, busy);
}

Status Tablet::TryApplyIf(const std::vector<Condition>& conditions, const RowMutation& mutation,
                          uint64_t* revision, bool* busy) {
  return ApplyInternal(&conditions, {mutation}, revision, busy);
}

Status Tablet::ApplyInternal(const std::vector<Condition>* conditions,
                             const std::vector<RowMutation>& batch, uint64_t* revision,
                             bool* busy) {
  Impl* impl = impl_.get();
  // try_only: every lock below is only tried; a held one sets *busy.
  const bool try_only = busy != nullptr;
  if (try_only) *busy = true;
  std::shared_lock<std::shared_mutex> life(impl->life_mu, std::defer_lock);
  if (!try_only) {
    life.lock();
  } else if (!life.try_lock()) {
    return Status::OK();
  }
  if (try_only) *busy = false;
  if (impl->closed) return Status::ServiceUnavailable("tablet " + dir_ + " is closed");
  if (batch.empty()) {
    if (revision != nullptr) *revision = 0;
    return Status::OK();
  }
  // Counted while queued for write_mu and committing (see Sync's gathering);
  // a try_only writer is counted once it holds write_mu.
  struct Applying {
    Impl* impl = nullptr;
    void Start(Impl* i) {
      impl = i;
      std::lock_guard<std::mutex> l(impl->sync_mu);
      impl->applying++;
    }
    ~Applying() {
      if (impl == nullptr) return;
      std::lock_guard<std::mutex> l(impl->sync_mu);
      impl->applying--;
      if (impl->gathering) impl->gather_cv.notify_all();
    }
  } applying;
  std::unique_lock<std::mutex> w(impl->write_mu, std::defer_lock);
  if (!try_only) {
    applying.Start(impl);
    w.lock();
  } else if (w.try_lock()) {
    applying.Start(impl);
  } else {
    *busy = true;
    return Status::OK();
  }
  if (impl->frozen) {
    return Status::NotServing("tablet " + dir_ + " was split; write to its children");
  }
  RETURN_NOT_OK(impl->Poisoned());
  TabletMeta meta = impl->MetaCopy();
  std::vector<Op> ops;
  RETURN_NOT_OK(PrepareBatch(batch, meta, impl->options.max_value_bytes, dir_, &ops));
  std::vector<const std::string*> rows;
  for (const RowMutation& rm : batch) rows.push_back(&rm.row());
  std::sort(rows.begin(), rows.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  rows.erase(std::unique(rows.begin(), rows.end(),
                         [](const std::string* a, const std::string* b) { return *a == *b; }),
             rows.end());
  std::unique_lock<std::shared_mutex> x(impl->rw_mu, std::defer_lock);
  if (!try_only) {
    x.lock();
  } else if (!x.try_lock()) {
    *busy = true;
    return Status::OK();
  }
  if (conditions != nullptr) {
    for (const Condition& c : *conditions) {
      bool holds = false;
      std::string why;
      RETURN_NOT_OK(impl->EvaluateCondition(c, batch[0].row(), meta, &holds, &why));
      if (!holds) return Status::Conflict("condition failed: " + why);
    }
  }
  uint64_t rev = impl->last_revision + 1;
  RETURN_NOT_OK(CommitOps(impl, ops, rows, rev));
  impl->last_revision = rev;
  {
    std::lock_guard<std::mutex> l(impl->sync_mu);
    impl->commits++;
    if (impl->gathering) impl->gather_cv.notify_all();
  }
  if (revision != nullptr) *revision = rev;
  return Status::OK();
}

Status Tablet::GetRowRevision(std::string_view row, uint64_t* revision) {
  Impl* impl = impl_.get();
  std::shared_lock<std::shared_mutex> life(impl->life_mu);
  if (impl->closed) return Status::ServiceUnavailable("tablet " + dir_ + " is closed");
  std::shared_lock<std::shared_mutex> r(impl->rw_mu);
  std::string key = RowRevKey(row);
  DBT k = MakeDbt(key);
  DbtHolder v;
  int rc = impl->rows->get(impl->rows, nullptr, &k, v.get(), 0);
  if (rc == DB_NOTFOUND) {
    *revision = 0;
    return Status::OK();
  }
  if (rc != 0) return impl->BdbError(rc, "reading row revision");
  if (v.view().size() != 8) return Status::Corruption("tablet " + dir_ + ": bad row revision");
  *revision = DecodeFixed64(v.view().data());
  return Status::OK();
}

Status Tablet::WriteHealth() const { return impl_->Poisoned(); }

Status Tablet::Sync() {
  Impl* impl = impl_.get();
  std::shared_lock<std::shared_mutex> life(impl->life_mu);
  if (impl->closed) return Status::ServiceUnavailable("tablet " + dir_ + " is closed");
  std::unique_lock<std::mutex> l(impl->sync_mu);
  uint64_t target = impl->commits;
  for (;;) {
    if (!impl->poisoned.ok()) return impl->poisoned;
    if (impl->synced >= target) return Status::OK();
    if (!impl->flushing) break;
    impl->sync_cv.wait(l);
  }
  // This thread flushes for everyone waiting: everything committed up to now,
  // and first waits (at most kGatherMs) for the writers already inside Apply,
  // so that one flush covers their commits too. Without it, synced
  // single-row writes of 16 threads averaged ~1.4 commits per log flush: each
  // flush started as soon as the previous one ended, with the one or two
  // commits that had landed meanwhile.
  constexpr auto kGatherMs = std::chrono::milliseconds(2);
  impl->flushing = true;
  if (impl->applying > 0) {
    const uint64_t want = impl->commits + impl->applying;
    impl->gathering = true;
    impl->gather_cv.wait_for(l, kGatherMs, [&] {
      return impl->commits >= want || impl->applying == 0 || !impl->poisoned.ok();
    });
    impl->gathering = false;
  }
  uint64_t covering = impl->commits;
  l.unlock();
  Status s = impl->env->CheckFault(FaultPoint::kSyncFlush, dir_);
  bool poison = false;
  if (s.ok()) {
    int rc = impl->dbenv->log_flush(impl->dbenv, nullptr);
    if (rc != 0) {
      s = impl->BdbError(rc, "flushing log");
      poison = true;
    }
  }
  l.lock();
  impl->flushing = false;
  if (poison) {
    impl->poisoned = s.CloneAndPrepend("log flush failed earlier; reopen the tablet");
  }
  if (s.ok() && covering > impl->synced) impl->synced = covering;
  impl->sync_cv.notify_all();
  // Bound recovery time and log space: checkpoint once two log files' worth
  // of log accumulated (half a file before: a checkpoint writes every dirty
  // page, and with synced single-row writes that was ~3 page writes per
  // commit; recovery after a crash now replays at most ~2 files more).
  // Asking Berkeley DB whether it has (txn_checkpoint with a size) opens and
  // reads the log, which cost as much as the flush itself in a profile of
  // synced single-row writes; so ask every kCheckpointCheckFlushes flushes or
  // kCheckpointCheckMs, whichever comes first.
  constexpr uint32_t kCheckpointCheckFlushes = 32;
  constexpr int64_t kCheckpointCheckMs = 1000;
  bool check = false;
  if (s.ok()) {
    int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
    if (++impl->flushes_since_ckp_check >= kCheckpointCheckFlushes ||
        now_ms - impl->last_ckp_check_ms >= kCheckpointCheckMs) {
      impl->flushes_since_ckp_check = 0;
      impl->last_ckp_check_ms = now_ms;
      check = true;
    }
  }
  l.unlock();
  if (check) {
    int rc = impl->dbenv->txn_checkpoint(
        impl->dbenv, std::max<u_int32_t>(impl->options.log_file_bytes / 1024 * 2, 64), 0, 0);
    if (rc != 0) s = impl->BdbError(rc, "checkpoint");
  }
  return s;
}

Status Tablet::Checkpoint() {
  Impl* impl = impl_.get();
  std::shared_lock<std::shared_mutex> life(impl->life_mu);
  if (impl->closed) return Status::ServiceUnavailable("tablet " + dir_ + " is closed");
  return impl->CheckpointLocked();
}

Status Tablet::ApproximateSize(uint64_t* bytes) {
  // The B-trees only: pages allocated (from each database's metadata page, so
  // pages still in the cache count too). Log files and the environment are
  // excluded: they are a few MB even for an empty tablet and would make small
  // tablets look big enough to split.
  Impl* impl = impl_.get();
  std::shared_lock<std::shared_mutex> life(impl->life_mu);
  if (impl->closed) return Status::ServiceUnavailable("tablet " + dir_ + " is closed");
  uint64_t total = 0;
  for (DB* db : {impl->cells, impl->rows}) {
    DB_BTREE_STAT* st = nullptr;
    int rc = db->stat(db, nullptr, &st, DB_FAST_STAT);
    if (rc != 0) return impl->BdbError(rc, "database statistics");
    total += static_cast<uint64_t>(st->bt_pagecnt) * st->bt_pagesize;
    free(st);
  }
  *bytes = total;
  return Status::OK();
}

}  // namespace kdi::storage
