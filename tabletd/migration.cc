// MigrationService: copying a tablet between separate data roots. See
// migration.h for the protocol.
#include "tabletd/migration.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <set>
#include <utility>
#include <vector>

#include "lib/client/tablet_client.h"
#include "lib/storage/tablet.h"
#include "lib/util/coding.h"
#include "lib/util/log.h"
#include "tabletd/orphan_collector.h"

namespace kdi::tabletd {
namespace {

constexpr uint32_t kCrcChunk = 256 * 1024;
constexpr uint32_t kCopyChunk = 1024 * 1024;
constexpr char kIncomingSuffix[] = ".incoming";

int64_t MonoMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Regular files directly in dir (the storage's LOCK file excluded: it is a
// per-process lock, recreated by whoever opens the tablet; and the PENDING
// marker: it belongs to the directory's owner, see orphan_collector.h).
Status ListFiles(const std::string& dir, std::vector<std::string>* names) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return ErrnoToStatus(dir, errno);
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (!client::IsPlainFileName(name) || name == "LOCK" || name == kPendingMarkerFile) continue;
    struct stat st;
    if (stat((dir + "/" + name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      names->push_back(name);
    }
  }
  closedir(d);
  return Status::OK();
}

Status ReadAt(int fd, const std::string& path, uint64_t offset, size_t len, std::string* out) {
  out->resize(len);
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, &(*out)[done], len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(path, errno);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out->resize(done);
  return Status::OK();
}

Status WriteAt(int fd, const std::string& path, uint64_t offset, std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = pwrite(fd, data.data() + done, data.size() - done,
                       static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Status ChunkCrcs(const std::string& path, uint32_t chunk, uint64_t* size,
                 std::vector<uint32_t>* crcs) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoToStatus(path, errno);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoToStatus(path, errno);
  *size = static_cast<uint64_t>(st.st_size);
  crcs->clear();
  if (chunk == 0) return Status::OK();
  std::string buf;
  for (uint64_t off = 0; off < *size; off += chunk) {
    RETURN_NOT_OK(ReadAt(fd.get(), path, off, chunk, &buf));
    crcs->push_back(static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(buf.data()), static_cast<uInt>(buf.size()))));
  }
  return Status::OK();
}

Status SyncDir(const std::string& dir) {
  Fd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoToStatus(dir, errno);
  if (fsync(fd.get()) != 0) return ErrnoToStatus(dir, errno);
  return Status::OK();
}

Status RemoveTreeSimple(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return errno == ENOENT ? Status::OK() : ErrnoToStatus(dir, errno);
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  for (const std::string& n : names) {
    std::string p = dir + "/" + n;
    struct stat st;
    if (lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      RETURN_NOT_OK(RemoveTreeSimple(p));
    } else if (unlink(p.c_str()) != 0 && errno != ENOENT) {
      return ErrnoToStatus(p, errno);
    }
  }
  if (rmdir(dir.c_str()) != 0 && errno != ENOENT) return ErrnoToStatus(dir, errno);
  return Status::OK();
}

Status MakeParents(const std::string& path) {
  for (size_t pos = 1; (pos = path.find('/', pos)) != std::string::npos; pos++) {
    std::string p = path.substr(0, pos);
    if (mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoToStatus(p, errno);
  }
  return Status::OK();
}

}  // namespace

void MigrationService::Register(rpc::Server* server) {
  using std::placeholders::_1;
  using std::placeholders::_2;
  const rpc::RoleSet servers({rpc::Role::kServer});
  auto reg = [&](uint16_t type, void (MigrationService::*fn)(std::string, rpc::ResponderPtr)) {
    server->Register(type, std::bind(fn, this, _1, _2), rpc::Dispatch::kWorker, servers);
  };
  reg(client::kMsgListTabletFiles, &MigrationService::HandleListFiles);
  reg(client::kMsgReadTabletChunk, &MigrationService::HandleReadChunk);
  reg(client::kMsgPrepareTake, &MigrationService::HandlePrepareTake);
  reg(client::kMsgFinishTake, &MigrationService::HandleFinishTake);
}

Status MigrationService::ExportedDir(const client::TabletRef& ref, std::string* dir) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = exporting_.find(ref);
  if (it == exporting_.end()) {
    return Status::NotServing("tablet " + ref.ToString() + " is not being migrated out of " +
                              fencing_->address());
  }
  *dir = it->second;
  return Status::OK();
}

void MigrationService::HandleListFiles(std::string body, rpc::ResponderPtr r) {
  client::ListTabletFilesRequest req;
  Status s = client::DecodeListTabletFilesRequest(body, &req);
  std::string dir;
  if (s.ok()) s = ExportedDir(req.tablet, &dir);
  std::vector<std::string> names;
  if (s.ok()) s = ListFiles(dir, &names);
  if (!s.ok()) return r->Reply(s);
  client::ListTabletFilesReply reply;
  for (const std::string& n : names) {
    client::TabletFileInfo f;
    f.name = n;
    s = ChunkCrcs(dir + "/" + n, req.chunk_bytes, &f.size, &f.chunk_crcs);
    if (s.IsNotFound()) continue;  // a log file removed meanwhile
    if (!s.ok()) return r->Reply(s);
    reply.files.push_back(std::move(f));
  }
  std::string out;
  client::EncodeListTabletFilesReply(reply, &out);
  r->Reply(Status::OK(), std::move(out));
}

void MigrationService::HandleReadChunk(std::string body, rpc::ResponderPtr r) {
  client::ReadTabletChunkRequest req;
  Status s = client::DecodeReadTabletChunkRequest(body, &req);
  std::string dir;
  if (s.ok()) s = ExportedDir(req.tablet, &dir);
  if (!s.ok()) return r->Reply(s);
  const std::string path = dir + "/" + req.name;
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return r->Reply(ErrnoToStatus(path, errno));
  std::string data;
  s = ReadAt(fd.get(), path, req.offset, req.length, &data);
  if (!s.ok()) return r->Reply(s);
  std::string out;
  PutLengthPrefixed(&out, data);
  r->Reply(Status::OK(), std::move(out));
}

Status MigrationService::CopyFrom(const client::CopyTabletRequest& req, bool delta,
                                  uint64_t* bytes) {
  const client::TabletRef& ref = req.load.desc.tablet;
  RETURN_NOT_OK(client::CheckTabletRef(ref));
  client::TabletStatusInfo info;
  if (registry_->GetStatus(ref, &info).ok()) {
    return Status::Conflict("tablet " + ref.ToString() + " is already served by " +
                            fencing_->address());
  }
  std::string abs;
  RETURN_NOT_OK(registry_->AbsoluteDir(req.load.desc.dir, &abs));
  const std::string staging = abs + kIncomingSuffix;
  if (!delta) {
    RETURN_NOT_OK(RemoveTreeSimple(staging));
    RETURN_NOT_OK(MakeParents(staging));
    if (mkdir(staging.c_str(), 0755) != 0) return ErrnoToStatus(staging, errno);
    // Marks the copy as ours and in flight: if this server dies before the
    // tablet is loaded from it, the orphan collector removes it.
    RETURN_NOT_OK(storage::Tablet::WritePendingMarker(
        staging, PendingMarker("copy", fencing_->address(), fencing_->start_time_us(),
                               ref.tablet_id, ref.table)));
  } else {
    struct stat st;
    if (stat(staging.c_str(), &st) != 0) {
      return Status::InvalidArgument("FinishTake of " + ref.ToString() +
                                     " without a PrepareTake (no " + staging + ")");
    }
  }
  client::TabletClient source(
      client::TabletClient::Options{req.source_address, client_tls_, nullptr, 60000});
  client::ListTabletFilesReply list;
  RETURN_NOT_OK_PREPEND(
      source.ListTabletFiles({ref, delta ? kCrcChunk : 0}, &list),
      "listing the files of " + ref.ToString() + " on " + req.source_address);
  std::set<std::string> remote;
  *bytes = 0;
  for (const client::TabletFileInfo& f : list.files) {
    remote.insert(f.name);
    const std::string path = staging + "/" + f.name;
    Fd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (fd.get() < 0) return ErrnoToStatus(path, errno);
    std::vector<uint32_t> local;
    uint64_t local_size = 0;
    if (delta) RETURN_NOT_OK(ChunkCrcs(path, kCrcChunk, &local_size, &local));
    const uint32_t step = delta ? kCrcChunk : kCopyChunk;
    for (uint64_t off = 0; off < f.size; off += step) {
      const size_t i = static_cast<size_t>(off / kCrcChunk);
      if (delta && i < local.size() && i < f.chunk_crcs.size() && local[i] == f.chunk_crcs[i] &&
          (off + step <= local_size || local_size == f.size)) {
        continue;  // unchanged
      }
      const uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(step, f.size - off));
      std::string data;
      Status s = source.ReadTabletChunk({ref, f.name, off, len}, &data);
      if (!delta && s.IsNotFound()) break;  // a log file removed during the bulk copy
      RETURN_NOT_OK_PREPEND(s, "reading " + f.name + " of " + ref.ToString());
      RETURN_NOT_OK(WriteAt(fd.get(), path, off, data));
      *bytes += data.size();
      if (data.size() < len) break;
    }
    if (delta) {
      if (ftruncate(fd.get(), static_cast<off_t>(f.size)) != 0) return ErrnoToStatus(path, errno);
      if (fsync(fd.get()) != 0) return ErrnoToStatus(path, errno);
    }
  }
  if (delta) {
    std::vector<std::string> names;
    RETURN_NOT_OK(ListFiles(staging, &names));
    for (const std::string& n : names) {
      if (remote.count(n) == 0 && unlink((staging + "/" + n).c_str()) != 0) {
        return ErrnoToStatus(staging + "/" + n, errno);
      }
    }
    RETURN_NOT_OK(SyncDir(staging));
  }
  return Status::OK();
}

