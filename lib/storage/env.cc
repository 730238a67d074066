// PosixEnv (the production Env) and FaultInjectionEnv.
#include "lib/storage/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <db.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

namespace kdi::storage {

const char* FaultPointName(FaultPoint point) {
  switch (point) {
    case FaultPoint::kApplyCommit: return "apply-commit";
    case FaultPoint::kSyncFlush: return "sync-flush";
    case FaultPoint::kSplitCopy: return "split-copy";
    case FaultPoint::kSplitPublish: return "split-publish";
    case FaultPoint::kMetaWrite: return "meta-write";
  }
  return "unknown";
}

namespace {

class PosixFileLock : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override {
    flock(fd_, LOCK_UN);
    close(fd_);
  }

 private:
  int fd_;
};

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus("write " + path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

class PosixEnv : public Env {
 public:
  Status CreateDir(const std::string& path) override {
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoToStatus("mkdir " + path, errno);
    }
    return Status::OK();
  }

  Status RemoveTree(const std::string& path) override {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) return ErrnoToStatus("remove " + path, ec.value());
    return Status::OK();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoToStatus("rename " + from + " to " + to, errno);
    }
    return Status::OK();
  }

  bool Exists(const std::string& path) override {
    struct stat st;
    return stat(path.c_str(), &st) == 0;
  }

  Status ListDir(const std::string& path, std::vector<std::string>* names) override {
    DIR* d = opendir(path.c_str());
    if (d == nullptr) return ErrnoToStatus("opendir " + path, errno);
    names->clear();
    while (struct dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names->push_back(n);
    }
    closedir(d);
    return Status::OK();
  }

  Status GetSize(const std::string& path, uint64_t* bytes) override {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return ErrnoToStatus("stat " + path, errno);
    if (!S_ISDIR(st.st_mode)) {
      *bytes = static_cast<uint64_t>(st.st_size);
      return Status::OK();
    }
    std::vector<std::string> names;
    RETURN_NOT_OK(ListDir(path, &names));
    uint64_t total = 0;
    for (const std::string& n : names) {
      struct stat fst;
      if (stat((path + "/" + n).c_str(), &fst) == 0 && S_ISREG(fst.st_mode)) {
        total += static_cast<uint64_t>(fst.st_size);
      }
    }
    *bytes = total;
    return Status::OK();
  }

  Status WriteFileAtomic(const std::string& path, std::string_view data) override {
    std::string tmp = path + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoToStatus("open " + tmp, errno);
    Status s = WriteAll(fd, data, tmp);
    if (s.ok() && fsync(fd) != 0) s = ErrnoToStatus("fsync " + tmp, errno);
    close(fd);
    if (s.ok()) s = Rename(tmp, path);
    if (s.ok()) s = SyncPath(DirName(path));
    if (!s.ok()) unlink(tmp.c_str());
    return s;
  }

  Status ReadFile(const std::string& path, size_t max_bytes, std::string* data) override {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoToStatus("open " + path, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
      int e = errno;
      close(fd);
      return ErrnoToStatus("stat " + path, e);
    }
    if (static_cast<uint64_t>(st.st_size) > max_bytes) {
      close(fd);
      return Status::InvalidArgument(path + ": file larger than " + std::to_string(max_bytes) +
                                     " bytes");
    }
    data->resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < data->size()) {
      ssize_t n = read(fd, &(*data)[got], data->size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int e = errno;
        close(fd);
        return ErrnoToStatus("read " + path, e);
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    data->resize(got);
    close(fd);
    return Status::OK();
  }

  Status SyncPath(const std::string& path) override {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoToStatus("open " + path, errno);
    Status s;
    if (fsync(fd) != 0) s = ErrnoToStatus("fsync " + path, errno);
    close(fd);
    return s;
  }

  Status LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) override {
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoToStatus("open " + path, errno);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int e = errno;
      close(fd);
      if (e == EWOULDBLOCK) return Status::ServiceUnavailable(path + " is locked by another user");
      return ErrnoToStatus("flock " + path, e);
    }
    lock->reset(new PosixFileLock(fd));
    return Status::OK();
  }
};

}  // namespace

Env* Env::Default() {
  static PosixEnv* env = new PosixEnv;
  return env;
}

