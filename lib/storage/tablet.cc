// Tablet lifecycle (create/open/close), writes (Apply, ApplyIf), revisions and
// group-commit Sync. The scan engine is in tablet_scan.cc; compaction, median
// and split in tablet_split.cc. Lock order: tablet_impl.h.
#include "lib/storage/tablet.h"

#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <map>
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

using Op = BatchOp;

// How many pending batches go into one Berkeley DB transaction of a drain,
// and how many a caller that must not block (an RPC I/O thread) applies itself
// before handing the work to a thread that may block.
constexpr size_t kDrainChunkBatches = 64;
constexpr size_t kDrainChunkBytes = 1u << 20;
constexpr size_t kInlineDrainBatches = 16;

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

Status Tablet::Impl::MapBdbError(int rc, const std::string& op) {
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

Status Tablet::Impl::BdbError(int rc, const std::string& op) {
  Status s = MapBdbError(rc, op);
  // Damaged pages or a panicked environment: the B-tree cannot take the
  // acknowledged writes any more, so the tablet stops acknowledging new ones
  // (they would sit in the write-ahead log of a tablet that cannot open).
  if (s.IsCorruption()) Poison(s);
  return s;
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

// Opens the write path of a tablet whose environment is open: replays the
// write-ahead log left by the previous opener (batches the B-tree does not have
// yet), applies them, and starts a new segment.
Status OpenWritePath(Tablet::Impl* impl) {
  impl->applied_revision.store(impl->last_revision);
  uint64_t dropped = 0;
  Status s = WriteLog::Replay(
      impl->dir,
      [impl](std::string_view payload) -> Status {
        PendingBatch b;
        RETURN_NOT_OK(PendingBatch::DecodeFrom(payload, &b));
        if (b.revision <= impl->applied_revision.load()) return Status::OK();  // applied before
        if (b.revision <= impl->last_revision) {
          return Status::Corruption("write-ahead log: revision " + std::to_string(b.revision) +
                                    " after " + std::to_string(impl->last_revision));
        }
        impl->last_revision = b.revision;
        impl->buffer.Push(std::move(b));
        return Status::OK();
      },
      &dropped);
  RETURN_NOT_OK_PREPEND(s, "tablet " + impl->dir);
  const size_t replayed = impl->buffer.batches();
  RETURN_NOT_OK(WriteLog::Open(impl->dir, &impl->wal));
  impl->old_segments_revision = impl->last_revision;
  std::unique_lock<std::mutex> w(impl->write_mu);
  RETURN_NOT_OK(impl->DrainUpTo(UINT64_MAX));
  RETURN_NOT_OK(impl->RetireLog(&w));
  if (replayed > 0) {
    KDI_LOG(INFO, "storage") << "tablet " << impl->dir << ": applied " << replayed
                             << " batches from the write-ahead log";
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
  if (options.row_cache_bytes > 0) {
    impl->row_cache = std::make_unique<RowCache>(options.row_cache_bytes);
  }
  impl->meta = meta;
  RETURN_NOT_OK(env->LockFile(dir + "/" + kLockFile, &impl->lock));
  Status s = OpenEnvironment(impl, /*create=*/true);
  if (s.ok()) s = impl->CheckpointLocked();
  if (s.ok()) s = OpenWritePath(impl);
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
  if (options.row_cache_bytes > 0) {
    impl->row_cache = std::make_unique<RowCache>(options.row_cache_bytes);
  }
  RETURN_NOT_OK(env->LockFile(dir + "/" + kLockFile, &impl->lock));
  std::string data;
  RETURN_NOT_OK_PREPEND(env->ReadFile(meta_path, kMaxMetaFileBytes, &data), "opening tablet");
  RETURN_NOT_OK_PREPEND(TabletMeta::DecodeFrom(data, &impl->meta), "tablet " + dir);
  Status s = OpenEnvironment(impl, /*create=*/false);
  if (s.ok()) s = OpenWritePath(impl);
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
  // The drainer takes life_mu and write_mu: stop it first.
  impl->StopDrainer();
  std::unique_lock<std::shared_mutex> life(impl->life_mu);
  if (impl->closed) return Status::OK();
  impl->closed = true;
  // Serves the waiting SyncAsync callers (no new one comes: closed is set).
  impl->StopSyncer();
  if (impl->dbenv == nullptr) {  // Open/Create failed before the environment existed
    impl->lock.reset();
    return Status::OK();
  }
  // A poisoned tablet is closed without flushing or checkpointing: recovery at
  // the next open must work from what is really on disk.
  // Otherwise every pending batch goes into the B-tree, which is made durable,
  // and the write-ahead log is removed.
  Status s = impl->Poisoned();
  if (s.ok() && impl->wal != nullptr) {
    std::lock_guard<std::mutex> w(impl->write_mu);
    s = impl->DrainUpTo(UINT64_MAX);
  }
  if (s.ok()) {
    int rc = impl->dbenv->log_flush(impl->dbenv, nullptr);
    if (rc != 0) s = impl->BdbError(rc, "flushing log at close");
  }
  if (s.ok()) s = impl->CheckpointLocked();
  if (s.ok() && impl->wal != nullptr) s = impl->wal->RemoveAll();
  impl->wal.reset();
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

// Writes one cell through cursor c and, when max_versions > 0, deletes the
// versions of its column beyond the newest max_versions (garbage collection at
// write time; the scan engine already hides them). Works from the cursor's
// position after the put (no second B-tree search): back to the column's
// newest version (usually the cell just written, one step), then forward
// through the versions. k is scratch.
int PutAndTrim(DBC* c, const BatchOp& op, uint32_t max_versions, DbtHolder* k) {
  DBT key = MakeDbt(op.key);
  DBT val = MakeDbt(op.value);
  int rc = c->put(c, &key, &val, DB_KEYFIRST);
  if (rc != 0 || max_versions == 0) return rc;
  const std::string_view prefix = std::string_view(op.key).substr(0, op.key.size() - 8);
  auto in_column = [&] {
    std::string_view found = k->view();
    return found.size() == prefix.size() + 8 && found.compare(0, prefix.size(), prefix) == 0;
  };
  DBT v;
  memset(&v, 0, sizeof(v));
  v.flags = DB_DBT_PARTIAL;  // values are not needed
  do {
    rc = c->get(c, k->get(), &v, DB_PREV);
  } while (rc == 0 && in_column());
  if (rc == DB_NOTFOUND) {
    rc = c->get(c, k->get(), &v, DB_FIRST);  // the column begins the tablet
  } else if (rc == 0) {
    rc = c->get(c, k->get(), &v, DB_NEXT);
  }
  uint32_t seen = 0;
  while (rc == 0 && in_column()) {
    if (++seen > max_versions) {
      rc = c->del(c, 0);
      if (rc != 0) return rc;
    }
    rc = c->get(c, k->get(), &v, DB_NEXT);
  }
  return rc == DB_NOTFOUND ? 0 : rc;
}

}  // namespace

namespace {

// Applies pending batches (in order) and their revision updates in one
// transaction, committed without writing or flushing the log: the batches are
// in the write-ahead log, which is kept until this log is flushed (RetireLog).
// Caller holds write_mu and rw_mu exclusively.
Status CommitBatches(Tablet::Impl* impl, const std::vector<const PendingBatch*>& batches) {
  // The chunk's cell writes in key order (stable: writes of one key keep
  // their order), so that consecutive puts land on the same B-tree page and a
  // DB_CURSOR_BULK cursor skips the search from the root. Not when a batch
  // erases a whole column or row: such an erasure must stay between the
  // writes before and after it.
  std::vector<const Op*> ops;
  bool prefix_erasure = false;
  for (const PendingBatch* b : batches) {
    for (const Op& op : b->ops) {
      ops.push_back(&op);
      prefix_erasure |= op.type == Mutation::Type::kEraseColumn ||
                        op.type == Mutation::Type::kEraseRow;
    }
  }
  if (!prefix_erasure) {
    std::stable_sort(ops.begin(), ops.end(),
                     [](const Op* a, const Op* b) { return a->key < b->key; });
  }
  // The newest revision of each row the chunk touches.
  std::map<std::string_view, uint64_t> row_revisions;
  for (const PendingBatch* b : batches) {
    for (const std::string& row : b->rows) row_revisions[row] = b->revision;
  }
  // Families with a version limit have older versions trimmed as they are
  // written (bounded rows keep point reads short).
  Schema schema;
  {
    std::lock_guard<std::mutex> l(impl->meta_mu);
    schema = impl->meta.schema;
  }

  DB_TXN* txn = nullptr;
  int rc = impl->dbenv->txn_begin(impl->dbenv, nullptr, &txn, 0);
  if (rc != 0) return impl->BdbError(rc, "txn_begin");
  DBC* c = nullptr;
  auto abort_with = [&](Status s) {
    if (c != nullptr) c->close(c);
    txn->abort(txn);
    return s;
  };
  rc = impl->cells->cursor(impl->cells, txn, &c, DB_CURSOR_BULK);
  if (rc != 0) {
    c = nullptr;
    return abort_with(impl->BdbError(rc, "opening cursor"));
  }
  DbtHolder scratch;
  std::string row_scratch, column_scratch;
  for (const Op* op : ops) {
    switch (op->type) {
      case Mutation::Type::kSet: {
        std::string_view row, column;
        int64_t ts;
        uint32_t max_versions = 0;
        if (DecodeCellKeyView(op->key, &row_scratch, &column_scratch, &row, &column, &ts)) {
          const FamilyOptions* fam = schema.FindFamilyOfColumn(column);
          if (fam != nullptr) max_versions = fam->max_versions;
        }
        rc = PutAndTrim(c, *op, max_versions, &scratch);
        break;
      }
      case Mutation::Type::kErase: {
        DBT k = MakeDbt(op->key);
        rc = impl->cells->del(impl->cells, txn, &k, 0);
        if (rc == DB_NOTFOUND) rc = 0;
        break;
      }
      case Mutation::Type::kEraseColumn:
      case Mutation::Type::kEraseRow:
        rc = DeletePrefix(impl->cells, txn, op->key);
        break;
    }
    if (rc != 0) return abort_with(impl->BdbError(rc, "applying mutation"));
  }
  rc = c->close(c);
  c = nullptr;
  if (rc != 0) return abort_with(impl->BdbError(rc, "closing cursor"));

  rc = impl->rows->cursor(impl->rows, txn, &c, DB_CURSOR_BULK);
  if (rc != 0) {
    c = nullptr;
    return abort_with(impl->BdbError(rc, "opening cursor"));
  }
  std::string key, rev;
  for (const auto& [row, revision] : row_revisions) {
    key = RowRevKey(row);
    rev.clear();
    PutFixed64(&rev, revision);
    DBT k = MakeDbt(key);
    DBT rv = MakeDbt(rev);
    rc = c->put(c, &k, &rv, DB_KEYFIRST);
    if (rc != 0) return abort_with(impl->BdbError(rc, "recording row revision"));
  }
  rc = c->close(c);
  c = nullptr;
  if (rc != 0) return abort_with(impl->BdbError(rc, "closing cursor"));
  rev.clear();
  PutFixed64(&rev, batches.back()->revision);
  DBT lk = MakeDbt(kLastRevisionKey);
  DBT rv = MakeDbt(rev);
  rc = impl->rows->put(impl->rows, txn, &lk, &rv, 0);
  if (rc != 0) return abort_with(impl->BdbError(rc, "recording last revision"));
  rc = txn->commit(txn, DB_TXN_NOSYNC);
  if (rc != 0) return impl->BdbError(rc, "commit");
  return Status::OK();
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status Tablet::Impl::DrainStep(uint64_t up_to, bool try_only, bool* busy) {
  if (busy != nullptr) *busy = false;
  // apply_mu first: the front of the buffer cannot change under it (only a
  // drain pops), so the chunk's pointers stay valid.
  std::unique_lock<std::mutex> a(apply_mu, std::defer_lock);
  if (!LockOrTry(&a, try_only)) {
    *busy = true;
    return Status::OK();
  }
  std::vector<const PendingBatch*> chunk = buffer.Front(kDrainChunkBatches);
  size_t bytes = 0, n = 0;
  while (n < chunk.size() && chunk[n]->revision <= up_to && (n == 0 || bytes < kDrainChunkBytes)) {
    bytes += chunk[n]->MemoryBytes();
    n++;
  }
  if (n == 0) return Status::OK();
  chunk.resize(n);
  RETURN_NOT_OK(Poisoned());
  std::unique_lock<std::shared_mutex> x(rw_mu, std::defer_lock);
  if (!LockOrTry(&x, try_only)) {
    *busy = true;
    return Status::OK();
  }
  // The chunk changes its batches' rows only: those leave the row cache (even
  // if the commit fails: what it left is read again).
  if (row_cache != nullptr) {
    for (const PendingBatch* b : chunk) {
      for (const std::string& row : b->rows) row_cache->Erase(row);
    }
  }
  Status s = CommitBatches(this, chunk);
  if (!s.ok()) {
    // The batches stay queued and in the write-ahead log; reopening applies
    // them again from there.
    Poison(s.CloneAndPrepend("applying acknowledged writes to the B-tree"));
    return s;
  }
  applied_revision.store(chunk.back()->revision, std::memory_order_release);
  // Popped only after the commit: a reader that saw the rows pending drains
  // (and so waits for apply_mu) instead of reading the B-tree without them.
  buffer.PopFront(n);
  // Retiring write-ahead log segments is the drainer's (RetireLog).
  return Status::OK();
}

Status Tablet::Impl::DrainUpTo(uint64_t up_to, bool try_only, bool* busy) {
  if (try_only && buffer.batches() > kInlineDrainBatches) {
    *busy = true;
    return Status::OK();
  }
  while (!buffer.empty() && buffer.first_revision() <= up_to) {
    RETURN_NOT_OK(DrainStep(up_to, try_only, busy));
    if (try_only && *busy) return Status::OK();
  }
  return Status::OK();
}

void Tablet::Impl::NoteWrite() {
  last_write_ms.store(SteadyMs(), std::memory_order_relaxed);
  KickDrainer(buffer.bytes() > options.write_buffer_bytes / 4 * 3, false);
}

void Tablet::Impl::KickDrainer(bool kick, bool all) {
  std::lock_guard<std::mutex> l(drain_mu);
  if (drain_stop) return;
  if (all) drain_all = true;
  if (!drainer_running) {
    // An ended drainer has left its loop (it never waits for a lock then).
    if (drainer.joinable()) drainer.join();
    drainer_running = true;
    drain_kick = kick;
    drainer = std::thread([this] { DrainerLoop(); });
    return;
  }
  if (kick && !drain_kick) {
    drain_kick = true;
    drain_cv.notify_one();
  }
}

void Tablet::Impl::DrainerLoop() {
  constexpr int64_t kIdleDrainMs = 100;
  constexpr int64_t kQuitAfterMs = 1000;
  int64_t idle_since = SteadyMs();
  std::unique_lock<std::mutex> l(drain_mu);
  while (!drain_stop) {
    drain_cv.wait_for(l, std::chrono::milliseconds(kIdleDrainMs),
                      [this] { return drain_stop || drain_kick; });
    if (drain_stop) break;
    const bool kicked = drain_kick;
    const bool all = drain_all;
    drain_kick = false;
    drain_all = false;
    const int64_t now = SteadyMs();
    const bool idle = now - last_write_ms.load(std::memory_order_relaxed) >= kIdleDrainMs;
    if (buffer.empty() && !kicked) {
      if (now - idle_since >= kQuitAfterMs) break;
      // Reads may have applied the buffer (without retiring log segments, if
      // they could not block): retire what they applied, and checkpoint.
      l.unlock();
      {
        std::shared_lock<std::shared_mutex> life(life_mu);
        Status s;
        if (!closed && Poisoned().ok()) {
          {
            std::unique_lock<std::mutex> w(write_mu);
            s = RetireLog(&w);
          }
          if (s.ok()) RequestCheckpoint();
        }
        if (!s.ok()) KDI_LOG(WARN, "storage") << "tablet " << dir << ": " << s.ToString();
      }
      l.lock();
      continue;
    }
    idle_since = now;
    if (!kicked && !idle) continue;
    l.unlock();
    {
      std::shared_lock<std::shared_mutex> life(life_mu);
      if (!closed && Poisoned().ok()) {
        // Without write_mu: writers append while the drainer applies.
        const size_t keep = idle || all ? 0 : options.write_buffer_bytes / 4;
        Status s = DrainDownTo(keep);
        if (s.ok()) {
          std::unique_lock<std::mutex> w(write_mu);
          s = RetireLog(&w);
        }
        if (s.ok()) RequestCheckpoint();
        if (!s.ok()) KDI_LOG(WARN, "storage") << "tablet " << dir << ": " << s.ToString();
      }
    }
    l.lock();
  }
  drainer_running = false;
}

void Tablet::Impl::StopDrainer() {
  {
    std::lock_guard<std::mutex> l(drain_mu);
    drain_stop = true;
    drain_cv.notify_all();
  }
  if (drainer.joinable()) drainer.join();
  // Only the drainer starts checkpointers: none starts after this.
  if (checkpointer.joinable()) checkpointer.join();
}

void Tablet::Impl::RequestCheckpoint() {
  // Asked at most every 32 requests or once a second (txn_checkpoint with a
  // size reads the log to decide).
  const int64_t now_ms = SteadyMs();
  {
    std::lock_guard<std::mutex> l(drain_mu);
    if (++drains_since_ckp_check < 32 && now_ms - last_ckp_check_ms < 1000) return;
    if (checkpointing) return;
    drains_since_ckp_check = 0;
    last_ckp_check_ms = now_ms;
    checkpointing = true;
  }
  // Called by the drainer only, so no other thread touches `checkpointer`.
  if (checkpointer.joinable()) checkpointer.join();  // it has ended (checkpointing was false)
  checkpointer = std::thread([this] {
    {
      std::shared_lock<std::shared_mutex> life(life_mu);
      Status s;
      if (!closed && Poisoned().ok()) s = MaybeCheckpoint();
      if (!s.ok()) KDI_LOG(WARN, "storage") << "tablet " << dir << ": " << s.ToString();
    }
    std::lock_guard<std::mutex> l(drain_mu);
    checkpointing = false;
  });
}

Status Tablet::Impl::DrainDownTo(size_t keep_bytes) {
  while (buffer.bytes() > keep_bytes && !buffer.empty()) {
    RETURN_NOT_OK(DrainStep(UINT64_MAX, false, nullptr));
  }
  return Status::OK();
}

Status Tablet::Impl::RetireLog(std::unique_lock<std::mutex>* w) {
  const bool old_done = wal->segment_count() > 1 &&
                        applied_revision.load(std::memory_order_acquire) >= old_segments_revision;
  const bool current_done =
      buffer.empty() && wal->current_bytes() >= options.write_log_segment_bytes;
  if (!old_done && !current_done) return Status::OK();
  // The B-tree's commits of those batches must be durable before the
  // write-ahead log records go. The flush writes and syncs what the drains
  // logged (megabytes, hundreds of milliseconds on a busy disk): writers go
  // on meanwhile.
  const uint64_t decided_at_segment = wal->current_sequence();
  const uint64_t decided_at_revision = last_revision;
  w->unlock();
  int rc = dbenv->log_flush(dbenv, nullptr);
  w->lock();
  if (rc != 0) {
    Status s = BdbError(rc, "flushing the B-tree's log");
    Poison(s);
    return s;
  }
  // Segments older than the one current at the decision held only applied
  // batches (old_done), now durable in the B-tree. The current segment is
  // rolled only if nothing was appended since (every record of it was
  // applied before the flush).
  if (current_done && last_revision == decided_at_revision &&
      wal->current_sequence() == decided_at_segment) {
    Status s = wal->Roll();
    if (!s.ok()) {
      Poison(s);
      return s;
    }
    old_segments_revision = last_revision;
    return wal->RemoveOldSegments(decided_at_segment + 1);
  }
  return old_done ? wal->RemoveOldSegments(decided_at_segment) : Status::OK();
}

Status Tablet::Impl::MaybeCheckpoint() {
  // Bound the B-tree's recovery time and log space: a checkpoint once
  // options.checkpoint_log_bytes of log accumulated. Runs on the checkpointer
  // thread, without write_mu: a checkpoint writes every dirty page, which
  // took hundreds of milliseconds while the disk was busy with log syncs, and
  // neither writers nor the drainer must wait for it.
  int rc = dbenv->txn_checkpoint(
      dbenv, std::max<u_int32_t>(options.checkpoint_log_bytes / 1024, 64), 0, 0);
  if (rc != 0) return BdbError(rc, "checkpoint");
  return Status::OK();
}

Status Tablet::Impl::DrainForRead(const StringIntervalSet& rows, bool try_only, bool* busy) {
  if (busy != nullptr) *busy = false;
  if (buffer.empty() || !buffer.TouchesAny(rows)) return Status::OK();
  return DrainUpTo(buffer.last_revision(), try_only, busy);
}

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
  if (!LockOrTry(&life, try_only)) return Status::OK();
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
    void Finish() {
      if (impl == nullptr) return;
      std::lock_guard<std::mutex> l(impl->sync_mu);
      impl->applying--;
      if (impl->gathering) impl->gather_cv.notify_all();
      impl = nullptr;
    }
    ~Applying() { Finish(); }
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
  // A full buffer is applied by a writer that may block, not on an I/O thread.
  if (try_only && impl->buffer.bytes() > impl->options.write_buffer_bytes) {
    *busy = true;
    return Status::OK();
  }
  TabletMeta meta = impl->MetaCopy();
  PendingBatch pending;
  RETURN_NOT_OK(PrepareBatch(batch, meta, impl->options.max_value_bytes, dir_, &pending.ops));
  pending.rows.reserve(batch.size());
  for (const RowMutation& rm : batch) pending.rows.push_back(rm.row());
  std::sort(pending.rows.begin(), pending.rows.end());
  pending.rows.erase(std::unique(pending.rows.begin(), pending.rows.end()), pending.rows.end());
  if (conditions != nullptr) {
    // Conditions read the row with its pending batches laid over the B-tree
    // (ReadRowLocked); write_mu keeps new ones out meanwhile. A hot row's
    // many pending batches are applied first instead.
    const std::string& row = batch[0].row();
    if (!impl->OverlayRow(row)) {
      RETURN_NOT_OK(impl->DrainUpTo(impl->buffer.last_revision(), try_only, busy));
      if (try_only && *busy) return Status::OK();
    }
    std::shared_lock<std::shared_mutex> r(impl->rw_mu, std::defer_lock);
    if (!LockOrTry(&r, try_only)) {
      *busy = true;
      return Status::OK();
    }
    for (const Condition& c : *conditions) {
      bool holds = false;
      std::string why;
      RETURN_NOT_OK(impl->EvaluateCondition(c, row, meta, &holds, &why));
      if (!holds) return Status::Conflict("condition failed: " + why);
    }
  }
  RETURN_NOT_OK(impl->env->CheckFault(FaultPoint::kApplyCommit, dir_));
  const uint64_t rev = impl->last_revision + 1;
  pending.revision = rev;
  std::string record;
  pending.EncodeTo(&record);
  if (impl->wal->current_bytes() >= impl->options.write_log_segment_bytes) {
    if (try_only) {  // a sync and a file creation: not on an I/O thread
      *busy = true;
      return Status::OK();
    }
    // A new segment (options.write_log_segment_bytes): everything in the old
    // one must be durable before anything in the new one is synced alone.
    Status s = impl->wal->Roll();
    if (!s.ok()) {
      impl->Poison(s);
      return s;
    }
    impl->old_segments_revision = impl->last_revision;
  }
  Status s = impl->wal->Append(record);
  if (!s.ok()) {
    if (!s.IsInvalidArgument()) impl->Poison(s);  // the log may hold a torn record
    return s;
  }
  impl->buffer.Push(std::move(pending));
  impl->last_revision = rev;
  impl->NoteWrite();
  {
    std::lock_guard<std::mutex> l(impl->sync_mu);
    impl->commits++;
    if (impl->gathering) impl->gather_cv.notify_all();
  }
  if (revision != nullptr) *revision = rev;
  // A conditional write is a read-modify-write: its row is read again soon
  // (workload F), often before the drainer comes, and every such read would
  // lay the row's pending batches over the B-tree. Apply it now, while this
  // writer holds the writer lock anyway (tried only: if a drain or a scan page
  // holds the B-tree, it stays pending).
  if (conditions != nullptr && impl->buffer.batches() <= kInlineDrainBatches) {
    bool held = false;
    Status d = impl->DrainStep(rev, /*try_only=*/true, &held);
    if (!d.ok()) KDI_LOG(WARN, "storage") << "tablet " << dir_ << ": " << d.ToString();
  }
  // Past the limit: this write is acknowledged whatever happens here (it is
  // in the log); a failure of the drain poisons the tablet.
  if (!try_only && impl->buffer.bytes() > impl->options.write_buffer_bytes) {
    // Only a little below the limit: the drainer does the bulk; this is
    // backpressure, spread over the writers that find the buffer full. Other
    // writers go on meanwhile (and a Sync need not wait for this one).
    w.unlock();
    applying.Finish();
    Status d = impl->DrainDownTo(impl->options.write_buffer_bytes / 16 * 15);
    if (d.ok()) {
      // Retire what that applied, too, so the log stays bounded when the
      // drainer falls behind.
      w.lock();
      d = impl->RetireLog(&w);
    }
    if (!d.ok()) KDI_LOG(WARN, "storage") << "tablet " << dir_ << ": " << d.ToString();
  }
  return Status::OK();
}

Status Tablet::GetRowRevision(std::string_view row, uint64_t* revision) {
  Impl* impl = impl_.get();
  std::shared_lock<std::shared_mutex> life(impl->life_mu);
  if (impl->closed) return Status::ServiceUnavailable("tablet " + dir_ + " is closed");
  if (impl->buffer.HasRow(row, revision)) return Status::OK();
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

Tablet::RowCacheCounters Tablet::row_cache_counters() const {
  RowCacheCounters c;
  if (const RowCache* cache = impl_->row_cache.get()) {
    c.hits = cache->hits();
    c.misses = cache->misses();
    c.rows = cache->rows();
    c.bytes = cache->bytes();
  }
  return c;
}

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
  Status s = impl->FlushLocked(&l);
  auto covered = impl->TakeCoveredWaiters();
  l.unlock();
  for (auto& c : covered) c.first(c.second);
  return s;
}

void Tablet::SyncAsync(std::function<void(Status)> done) {
  // Not life_mu: an I/O thread calls this, and Close holds life_mu for long.
  // syncer_stop (set by Close under sync_mu) tells a closing tablet.
  Impl* impl = impl_.get();
  std::unique_lock<std::mutex> l(impl->sync_mu);
  if (impl->syncer_stop) {
    l.unlock();
    return done(Status::ServiceUnavailable("tablet " + dir_ + " is closed"));
  }
  if (!impl->poisoned.ok()) {
    Status p = impl->poisoned;
    l.unlock();
    return done(p);
  }
  if (impl->synced >= impl->commits) {
    l.unlock();
    return done(Status::OK());
  }
  impl->sync_waiters.push_back({impl->commits, std::move(done)});
  if (!impl->syncer_running) {
    if (impl->syncer.joinable()) impl->syncer.join();  // it ended (idle)
    impl->syncer_running = true;
    impl->syncer = std::thread([impl] { impl->SyncerLoop(); });
  } else if (impl->sync_waiters.size() == 1) {
    impl->syncer_cv.notify_one();
  }
}

Status Tablet::Impl::FlushLocked(std::unique_lock<std::mutex>* l) {
  // Everything committed up to now, after waiting (at most kGatherMs) for the
  // writers already inside Apply, so that one flush covers their commits too.
  // Without it, synced single-row writes of 16 threads averaged ~1.4 commits
  // per log flush: each flush started as soon as the previous one ended, with
  // the one or two commits that had landed meanwhile.
  constexpr auto kGatherMs = std::chrono::milliseconds(2);
  flushing = true;
  if (applying > 0) {
    const uint64_t want = commits + applying;
    gathering = true;
    gather_cv.wait_for(*l, kGatherMs, [&] {
      return commits >= want || applying == 0 || !poisoned.ok();
    });
    gathering = false;
  }
  uint64_t covering = commits;
  l->unlock();
  // Every batch acknowledged so far is in the current write-ahead log segment
  // or in an older one that is already durable (WriteLog::Roll syncs it, or
  // RetireLog removes it only once the B-tree's log holding it is flushed).
  Status s = env->CheckFault(FaultPoint::kSyncFlush, dir);
  bool poison = false;
  if (s.ok()) {
    s = wal->Sync();
    poison = !s.ok();
  }
  l->lock();
  flushing = false;
  if (poison && poisoned.ok()) {
    poisoned = s.CloneAndPrepend("log flush failed earlier; reopen the tablet");
  }
  if (s.ok() && covering > synced) synced = covering;
  sync_cv.notify_all();
  return s;
}

std::vector<std::pair<std::function<void(Status)>, Status>>
Tablet::Impl::TakeCoveredWaiters() {
  std::vector<std::pair<std::function<void(Status)>, Status>> out;
  while (!sync_waiters.empty() &&
         (!poisoned.ok() || sync_waiters.front().target <= synced)) {
    out.emplace_back(std::move(sync_waiters.front().done), poisoned);
    sync_waiters.pop_front();
  }
  return out;
}

void Tablet::Impl::SyncerLoop() {
  std::unique_lock<std::mutex> l(sync_mu);
  for (;;) {
    auto covered = TakeCoveredWaiters();
    if (!covered.empty()) {
      l.unlock();
      for (auto& c : covered) c.first(c.second);
      l.lock();
      continue;
    }
    if (sync_waiters.empty()) {
      if (syncer_stop) break;
      syncer_cv.wait_for(l, std::chrono::seconds(1));
      if (sync_waiters.empty() && !syncer_stop) break;  // idle: a new waiter restarts it
      continue;
    }
    if (flushing) {  // a blocking Sync flushes; its result covers or poisons
      sync_cv.wait(l);
      continue;
    }
    Status s = FlushLocked(&l);
    if (!s.ok()) {
      // Every waiter gets the failure (some were not meant to be covered by
      // this flush; "may or may not be durable" is true of them too).
      std::vector<std::function<void(Status)>> failed;
      for (SyncWaiter& w : sync_waiters) failed.push_back(std::move(w.done));
      sync_waiters.clear();
      l.unlock();
      for (auto& f : failed) f(s);
      l.lock();
    }
  }
  syncer_running = false;
}

void Tablet::Impl::StopSyncer() {
  std::thread t;
  {
    std::lock_guard<std::mutex> l(sync_mu);
    syncer_stop = true;
    syncer_cv.notify_all();
    t = std::move(syncer);
  }
  if (t.joinable()) t.join();
}

Status Tablet::Checkpoint() {
  Impl* impl = impl_.get();
  std::shared_lock<std::shared_mutex> life(impl->life_mu);
  if (impl->closed) return Status::ServiceUnavailable("tablet " + dir_ + " is closed");
  std::unique_lock<std::mutex> w(impl->write_mu);
  RETURN_NOT_OK(impl->DrainUpTo(UINT64_MAX));
  RETURN_NOT_OK(impl->CheckpointLocked());
  return impl->RetireLog(&w);
}

Status Tablet::ApproximateSize(uint64_t* bytes) {
  // The B-trees only: pages allocated (from each database's metadata page, so
  // pages still in the cache count too). Log files and the environment are
  // excluded: they are a few MB even for an empty tablet and would make small
  // tablets look big enough to split.
  Impl* impl = impl_.get();
  std::shared_lock<std::shared_mutex> life(impl->life_mu);
  if (impl->closed) return Status::ServiceUnavailable("tablet " + dir_ + " is closed");
  // Acknowledged batches not yet in the B-tree count by their size in memory
  // (applying them here would put a drain into every split check).
  uint64_t total = impl->buffer.bytes();
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