void MigrationService::HandlePrepareTake(std::string body, rpc::ResponderPtr r) {
  client::CopyTabletRequest req;
  Status s = client::DecodeCopyTabletRequest(body, &req);
  if (!s.ok()) return r->Reply(s);
  if (req.load.desc.dir.empty()) req.load.desc.dir = client::DefaultTabletDir(req.load.desc.tablet);
  client::CopyTabletReply reply;
  s = CopyFrom(req, false, &reply.bytes_copied);
  if (!s.ok()) return r->Reply(s.CloneAndPrepend("PrepareTake"));
  std::string out;
  client::EncodeCopyTabletReply(reply, &out);
  r->Reply(Status::OK(), std::move(out));
}

void MigrationService::HandleFinishTake(std::string body, rpc::ResponderPtr r) {
  client::CopyTabletRequest req;
  Status s = client::DecodeCopyTabletRequest(body, &req);
  if (!s.ok()) return r->Reply(s);
  if (req.load.desc.dir.empty()) req.load.desc.dir = client::DefaultTabletDir(req.load.desc.tablet);
  client::CopyTabletReply reply;
  s = CopyFrom(req, true, &reply.bytes_copied);
  std::string abs;
  if (s.ok()) s = registry_->AbsoluteDir(req.load.desc.dir, &abs);
  if (s.ok()) s = RemoveTreeSimple(abs);  // a stale copy from an earlier stay here
  if (s.ok() && rename((abs + kIncomingSuffix).c_str(), abs.c_str()) != 0) {
    s = ErrnoToStatus("renaming " + abs + kIncomingSuffix, errno);
  }
  if (s.ok()) s = SyncDir(abs.substr(0, abs.rfind('/')));
  if (s.ok()) {
    req.load.create_if_missing = false;
    s = registry_->Load(req.load, &reply.status);
  }
  if (!s.ok()) return r->Reply(s.CloneAndPrepend("FinishTake"));
  std::string out;
  client::EncodeCopyTabletReply(reply, &out);
  r->Reply(Status::OK(), std::move(out));
}