struct FaultInjectionEnv::State {
  mutable std::mutex mu;
  struct Rule {
    Status error;
    int remaining = 0;  // < 0: forever
  };
  std::map<FaultPoint, Rule> rules;
  std::map<FaultPoint, int> hits;
  Status file_error;
};

FaultInjectionEnv::FaultInjectionEnv(Env* target) : target_(target), state_(new State) {}
FaultInjectionEnv::~FaultInjectionEnv() = default;

void FaultInjectionEnv::FailAt(FaultPoint point, Status error, int count) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->rules[point] = State::Rule{std::move(error), count};
}

void FaultInjectionEnv::FailFileOps(Status error) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->file_error = std::move(error);
}

void FaultInjectionEnv::ClearFaults() {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->rules.clear();
  state_->file_error = Status::OK();
}

int FaultInjectionEnv::hits(FaultPoint point) const {
  std::lock_guard<std::mutex> l(state_->mu);
  auto it = state_->hits.find(point);
  return it == state_->hits.end() ? 0 : it->second;
}

Status FaultInjectionEnv::FileFault() {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->file_error;
}

Status FaultInjectionEnv::CheckFault(FaultPoint point, const std::string& where) {
  {
    std::lock_guard<std::mutex> l(state_->mu);
    state_->hits[point]++;
    auto it = state_->rules.find(point);
    if (it != state_->rules.end() && it->second.remaining != 0) {
      if (it->second.remaining > 0) it->second.remaining--;
      return it->second.error.CloneAndPrepend(std::string("injected at ") +
                                              FaultPointName(point) + " in " + where);
    }
  }
  return target_->CheckFault(point, where);
}

Status FaultInjectionEnv::CreateDir(const std::string& path) {
  RETURN_NOT_OK(FileFault());
  return target_->CreateDir(path);
}
Status FaultInjectionEnv::RemoveTree(const std::string& path) {
  RETURN_NOT_OK(FileFault());
  return target_->RemoveTree(path);
}
Status FaultInjectionEnv::Rename(const std::string& from, const std::string& to) {
  RETURN_NOT_OK(FileFault());
  return target_->Rename(from, to);
}
bool FaultInjectionEnv::Exists(const std::string& path) { return target_->Exists(path); }
Status FaultInjectionEnv::ListDir(const std::string& path, std::vector<std::string>* names) {
  RETURN_NOT_OK(FileFault());
  return target_->ListDir(path, names);
}
Status FaultInjectionEnv::GetSize(const std::string& path, uint64_t* bytes) {
  RETURN_NOT_OK(FileFault());
  return target_->GetSize(path, bytes);
}
Status FaultInjectionEnv::WriteFileAtomic(const std::string& path, std::string_view data) {
  RETURN_NOT_OK(FileFault());
  return target_->WriteFileAtomic(path, data);
}
Status FaultInjectionEnv::ReadFile(const std::string& path, size_t max_bytes, std::string* data) {
  RETURN_NOT_OK(FileFault());
  return target_->ReadFile(path, max_bytes, data);
}
Status FaultInjectionEnv::SyncPath(const std::string& path) {
  RETURN_NOT_OK(FileFault());
  return target_->SyncPath(path);
}
Status FaultInjectionEnv::LockFile(const std::string& path, std::unique_ptr<FileLock>* lock) {
  RETURN_NOT_OK(FileFault());
  return target_->LockFile(path, lock);
}

namespace {

struct BdbFault {
  std::atomic<int> err{0};
  std::atomic<int> count{0};  // < 0: forever
};
BdbFault g_bdb_faults[2];

bool TakeFault(BdbIoOp op) {
  BdbFault& f = g_bdb_faults[static_cast<int>(op)];
  int c = f.count.load();
  while (c != 0) {
    if (c < 0) return true;
    if (f.count.compare_exchange_weak(c, c - 1)) return true;
  }
  return false;
}

// Path-limited rules (SetBdbIoFaultRules).
std::atomic<bool> g_have_rules{false};
std::mutex g_rules_mu;
std::vector<BdbIoFaultRule>* g_rules = new std::vector<BdbIoFaultRule>;  // GUARDED_BY(g_rules_mu)

// The errno of the first rule matching fd's file, 0 if none.
int RuleFault(BdbIoOp op, int fd) {
  if (!g_have_rules.load(std::memory_order_relaxed)) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof(path) - 1);
  if (n <= 0) return 0;
  std::string_view p(path, static_cast<size_t>(n));
  std::lock_guard<std::mutex> l(g_rules_mu);
  for (BdbIoFaultRule& r : *g_rules) {
    if (r.op != op || r.count == 0 || p.find(r.path_substring) == std::string_view::npos) {
      continue;
    }
    if (r.count > 0) r.count--;
    return r.err;
  }
  return 0;
}

