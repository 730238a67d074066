// Env: the one seam through which the storage code touches the file system, so
// that tests can inject I/O errors and full disks (leveldb's Env).
//
// The storage code (Tablet, split, metadata) uses only Env for its own files.
// Berkeley DB does its own I/O inside the tablet directory; to let tests fail that
// too, Tablet calls CheckFault() at its named fault points (before a commit,
// before a log flush, ...): production Env returns OK at no cost.
//
// Env::Default() is a process-wide PosixEnv; Envs are thread-safe.
#ifndef KDI_LIB_STORAGE_ENV_H_
#define KDI_LIB_STORAGE_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/status.h"

namespace kdi::storage {

// Places in the tablet code where a fault may be injected.
enum class FaultPoint {
  kApplyCommit,   // after a mutation batch is written into its txn, before commit
  kSyncFlush,     // before the log is flushed to stable storage
  kSplitCopy,     // while copying cells into split children
  kSplitPublish,  // before the split children are renamed into place
  kMetaWrite,     // before tablet metadata is written
};
const char* FaultPointName(FaultPoint point);

// An exclusive advisory lock on a file, released on destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;
  static Env* Default();

  virtual Status CreateDir(const std::string& path) = 0;  // parents must exist; OK if exists
  virtual Status RemoveTree(const std::string& path) = 0;  // OK if missing
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual bool Exists(const std::string& path) = 0;
  virtual Status ListDir(const std::string& path, std::vector<std::string>* names) = 0;
  // Size of a file, or the total of the regular files directly in a directory.
  virtual Status GetSize(const std::string& path, uint64_t* bytes) = 0;
  // Writes data to path durably and atomically: temp file, fsync, rename, fsync dir.
  virtual Status WriteFileAtomic(const std::string& path, std::string_view data) = 0;
  // Reads a whole file; InvalidArgument if it is larger than max_bytes.
  virtual Status ReadFile(const std::string& path, size_t max_bytes, std::string* data) = 0;
  // fsync of a file or directory.
  virtual Status SyncPath(const std::string& path) = 0;
  // Takes an exclusive lock on path (created if missing); ServiceUnavailable if
  // someone else (another process or handle) holds it.
  virtual Status LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) = 0;

  // Fault hook; `where` is the tablet directory. Default: OK.
  virtual Status CheckFault(FaultPoint point, const std::string& where) { return Status::OK(); }
};

// Berkeley DB I/O fault hooks (tests only). Berkeley DB's replaceable system
// calls (db_env_set_func_write/pwrite/fsync) are process-wide, so these are too:
// once installed, every Berkeley DB environment in the process writes and syncs
// through them; while armed, the next `count` writes/syncs (count < 0: all) fail
// with errno `err` (e.g. ENOSPC, EIO). Disarmed they forward to the system call.
// Install before opening environments; installing twice is harmless.
enum class BdbIoOp { kWrite, kSync };
void InstallBdbIoFaultHooks();
void ArmBdbIoFault(BdbIoOp op, int err, int count);
void DisarmBdbIoFaults();
// The errno an armed fault or rule gives a write or sync of fd, 0 if none: the
// tablet's own write-ahead log (write_log.h) goes through the same faults as
// Berkeley DB's files. Costs one atomic load when nothing is armed.
int IoFaultFor(BdbIoOp op, int fd);

// Faults limited to some files, e.g. one tablet of a running tabletd (see
// tabletd/fault_control.h): a write or sync of a file whose path (as
// /proc/self/fd names it) contains path_substring fails with errno `err`;
// count hits, count < 0: all. Replaces the previous rule set (empty: none).
// Resolving a descriptor's path costs a readlink per Berkeley DB write, so
// this is for tests; with no rules the hooks cost one atomic load.
struct BdbIoFaultRule {
  BdbIoOp op = BdbIoOp::kWrite;
  int err = 0;
  int count = -1;
  std::string path_substring;
};
void SetBdbIoFaultRules(std::vector<BdbIoFaultRule> rules);
// Parses "write|sync ERRNO PATH-SUBSTRING [COUNT]" (ERRNO: EIO, ENOSPC,
// EDQUOT, EROFS or a number). InvalidArgument naming the bad word.
Status ParseBdbIoFaultRule(std::string_view line, BdbIoFaultRule* rule);

// Forwards everything to a target Env and fails chosen operations on demand.
// Thread-safe.
class FaultInjectionEnv : public Env {
 public:
  explicit FaultInjectionEnv(Env* target = Env::Default());
  ~FaultInjectionEnv() override;

  // The next `count` hits of `point` (any tablet) return `error`; count < 0: all.
  void FailAt(FaultPoint point, Status error, int count = 1);
  // Every file operation (not fault points) returns `error` until cleared.
  void FailFileOps(Status error);
  void ClearFaults();
  // Hits of `point` so far (failed or not).
  int hits(FaultPoint point) const;

  Status CreateDir(const std::string& path) override;
  Status RemoveTree(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  bool Exists(const std::string& path) override;
  Status ListDir(const std::string& path, std::vector<std::string>* names) override;
  Status GetSize(const std::string& path, uint64_t* bytes) override;
  Status WriteFileAtomic(const std::string& path, std::string_view data) override;
  Status ReadFile(const std::string& path, size_t max_bytes, std::string* data) override;
  Status SyncPath(const std::string& path) override;
  Status LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) override;
  Status CheckFault(FaultPoint point, const std::string& where) override;

 private:
  struct State;
  Status FileFault();
  Env* target_;
  std::unique_ptr<State> state_;
};

}  // namespace kdi::storage

#endif  // KDI_LIB_STORAGE_ENV_H_
