// Berkeley DB storage of lockd's state (see lock_store.h).
//
// Keys and values (integers big-endian fixedN or varints, lib/util/coding.h):
//
//   key 'n' path          value: varint32 version(=1)  varint64 instance
//                                varint64 content_generation  varint64 lock_generation
//                                fixed32 checksum  varint64 ephemeral_owner
//                                varsint64 ctime_ms  varsint64 mtime_ms
//                                varsint64 lock_delay_until_ms
//   key 'c' path          value: the contents (raw bytes)
//   key 's' fixed64 id    value: varint32 version(=1)  bytes principal  varint32 role
//                                bytes address  varsint64 lease_ms  varsint64 created_ms
//   key 'h' fixed64 id    value: varint32 version(=1)  varint64 session  bytes path
//                                varint64 instance  varint32 mode  varint32 event_mask
//                                varint32 held
//   key 'm' name          value: fixed64 counter ("next_instance", "next_handle")
#include "lockd/lock_store.h"

#include <db.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/util/coding.h"
#include "lib/util/log.h"

namespace kdi::lockd {
namespace {

constexpr uint32_t kRecordVersion = 1;

Status DbError(const std::string& what, int ret) {
  std::string msg = what + ": " + db_strerror(ret);
  if (ret == ENOSPC) return Status::ResourceExhausted(msg);
  if (ret == DB_RUNRECOVERY) return Status::Corruption(msg);
  return Status::IOError(msg);
}

std::string IdKey(char prefix, uint64_t id) {
  std::string k(1, prefix);
  PutFixed64(&k, id);
  return k;
}

DBT MakeDbt(const std::string& s) {
  DBT d;
  std::memset(&d, 0, sizeof(d));
  d.data = const_cast<char*>(s.data());
  d.size = static_cast<u_int32_t>(s.size());
  return d;
}

void ErrCall(const DB_ENV*, const char* prefix, const char* msg) {
  KDI_LOG(WARN, "lockd-store") << (prefix ? prefix : "bdb") << ": " << msg;
}

}  // namespace

void StoreBatch::PutNode(const NodeRecord& node) {
  ops_.push_back({true, "n" + node.path, LockStore::EncodeNode(node)});
}
void StoreBatch::PutContents(const std::string& path, const std::string& contents) {
  ops_.push_back({true, "c" + path, contents});
}
void StoreBatch::DeleteNode(const std::string& path) {
  ops_.push_back({false, "n" + path, std::string()});
  ops_.push_back({false, "c" + path, std::string()});
}
void StoreBatch::PutSession(const SessionRecord& s) {
  ops_.push_back({true, IdKey('s', s.id), LockStore::EncodeSession(s)});
}
void StoreBatch::DeleteSession(uint64_t id) { ops_.push_back({false, IdKey('s', id), ""}); }
void StoreBatch::PutHandle(const HandleRecord& h) {
  ops_.push_back({true, IdKey('h', h.id), LockStore::EncodeHandle(h)});
}
void StoreBatch::DeleteHandle(uint64_t id) { ops_.push_back({false, IdKey('h', id), ""}); }
void StoreBatch::PutCounter(const std::string& name, uint64_t value) {
  std::string v;
  PutFixed64(&v, value);
  ops_.push_back({true, "m" + name, v});
}

std::string LockStore::EncodeNode(const NodeRecord& n) {
  std::string v;
  PutVarint32(&v, kRecordVersion);
  PutVarint64(&v, n.instance);
  PutVarint64(&v, n.content_generation);
  PutVarint64(&v, n.lock_generation);
  PutFixed32(&v, n.checksum);
  PutVarint64(&v, n.ephemeral_owner);
  PutVarsint64(&v, n.ctime_ms);
  PutVarsint64(&v, n.mtime_ms);
  PutVarsint64(&v, n.lock_delay_until_ms);
  return v;
}

Status LockStore::DecodeNode(std::string_view key_path, std::string_view v, NodeRecord* n) {
  Decoder d(v);
  uint32_t version = 0;
  d.GetVarint32(&version);
  if (d.ok() && version != kRecordVersion) {
    return Status::Corruption("node record version " + std::to_string(version));
  }
  n->path = std::string(key_path);
  d.GetVarint64(&n->instance);
  d.GetVarint64(&n->content_generation);
  d.GetVarint64(&n->lock_generation);
  d.GetFixed32(&n->checksum);
  d.GetVarint64(&n->ephemeral_owner);
  d.GetVarsint64(&n->ctime_ms);
  d.GetVarsint64(&n->mtime_ms);
  d.GetVarsint64(&n->lock_delay_until_ms);
  Status s = d.status("node record");
  return s.ok() ? s : Status::Corruption(s.message());
}

std::string LockStore::EncodeSession(const SessionRecord& s) {
  std::string v;
  PutVarint32(&v, kRecordVersion);
  PutLengthPrefixed(&v, s.principal);
  PutVarint32(&v, s.role);
  PutLengthPrefixed(&v, s.address);
  PutVarsint64(&v, s.lease_ms);
  PutVarsint64(&v, s.created_ms);
  return v;
}

Status LockStore::DecodeSession(std::string_view v, SessionRecord* s) {
  Decoder d(v);
  uint32_t version = 0;
  d.GetVarint32(&version);
  if (d.ok() && version != kRecordVersion) {
    return Status::Corruption("session record version " + std::to_string(version));
  }
  d.GetLengthPrefixed(&s->principal, 4096);
  d.GetVarint32(&s->role);
  d.GetLengthPrefixed(&s->address, 4096);
  d.GetVarsint64(&s->lease_ms);
  d.GetVarsint64(&s->created_ms);
  Status st = d.status("session record");
  return st.ok() ? st : Status::Corruption(st.message());
}

std::string LockStore::EncodeHandle(const HandleRecord& h) {
  std::string v;
  PutVarint32(&v, kRecordVersion);
  PutVarint64(&v, h.session);
  PutLengthPrefixed(&v, h.path);
  PutVarint64(&v, h.instance);
  PutVarint32(&v, h.mode);
  PutVarint32(&v, h.event_mask);
  PutVarint32(&v, h.held);
  return v;
}

Status LockStore::DecodeHandle(std::string_view v, HandleRecord* h) {
  Decoder d(v);
  uint32_t version = 0;
  d.GetVarint32(&version);
  if (d.ok() && version != kRecordVersion) {
    return Status::Corruption("handle record version " + std::to_string(version));
  }
  d.GetVarint64(&h->session);
  d.GetLengthPrefixed(&h->path, 4096);
  d.GetVarint64(&h->instance);
  d.GetVarint32(&h->mode);
  d.GetVarint32(&h->event_mask);
  d.GetVarint32(&h->held);
  Status st = d.status("handle record");
  return st.ok() ? st : Status::Corruption(st.message());
}

Status LockStore::Open(const StoreOptions& opts, std::unique_ptr<LockStore>* out) {
  std::unique_ptr<LockStore> store(new LockStore);
  store->opts_ = opts;
  if (mkdir(opts.dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoToStatus("creating data directory " + opts.dir, errno);
  }
  std::string lock_path = opts.dir + "/LOCK";
  store->lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (store->lock_fd_ < 0) return ErrnoToStatus(lock_path, errno);
  if (flock(store->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::ServiceUnavailable("data directory " + opts.dir +
                                        " is in use by another lockd");
    }
    return ErrnoToStatus("locking " + lock_path, errno);
  }

  int ret = db_env_create(&store->env_, 0);
  if (ret != 0) return DbError("db_env_create", ret);
  DB_ENV* env = store->env_;
  env->set_errcall(env, ErrCall);
  env->set_cachesize(env, 0, opts.cache_bytes, 1);
  env->set_lg_bsize(env, 2u << 20);
  env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1);
  ret = env->open(env, opts.dir.c_str(),
                  DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL |
                      DB_RECOVER | DB_THREAD | DB_PRIVATE,
                  0600);
  if (ret != 0) return DbError("opening environment " + opts.dir, ret);

  ret = db_create(&store->db_, env, 0);
  if (ret != 0) return DbError("db_create", ret);
  ret = store->db_->open(store->db_, nullptr, "lockd.db", nullptr, DB_BTREE,
                         DB_CREATE | DB_AUTO_COMMIT | DB_THREAD, 0600);
  if (ret != 0) return DbError("opening " + opts.dir + "/lockd.db", ret);
  *out = std::move(store);
  return Status::OK();
}

LockStore::~LockStore() {
  if (db_ != nullptr) db_->close(db_, 0);
  if (env_ != nullptr) {
    env_->txn_checkpoint(env_, 0, 0, 0);
    env_->close(env_, 0);
  }
  if (lock_fd_ >= 0) close(lock_fd_);
}

Status LockStore::Load(StoreSnapshot* snap) {
  *snap = StoreSnapshot();
  DBC* cursor = nullptr;
  int ret = db_->cursor(db_, nullptr, &cursor, 0);
  if (ret != 0) return DbError("opening cursor", ret);
  DBT key, val;
  std::memset(&key, 0, sizeof(key));
  std::memset(&val, 0, sizeof(val));
  key.flags = DB_DBT_REALLOC;
  val.flags = DB_DBT_REALLOC;
  Status s;
  // Contents come in their own records; join them to the nodes afterwards.
  std::vector<std::pair<std::string, std::string>> contents;
  while (s.ok() && (ret = cursor->get(cursor, &key, &val, DB_NEXT)) == 0) {
    std::string_view k(static_cast<const char*>(key.data), key.size);
    std::string_view v(static_cast<const char*>(val.data), val.size);
    if (k.empty()) {
      s = Status::Corruption("empty key in lockd.db");
      break;
    }
    std::string_view rest = k.substr(1);
    switch (k[0]) {
      case 'n': {
        NodeRecord n;
        s = DecodeNode(rest, v, &n);
        if (s.ok()) snap->nodes.emplace_back(std::move(n), std::string());
        break;
      }
      case 'c':
        contents.emplace_back(std::string(rest), std::string(v));
        break;
      case 's': {
        SessionRecord r;
        if (rest.size() != 8) {
          s = Status::Corruption("bad session key");
          break;
        }
        r.id = DecodeFixed64(rest.data());
        s = DecodeSession(v, &r);
        if (s.ok()) snap->sessions.push_back(std::move(r));
        break;
      }
      case 'h': {
        HandleRecord r;
        if (rest.size() != 8) {
          s = Status::Corruption("bad handle key");
          break;
        }
        r.id = DecodeFixed64(rest.data());
        s = DecodeHandle(v, &r);
        if (s.ok()) snap->handles.push_back(std::move(r));
        break;
      }
      case 'm': {
        if (v.size() != 8) {
          s = Status::Corruption("bad counter value");
          break;
        }
        uint64_t value = DecodeFixed64(v.data());
        if (rest == "next_instance") snap->next_instance = value;
        if (rest == "next_handle") snap->next_handle = value;
        break;
      }
      default:
        s = Status::Corruption("unknown key prefix in lockd.db");
    }
  }
  if (s.ok() && ret != DB_NOTFOUND && ret != 0) s = DbError("reading lockd.db", ret);
  cursor->close(cursor);
  free(key.data);
  free(val.data);
  RETURN_NOT_OK(s);
  // Both lists are in path order (the B-tree sorts 'c' keys and 'n' keys alike).
  size_t j = 0;
  for (auto& [node, data] : snap->nodes) {
    while (j < contents.size() && contents[j].first < node.path) ++j;
    if (j < contents.size() && contents[j].first == node.path) data = std::move(contents[j].second);
  }
  return Status::OK();
}

Status LockStore::Commit(const StoreBatch& batch) {
  if (batch.empty()) return Status::OK();
  DB_TXN* txn = nullptr;
  int ret = env_->txn_begin(env_, nullptr, &txn, 0);
  if (ret != 0) return DbError("txn_begin", ret);
  for (const StoreBatch::Op& op : batch.ops()) {
    DBT key = MakeDbt(op.key);
    if (op.put) {
      DBT val = MakeDbt(op.value);
      ret = db_->put(db_, txn, &key, &val, 0);
    } else {
      ret = db_->del(db_, txn, &key, 0);
      if (ret == DB_NOTFOUND) ret = 0;
    }
    if (ret != 0) {
      txn->abort(txn);
      return DbError("writing lockd.db", ret);
    }
  }
  ret = txn->commit(txn, DB_TXN_NOSYNC);
  if (ret != 0) return DbError("committing", ret);
  return Status::OK();
}

Status LockStore::Sync() {
  if (!opts_.sync) return Status::OK();
  int ret = env_->log_flush(env_, nullptr);
  if (ret != 0) return DbError("flushing the log", ret);
  return Status::OK();
}

Status LockStore::Checkpoint() {
  int ret = env_->txn_checkpoint(env_, 0, 0, 0);
  if (ret != 0) return DbError("checkpoint", ret);
  return Status::OK();
}

}  // namespace kdi::lockd
