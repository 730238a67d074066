// LockStore: lockd's durable state in a transactional Berkeley DB environment.
//
// One environment in the data directory holds one B-tree ("lockd.db") whose keys
// carry a one-byte prefix (byte grammar in lock_store.cc):
//   'n' path -> node metadata      'c' path -> node contents
//   's' id   -> session            'h' id   -> handle
//   'm' name -> counter
// lockd keeps everything in memory as well (lock_state.h); the store is read
// once at start (Load) and then only written, one Batch per state change.
//
// Commit policy (group commit): Commit() writes a batch in its own transaction
// committed with DB_TXN_NOSYNC, under the caller's state lock, so it costs no
// disk wait; Sync() then flushes the log up to everything committed so far and
// fsyncs it, outside the state lock. lockd calls Sync() before it answers any
// request, so an acknowledged change is on disk, and concurrent requests share
// one fsync. Opening runs normal recovery (DB_RECOVER), which after kill -9
// restores every transaction whose log records were flushed.
//
// The data directory is locked (flock on DIR/LOCK) so that two lockds never
// share it.
//
// Threading: Commit() calls must be serialized by the caller; Sync() and
// Checkpoint() may run concurrently with Commit() and each other.
#ifndef KDI_LOCKD_LOCK_STORE_H_
#define KDI_LOCKD_LOCK_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kdi/status.h"

struct __db_env;
struct __db;

namespace kdi::lockd {

struct NodeRecord {
  std::string path;
  uint64_t instance = 0;
  uint64_t content_generation = 0;
  uint64_t lock_generation = 0;
  uint32_t checksum = 0;
  uint64_t ephemeral_owner = 0;  // session id, 0 = persistent
  int64_t ctime_ms = 0;          // wall clock
  int64_t mtime_ms = 0;
  int64_t lock_delay_until_ms = 0;  // wall clock; 0 = none
};

struct SessionRecord {
  uint64_t id = 0;
  std::string principal;
  uint32_t role = 0;  // rpc::Role
  std::string address;
  int64_t lease_ms = 0;
  int64_t created_ms = 0;
};

struct HandleRecord {
  uint64_t id = 0;
  uint64_t session = 0;
  std::string path;
  uint64_t instance = 0;
  uint32_t mode = 0;        // lock::OpenMode bits
  uint32_t event_mask = 0;  // lock::EventBit bits
  uint32_t held = 0;        // lock::LockMode held through this handle
};

struct StoreSnapshot {
  std::vector<std::pair<NodeRecord, std::string>> nodes;  // with contents
  std::vector<SessionRecord> sessions;
  std::vector<HandleRecord> handles;
  uint64_t next_instance = 1;
  uint64_t next_handle = 1;
};

// The changes of one state transition, applied atomically by Commit().
class StoreBatch {
 public:
  void PutNode(const NodeRecord& node);
  void PutContents(const std::string& path, const std::string& contents);
  void DeleteNode(const std::string& path);  // metadata and contents
  void PutSession(const SessionRecord& session);
  void DeleteSession(uint64_t id);
  void PutHandle(const HandleRecord& handle);
  void DeleteHandle(uint64_t id);
  void PutCounter(const std::string& name, uint64_t value);

  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }
  void Clear() { ops_.clear(); }

  struct Op {
    bool put;
    std::string key;
    std::string value;
  };
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
};

struct StoreOptions {
  std::string dir;
  // false: Sync() does nothing (unit tests; never in lockd).
  bool sync = true;
  uint32_t cache_bytes = 16u << 20;
};

class LockStore {
 public:
  static Status Open(const StoreOptions& opts, std::unique_ptr<LockStore>* out);
  ~LockStore();

  Status Load(StoreSnapshot* snap);
  Status Commit(const StoreBatch& batch);
  // Makes every committed batch durable (fsync of the log); concurrent callers
  // share flushes.
  Status Sync();
  Status Checkpoint();

  // Record codecs (exposed for tests and the fuzz target).
  static std::string EncodeNode(const NodeRecord& n);
  static Status DecodeNode(std::string_view key_path, std::string_view v, NodeRecord* n);
  static std::string EncodeSession(const SessionRecord& s);
  static Status DecodeSession(std::string_view v, SessionRecord* s);
  static std::string EncodeHandle(const HandleRecord& h);
  static Status DecodeHandle(std::string_view v, HandleRecord* h);

  LockStore(const LockStore&) = delete;
  LockStore& operator=(const LockStore&) = delete;

 private:
  LockStore() = default;
  StoreOptions opts_;
  int lock_fd_ = -1;
  __db_env* env_ = nullptr;
  __db* db_ = nullptr;
};

}  // namespace kdi::lockd

#endif  // KDI_LOCKD_LOCK_STORE_H_