// The errno to fail this operation with, 0: do it.
int FaultFor(BdbIoOp op, int fd) {
  if (TakeFault(op)) return g_bdb_faults[static_cast<int>(op)].err.load();
  return RuleFault(op, fd);
}

ssize_t HookWrite(int fd, const void* buf, size_t n) {
  if (int e = FaultFor(BdbIoOp::kWrite, fd)) {
    errno = e;
    return -1;
  }
  return write(fd, buf, n);
}

ssize_t HookPwrite(int fd, const void* buf, size_t n, off_t off) {
  if (int e = FaultFor(BdbIoOp::kWrite, fd)) {
    errno = e;
    return -1;
  }
  return pwrite(fd, buf, n, off);
}

// Berkeley DB takes a non-zero return of its fsync hook as the error number.
int HookFsync(int fd) {
  if (int e = FaultFor(BdbIoOp::kSync, fd)) {
    errno = e;
    return e;
  }
  return fdatasync(fd) == 0 ? 0 : errno;
}

}  // namespace

int IoFaultFor(BdbIoOp op, int fd) { return FaultFor(op, fd); }

void InstallBdbIoFaultHooks() {
  static std::once_flag once;
  std::call_once(once, [] {
    db_env_set_func_write(HookWrite);
    db_env_set_func_pwrite(HookPwrite);
    db_env_set_func_fsync(HookFsync);
  });
}

void ArmBdbIoFault(BdbIoOp op, int err, int count) {
  BdbFault& f = g_bdb_faults[static_cast<int>(op)];
  f.err = err;
  f.count = count;
}

void DisarmBdbIoFaults() {
  for (BdbFault& f : g_bdb_faults) f.count = 0;
}

void SetBdbIoFaultRules(std::vector<BdbIoFaultRule> rules) {
  std::lock_guard<std::mutex> l(g_rules_mu);
  *g_rules = std::move(rules);
  g_have_rules = !g_rules->empty();
}

Status ParseBdbIoFaultRule(std::string_view line, BdbIoFaultRule* rule) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) i++;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') j++;
    if (j > i) words.emplace_back(line.substr(i, j - i));
    i = j;
  }
  if (words.size() < 3 || words.size() > 4) {
    return Status::InvalidArgument("fault rule \"" + std::string(line) +
                                   "\": want \"write|sync ERRNO PATH-SUBSTRING [COUNT]\"");
  }
  BdbIoFaultRule r;
  if (words[0] == "write") {
    r.op = BdbIoOp::kWrite;
  } else if (words[0] == "sync") {
    r.op = BdbIoOp::kSync;
  } else {
    return Status::InvalidArgument("fault rule: unknown operation \"" + words[0] +
                                   "\" (want write or sync)");
  }
  static const std::pair<const char*, int> kNames[] = {
      {"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS}};
  r.err = 0;
  for (const auto& [name, value] : kNames) {
    if (words[1] == name) r.err = value;
  }
  if (r.err == 0) {
    char* end = nullptr;
    long v = strtol(words[1].c_str(), &end, 10);
    if (end == words[1].c_str() || *end != '\0' || v <= 0 || v > 4095) {
      return Status::InvalidArgument("fault rule: bad errno \"" + words[1] +
                                     "\" (want EIO, ENOSPC, EDQUOT, EROFS or a number)");
    }
    r.err = static_cast<int>(v);
  }
  r.path_substring = words[2];
  if (words.size() == 4) {
    char* end = nullptr;
    long v = strtol(words[3].c_str(), &end, 10);
    if (end == words[3].c_str() || *end != '\0' || v == 0 || v < -1 || v > 1000000000) {
      return Status::InvalidArgument("fault rule: bad count \"" + words[3] +
                                     "\" (want a positive number or -1)");
    }
    r.count = static_cast<int>(v);
  }
  *rule = std::move(r);
  return Status::OK();
}

}  // namespace kdi::storage