Status MigrationService::MigrateByCopy(const client::MigrateTabletRequest& req,
                                       client::MigrateTabletReply* reply) {
  const client::TabletRef& ref = req.tablet;
  client::CopyTabletRequest copy;
  std::string abs;
  RETURN_NOT_OK(registry_->Describe(ref, &copy.load, &abs));
  copy.source_address = fencing_->address();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!exporting_.emplace(ref, abs).second) {
      return Status::ServiceUnavailable("tablet " + ref.ToString() + " is already migrating");
    }
  }
  struct Unexport {
    MigrationService* m;
    client::TabletRef ref;
    ~Unexport() {
      std::lock_guard<std::mutex> l(m->mu_);
      m->exporting_.erase(ref);
    }
  } unexport{this, ref};

  client::TabletClient target(
      client::TabletClient::Options{req.target_address, client_tls_, nullptr, 60000});
  client::CopyTabletReply prep;
  RETURN_NOT_OK_PREPEND(target.PrepareTake(copy, &prep),
                        "target " + req.target_address + " could not copy " + ref.ToString() +
                            " (still served here)");
  const int64_t t0 = MonoMicros();
  client::LoadTabletRequest reload;
  RETURN_NOT_OK(registry_->Detach(ref, &reload));
  copy.load = reload;
  client::CopyTabletReply fin;
  Status s = target.FinishTake(copy, &fin);
  if (!s.ok()) {
    Status back = registry_->Load(reload, nullptr);
    return s.CloneAndPrepend("target " + req.target_address + " did not take " +
                             ref.ToString() +
                             (back.ok() ? " (the tablet is served here again)"
                                        : " (reloading it here failed: " + back.ToString() + ")"));
  }
  reply->target_status = fin.status;
  reply->unavailable_us = MonoMicros() - t0;
  KDI_LOG(INFO, "migrate") << ref.ToString() << " copied to " << req.target_address << " ("
                           << prep.bytes_copied << " bytes while serving, "
                           << fin.bytes_copied << " bytes to catch up); unavailable for "
                           << reply->unavailable_us << " us";
  // The target has the tablet: it fsynced its copy, holds the tablet's lock and
  // serves it. Our directory is now a stale copy; Destroy renames it to
  // "*.retired" first, so a crash part-way leaves something the orphan
  // collector removes, never a half-deleted tablet directory.
  Status rm = storage::Tablet::Destroy(abs);
  if (!rm.ok()) {
    KDI_LOG(WARN, "migrate") << "removing the source copy of " << ref.ToString() << " at "
                                << abs << ": " << rm.ToString()
                                << " (the orphan collector retries \"*.retired\")";
  }
  return Status::OK();
}

}  // namespace kdi::tabletd
