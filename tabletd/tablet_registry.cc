// TabletRegistry: see tablet_registry.h for the contract and fencing rules.
#include "tabletd/tablet_registry.h"

#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <random>
#include <utility>

#include "lib/util/log.h"
#include "tabletd/orphan_collector.h"

namespace kdi::tabletd {
namespace {

using client::LoadTabletRequest;
using client::SplitInfo;
using client::TabletDescriptor;
using client::TabletRef;
using client::TabletStatusInfo;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 100)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '"' && c != '\\') {
      out += c;
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  if (s.size() > 100) out += "...";
  return out;
}

std::string RangeText(std::string_view start, std::string_view end) {
  return "[\"" + Printable(start) + "\", " + (end.empty() ? "+inf" : "\"" + Printable(end) + "\"") +
         ")";
}

// mkdir -p of every component of rel under root (root must exist).
Status MakeDirs(const std::string& root, const std::string& rel) {
  std::string path = root;
  size_t pos = 0;
  while (pos < rel.size()) {
    size_t slash = rel.find('/', pos);
    if (slash == std::string::npos) slash = rel.size();
    path += "/" + rel.substr(pos, slash - pos);
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoToStatus(path, errno);
    pos = slash + 1;
  }
  return Status::OK();
}

std::string ParentOf(const std::string& rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string::npos ? std::string() : rel.substr(0, slash);
}

}  // namespace

CacheBudget::CacheBudget(uint64_t total_bytes)
    : total_(total_bytes), max_share_(std::max<uint64_t>(total_bytes / 4, kMinShare)) {}

uint64_t CacheBudget::Grant(size_t tablets, uint64_t* credit) {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t fair = total_ / std::max<size_t>(tablets, 1);
  uint64_t free = total_ > granted_ ? total_ - granted_ : 0;
  uint64_t extra = credit != nullptr ? *credit : 0;
  uint64_t share = std::min({max_share_, fair, free + extra});
  share = std::max(share, kMinShare);
  if (credit != nullptr && share > free) *credit -= std::min(*credit, share - free);
  granted_ += share;
  return share;
}

void CacheBudget::Release(uint64_t share) {
  std::lock_guard<std::mutex> l(mu_);
  granted_ -= std::min(granted_, share);
}

uint64_t CacheBudget::granted() const {
  std::lock_guard<std::mutex> l(mu_);
  return granted_;
}

uint64_t CacheBudget::BdbCacheRequest(uint64_t share) {
  // Berkeley DB makes a cache of C < 500 MB into C + C/4 + hash buckets; the
  // buckets and the other regions fit in kEnvOverhead plus 1/16 of the cache.
  uint64_t room = share > kEnvOverhead ? share - kEnvOverhead : 0;
  if (room >= (500ull << 20)) return room;
  return std::max<uint64_t>(room * 3 / 4, 64 * 1024);
}

TabletRegistry::TabletRegistry(const TabletdConfig& config, Fencing* fencing)
    : config_(config), fencing_(fencing), cache_budget_(config.cache_bytes) {}

TabletRegistry::~TabletRegistry() = default;

std::shared_ptr<ServedTablet> TabletRegistry::Find(const TabletRef& ref) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = tablets_.find(ref);
  return it == tablets_.end() ? nullptr : it->second;
}

size_t TabletRegistry::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return tablets_.size();
}

Status TabletRegistry::Acquire(const TabletRef& ref, bool for_write, TabletUse* use) {
  if (!fencing_->serving()) {
    return Status::ServiceUnavailable("tabletd " + fencing_->address() +
                                      " is not serving: its lock-service session is " +
                                      fencing_->StateName());
  }
  std::shared_ptr<ServedTablet> t = Find(ref);
  if (t == nullptr) {
    return Status::NotServing("tablet " + ref.ToString() + " is not served by " +
                              fencing_->address());
  }
  std::shared_lock<std::shared_mutex> hold(t->op_mu);
  if (t->closed) {
    return Status::NotServing("tablet " + ref.ToString() + " is no longer served by " +
                              fencing_->address());
  }
  if (t->tablet == nullptr) {
    return Status::ServiceUnavailable("tablet " + ref.ToString() +
                                      " failed a write and could not be reopened yet: " +
                                      t->reopen_error.ToString());
  }
  if (for_write && t->frozen.load()) {
    return Status::ServiceUnavailable("tablet " + ref.ToString() +
                                      " was split; writes wait until the master records "
                                      "the split");
  }
  use->served_ = std::move(t);
  use->hold_ = std::move(hold);
  return Status::OK();
}

Status TabletRegistry::CheckDir(const std::string& dir) const {
  if (dir.empty() || dir.size() > client::kMaxDirBytes || dir[0] == '/' || dir.back() == '/') {
    return Status::InvalidArgument("tablet dir \"" + Printable(dir) +
                                   "\" must be a relative path under the data root");
  }
  size_t pos = 0;
  while (pos <= dir.size()) {
    size_t slash = dir.find('/', pos);
    if (slash == std::string::npos) slash = dir.size();
    std::string_view part(dir.data() + pos, slash - pos);
    if (part.empty() || part == "." || part == ".." ||
        part.find('\0') != std::string_view::npos) {
      return Status::InvalidArgument("tablet dir \"" + Printable(dir) +
                                     "\" has an empty, '.' or '..' component");
    }
    pos = slash + 1;
  }
  return Status::OK();
}

Status TabletRegistry::OpenStorage(const LoadTabletRequest& req, const std::string& abs_dir,
                                   uint64_t* credit, uint64_t* share,
                                   std::unique_ptr<storage::Tablet>* out) {
  size_t n;
  {
    std::lock_guard<std::mutex> l(mu_);
    n = tablets_.size() + loading_.size();  // loading_ holds this one
  }
  *share = cache_budget_.Grant(n, credit);
  Status s = OpenStorageWithShare(req, abs_dir, *share, out);
  if (!s.ok()) {
    cache_budget_.Release(*share);
    *share = 0;
  }
  return s;
}

Status TabletRegistry::OpenStorageWithShare(const LoadTabletRequest& req,
                                            const std::string& abs_dir, uint64_t share,
                                            std::unique_ptr<storage::Tablet>* out) {
  storage::TabletOptions to;
  // The share pays for the write buffer (acknowledged writes not yet in the
  // B-tree: an eighth, at most 32 MiB), the row cache (point reads of hot
  // small rows: a thirty-second, at most 8 MiB) and the Berkeley DB
  // environment.
  const uint64_t buffer = std::min<uint64_t>(share / 8, 32u << 20);
  const uint64_t row_cache = std::min<uint64_t>(share / 32, 8u << 20);
  to.write_buffer_bytes = static_cast<size_t>(buffer);
  to.row_cache_bytes = static_cast<size_t>(row_cache);
  to.cache_bytes =
      static_cast<size_t>(CacheBudget::BdbCacheRequest(share - buffer - row_cache));
  to.max_value_bytes = config_.max_value_bytes;
  Status s = storage::Tablet::Open(abs_dir, to, out);
  if (s.IsNotFound() && req.create_if_missing) {
    RETURN_NOT_OK_PREPEND(MakeDirs(config_.data_root, ParentOf(req.desc.dir)),
                          "creating the parent of " + abs_dir);
    storage::TabletMeta meta;
    meta.table = req.desc.tablet.table;
    meta.start_row = req.desc.start_row;
    meta.end_row = req.desc.end_row;
    meta.schema = req.schema.empty() ? Schema::AcceptAny() : req.schema;
    s = storage::Tablet::Create(abs_dir, meta, to, out);
  }
  RETURN_NOT_OK_PREPEND(s, "opening tablet " + req.desc.tablet.ToString() + " in " + abs_dir);
  storage::TabletMeta meta = (*out)->meta();
  if (meta.table != req.desc.tablet.table || meta.start_row != req.desc.start_row ||
      meta.end_row != req.desc.end_row) {
    Status c = Status::InvalidArgument(
        abs_dir + " holds table \"" + Printable(meta.table) + "\" rows " +
        RangeText(meta.start_row, meta.end_row) + ", but the load asked for table \"" +
        Printable(req.desc.tablet.table) + "\" rows " +
        RangeText(req.desc.start_row, req.desc.end_row));
    (void)(*out)->Close();
    out->reset();
    return c;
  }
  if (!req.schema.empty() && req.schema != meta.schema) {
    s = (*out)->SetSchema(req.schema);
    if (!s.ok()) {
      (void)(*out)->Close();
      out->reset();
      return s.CloneAndPrepend("updating the schema of " + req.desc.tablet.ToString());
    }
  }
  return Status::OK();
}

Status TabletRegistry::Load(const LoadTabletRequest& in, TabletStatusInfo* out) {
  return LoadWithCredit(in, nullptr, out);
}

Status TabletRegistry::LoadWithCredit(const LoadTabletRequest& in, uint64_t* credit,
                                      TabletStatusInfo* out) {
  LoadTabletRequest req = in;
  RETURN_NOT_OK(client::CheckTabletRef(req.desc.tablet));
  if (req.desc.dir.empty()) req.desc.dir = client::DefaultTabletDir(req.desc.tablet);
  RETURN_NOT_OK(CheckDir(req.desc.dir));
  if (!req.desc.end_row.empty() && req.desc.end_row <= req.desc.start_row) {
    return Status::InvalidArgument("empty row range " +
                                   RangeText(req.desc.start_row, req.desc.end_row));
  }
  const TabletRef ref = req.desc.tablet;
  std::shared_ptr<ServedTablet> served;  // already served here
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = tablets_.find(ref);
    if (it != tablets_.end()) {
      if (!(it->second->desc == req.desc)) {
        return Status::Conflict("tablet " + ref.ToString() +
                                " is already served here with another range or dir");
      }
      served = it->second;
    } else if (!loading_.insert(ref).second) {
      return Status::ServiceUnavailable("tablet " + ref.ToString() + " is being loaded");
    }
  }
  if (served != nullptr) {
    // Loading a served tablet again is OK; a different schema in the request
    // (the master's alterTable) replaces the tablet's schema in place.
    std::shared_lock<std::shared_mutex> hold(served->op_mu);
    if (!served->closed && served->tablet != nullptr && !req.schema.empty() &&
        req.schema != served->tablet->meta().schema) {
      RETURN_NOT_OK_PREPEND(served->tablet->SetSchema(req.schema),
                            "updating the schema of " + ref.ToString());
      KDI_LOG(INFO, "registry") << "schema of " << ref.ToString() << " is now \""
                                << req.schema.ToString() << "\"";
    }
    if (out) FillStatus(*served, out);
    return Status::OK();
  }
  struct LoadingGuard {
    TabletRegistry* r;
    TabletRef ref;
    ~LoadingGuard() {
      std::lock_guard<std::mutex> l(r->mu_);
      r->loading_.erase(ref);
    }
  } guard{this, ref};

  if (!fencing_->serving()) {
    return Status::ServiceUnavailable("tabletd " + fencing_->address() +
                                      " is not serving (lock-service session " +
                                      fencing_->StateName() + ")");
  }
  const uint64_t gen = fencing_->generation();
  std::shared_ptr<lock::LockSession> session = fencing_->session();
  if (session == nullptr) return Status::ServiceUnavailable("no lock-service session");

  // 1. The tablet's lock.
  const std::string lock_path = "/kdi/tablets/" + ref.table + "/" + ref.tablet_id;
  std::unique_ptr<lock::LockHandle> handle;
  RETURN_NOT_OK_PREPEND(
      session->Open(lock_path, lock::kRead | lock::kWrite | lock::kLock | lock::kCreate, 0,
                    &handle, nullptr, fencing_->address()),
      "opening " + lock_path);
  bool acquired = false;
  RETURN_NOT_OK_PREPEND(handle->TryLock(lock::LockMode::kExclusive, &acquired),
                        "locking " + lock_path);
  if (!acquired) {
    std::string holder;
    (void)handle->GetContents(&holder);
    return Status::Conflict("tablet " + ref.ToString() + " is locked by another server (" +
                            lock_path + " says \"" + Printable(holder) + "\")");
  }
  Status s = handle->SetContents(fencing_->address());
  if (!s.ok()) {
    (void)handle->Unlock();
    return s.CloneAndPrepend("writing " + lock_path);
  }

  // 2. The storage.
  auto t = std::make_shared<ServedTablet>();
  t->desc = req.desc;
  t->abs_dir = config_.data_root + "/" + req.desc.dir;
  t->loaded_at_us = NowMicros();
  uint64_t share = 0;
  s = OpenStorage(req, t->abs_dir, credit, &share, &t->tablet);
  t->cache_share = share;
  if (!s.ok()) {
    (void)handle->Unlock();
    return s;
  }
  t->lock = std::move(handle);
  // Only the master loads tablets, and only those META names: a split child's
  // or a copy's PENDING marker is settled (orphan_collector.h).
  s = storage::Tablet::ClearPendingMarker(t->abs_dir);
  if (!s.ok()) {
    (void)CloseServed(t.get(), false, false, true);
    return s.CloneAndPrepend("clearing the PENDING marker of " + t->abs_dir);
  }
  uint64_t size = 0;
  if (t->tablet->ApproximateSize(&size).ok()) t->size_bytes = size;

  // 3. Register, unless the session that took the lock is gone meanwhile.
  {
    std::lock_guard<std::mutex> l(mu_);
    if (fencing_->generation() == gen && fencing_->serving()) {
      tablets_[ref] = t;
      if (out) FillStatus(*t, out);
      KDI_LOG(INFO, "registry") << "loaded " << ref.ToString() << " rows "
                                << RangeText(req.desc.start_row, req.desc.end_row) << " from "
                                << t->abs_dir;
      return Status::OK();
    }
  }
  (void)CloseServed(t.get(), false, false, false);
  return Status::ServiceUnavailable("lock-service session went into jeopardy or expired "
                                    "while loading " + ref.ToString() + "; try again");
}

Status TabletRegistry::CloseServed(ServedTablet* t, bool sync, bool destroy, bool unlock) {
  std::unique_lock<std::shared_mutex> excl(t->op_mu);
  if (t->closed) return Status::OK();
  t->closed = true;
  Status result;
  if (t->tablet) {
    if (sync) result = t->tablet->Sync();
    Status c = t->tablet->Close();
    if (result.ok()) result = c;
    t->tablet.reset();
    // The environment's cache pages were malloc'd by many threads: give the
    // freed pages back to the system instead of leaving them in the arenas.
    malloc_trim(0);
  }
  cache_budget_.Release(t->cache_share.exchange(0));
  if (destroy && result.ok()) {
    result = storage::Tablet::Destroy(t->abs_dir);
  }
  if (t->lock) {
    if (unlock) {
      Status u = t->lock->Unlock();
      if (!u.ok()) {
        KDI_LOG(WARN, "registry") << "unlocking " << t->desc.tablet.ToString() << ": "
                                  << u.ToString();
      }
      (void)t->lock->Close();
    }
    t->lock.reset();
  }
  return result;
}

int TabletRegistry::ReopenFailedTablets() {
  std::vector<std::shared_ptr<ServedTablet>> all;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& entry : tablets_) all.push_back(entry.second);
  }
  int reopened = 0;
  for (const std::shared_ptr<ServedTablet>& t : all) {
    std::unique_lock<std::shared_mutex> excl(t->op_mu);
    if (t->closed) continue;
    const std::string name = t->desc.tablet.ToString();
    Status why = t->reopen_error;
    if (t->tablet != nullptr) {
      why = t->tablet->WriteHealth();
      if (why.ok()) continue;
      // A tablet that failed a log write closes without flushing; the reopen
      // below recovers from what is really on disk.
      (void)t->tablet->Close();
      t->tablet.reset();
      malloc_trim(0);
    }
    LoadTabletRequest req;
    req.desc = t->desc;
    req.create_if_missing = false;  // the schema stored in the tablet stays
    std::unique_ptr<storage::Tablet> fresh;
    Status s = OpenStorageWithShare(req, t->abs_dir, t->cache_share.load(), &fresh);
    if (!s.ok()) {
      t->reopen_error = s;
      KDI_LOG(WARN, "registry") << "reopening " << name << " after a failed write ("
                                << why.ToString() << "): " << s.ToString()
                                << "; tried again at the next split check";
      continue;
    }
    t->tablet = std::move(fresh);
    t->reopen_error = Status::OK();
    reopened++;
    KDI_LOG(INFO, "registry") << "reopened " << name << " after: " << why.ToString();
  }
  return reopened;
}

Status TabletRegistry::Unload(const TabletRef& ref, bool destroy) {
  std::shared_ptr<ServedTablet> t;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = tablets_.find(ref);
    if (it == tablets_.end()) return Status::OK();
    t = it->second;
    tablets_.erase(it);
    pending_splits_.erase(ref);
  }
  Status s = CloseServed(t.get(), true, destroy, true);
  KDI_LOG(INFO, "registry") << "unloaded " << ref.ToString() << (destroy ? " (destroyed)" : "")
                            << (s.ok() ? "" : ": " + s.ToString());
  return s.CloneAndPrepend("unloading " + ref.ToString());
}

std::string TabletRegistry::NewTabletId() const {
  static std::mutex rng_mu;
  static std::mt19937_64 rng(std::random_device{}());
  uint64_t r;
  {
    std::lock_guard<std::mutex> l(rng_mu);
    r = rng();
  }
  char buf[64];
  snprintf(buf, sizeof(buf), "%llx-%08llx", static_cast<unsigned long long>(NowMicros()),
           static_cast<unsigned long long>(r & 0xffffffffull));
  return buf;
}

Status TabletRegistry::Split(const client::SplitTabletRequest& in, SplitInfo* out) {
  client::SplitTabletRequest req = in;
  RETURN_NOT_OK(client::CheckTabletRef(req.tablet));
  if (req.left_id.empty()) req.left_id = NewTabletId();
  if (req.right_id.empty()) req.right_id = NewTabletId();
  for (const std::string* id : {&req.left_id, &req.right_id}) {
    if (!client::IsValidTabletId(*id)) {
      return Status::InvalidArgument("bad child tablet id \"" + Printable(*id) + "\"");
    }
  }
  if (req.left_id == req.right_id || req.left_id == req.tablet.tablet_id ||
      req.right_id == req.tablet.tablet_id) {
    return Status::InvalidArgument("child tablet ids must differ from each other and the parent");
  }
  TabletUse use;
  RETURN_NOT_OK(Acquire(req.tablet, true, &use));
  ServedTablet* t = use.served();
  if (t->splitting.exchange(true)) {
    return Status::ServiceUnavailable("tablet " + req.tablet.ToString() +
                                      " is already being split");
  }
  struct Reset {
    std::atomic<bool>* f;
    ~Reset() { f->store(false); }
  } reset{&t->splitting};

  std::string row = req.split_row;
  if (row.empty()) {
    Status s = use.tablet()->ApproximateMedianRow(&row);
    if (s.IsNotFound()) {
      return Status::InvalidArgument("tablet " + req.tablet.ToString() +
                                     " has fewer than two rows: nothing to split");
    }
    RETURN_NOT_OK_PREPEND(s, "finding the median row of " + req.tablet.ToString());
  }
  if (row <= t->desc.start_row || (!t->desc.end_row.empty() && row >= t->desc.end_row)) {
    return Status::InvalidArgument("split row \"" + Printable(row) + "\" is not inside " +
                                   RangeText(t->desc.start_row, t->desc.end_row));
  }
  SplitInfo info;
  info.parent = t->desc;
  info.left.tablet = {req.tablet.table, req.left_id};
  info.left.start_row = t->desc.start_row;
  info.left.end_row = row;
  info.left.dir = ParentOf(t->desc.dir).empty()
                      ? req.left_id
                      : ParentOf(t->desc.dir) + "/" + req.left_id;
  info.right.tablet = {req.tablet.table, req.right_id};
  info.right.start_row = row;
  info.right.end_row = t->desc.end_row;
  info.right.dir = ParentOf(t->desc.dir).empty()
                       ? req.right_id
                       : ParentOf(t->desc.dir) + "/" + req.right_id;
  info.server = fencing_->address();
  info.split_time_us = NowMicros();
  RETURN_NOT_OK_PREPEND(
      use.tablet()->Split(row, config_.data_root + "/" + info.left.dir,
                          config_.data_root + "/" + info.right.dir,
                          PendingMarker("split", fencing_->address(), fencing_->start_time_us(),
                                        req.tablet.tablet_id, req.tablet.table)),
      "splitting " + req.tablet.ToString());
  malloc_trim(0);  // the children's build caches (closed) go back to the system
  t->frozen.store(true);
  {
    std::lock_guard<std::mutex> l(mu_);
    pending_splits_[req.tablet] = info;
  }
  KDI_LOG(INFO, "registry") << "split " << req.tablet.ToString() << " at \"" << Printable(row)
                            << "\" into " << req.left_id << " and " << req.right_id
                            << "; frozen until the master commits";
  if (out) *out = info;
  return Status::OK();
}

Status TabletRegistry::CommitSplit(const TabletRef& parent, SplitInfo* out) {
  SplitInfo info;
  std::shared_ptr<ServedTablet> t;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto done = committed_splits_.find(parent);
    if (done != committed_splits_.end()) {
      if (out) *out = done->second;
      return Status::OK();
    }
    auto it = pending_splits_.find(parent);
    if (it == pending_splits_.end()) {
      if (tablets_.count(parent) == 0) {
        return Status::NotServing("tablet " + parent.ToString() + " is not served by " +
                                  fencing_->address());
      }
      return Status::InvalidArgument("tablet " + parent.ToString() + " has no pending split");
    }
    info = it->second;
    t = tablets_[parent];
  }
  Schema schema = Schema::AcceptAny();
  {
    TabletUse use;
    RETURN_NOT_OK(Acquire(parent, false, &use));
    schema = use.tablet()->meta().schema;
  }
  // META names the children now (the master recorded the split before asking
  // for this). Mark the parent so that a crash before its removal below
  // leaves something the orphan collector removes.
  if (t == nullptr) return Status::NotServing("tablet " + parent.ToString() + " is not served");
  RETURN_NOT_OK_PREPEND(
      storage::Tablet::WritePendingMarker(
          t->abs_dir, PendingMarker("retire", fencing_->address(), fencing_->start_time_us(),
                                    parent.tablet_id, parent.table)),
      "marking the split parent " + parent.ToString() + " for removal");
  // The children may use the frozen parent's cache share, which returns to the
  // budget when the parent is unloaded just below; half each.
  uint64_t parent_share = t != nullptr ? t->cache_share.load() : 0;
  for (const TabletDescriptor* child : {&info.left, &info.right}) {
    LoadTabletRequest lr;
    lr.desc = *child;
    lr.schema = schema;
    uint64_t credit = parent_share / 2;
    RETURN_NOT_OK_PREPEND(LoadWithCredit(lr, &credit, nullptr),
                          "loading split child " + child->tablet.ToString());
  }
  RETURN_NOT_OK(Unload(parent, /*destroy=*/true));
  {
    std::lock_guard<std::mutex> l(mu_);
    committed_splits_[parent] = info;
  }
  KDI_LOG(INFO, "registry") << "split of " << parent.ToString() << " committed";
  if (out) *out = info;
  return Status::OK();
}

Status TabletRegistry::Detach(const TabletRef& ref, LoadTabletRequest* reload) {
  std::shared_ptr<ServedTablet> t;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = tablets_.find(ref);
    if (it == tablets_.end()) {
      return Status::NotServing("tablet " + ref.ToString() + " is not served by " +
                                fencing_->address());
    }
    if (it->second->frozen.load() || it->second->splitting.load()) {
      return Status::ServiceUnavailable("tablet " + ref.ToString() + " is being split");
    }
    t = it->second;
    tablets_.erase(it);
  }
  reload->desc = t->desc;
  reload->create_if_missing = false;
  {
    std::shared_lock<std::shared_mutex> hold(t->op_mu);
    reload->schema = t->tablet ? t->tablet->meta().schema : Schema();
  }
  return CloseServed(t.get(), true, false, true).CloneAndPrepend("closing " + ref.ToString());
}

void TabletRegistry::FillStatus(const ServedTablet& t, TabletStatusInfo* out) const {
  out->desc = t.desc;
  out->state = t.frozen.load() ? client::TabletState::kFrozen : client::TabletState::kServing;
  out->size_bytes = t.size_bytes.load();
  out->applies = t.applies.load();
  out->scans = t.scans.load();
  out->cells_written = t.cells_written.load();
  out->loaded_at_us = t.loaded_at_us;
}

Status TabletRegistry::GetStatus(const TabletRef& ref, TabletStatusInfo* out) {
  std::shared_ptr<ServedTablet> t = Find(ref);
  if (t == nullptr) {
    return Status::NotServing("tablet " + ref.ToString() + " is not served by " +
                              fencing_->address());
  }
  FillStatus(*t, out);
  return Status::OK();
}

Status TabletRegistry::Describe(const TabletRef& ref, LoadTabletRequest* load,
                                std::string* abs_dir) {
  TabletUse use;
  RETURN_NOT_OK(Acquire(ref, false, &use));
  load->desc = use.served()->desc;
  load->schema = use.tablet()->meta().schema;
  load->create_if_missing = false;
  *abs_dir = use.served()->abs_dir;
  return Status::OK();
}

Status TabletRegistry::AbsoluteDir(const std::string& dir, std::string* abs_dir) const {
  RETURN_NOT_OK(CheckDir(dir));
  *abs_dir = config_.data_root + "/" + dir;
  return Status::OK();
}

void TabletRegistry::Snapshot(std::vector<TabletStatusInfo>* tablets,
                              std::vector<SplitInfo>* pending) {
  std::lock_guard<std::mutex> l(mu_);
  tablets->clear();
  pending->clear();
  for (const auto& [ref, t] : tablets_) {
    tablets->emplace_back();
    FillStatus(*t, &tablets->back());
  }
  for (const auto& [ref, info] : pending_splits_) pending->push_back(info);
}

std::vector<TabletRef> TabletRegistry::ListServing() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<TabletRef> out;
  for (const auto& [ref, t] : tablets_) {
    if (!t->frozen.load()) out.push_back(ref);
  }
  return out;
}

void TabletRegistry::DropAll() {
  std::map<TabletRef, std::shared_ptr<ServedTablet>> all;
  {
    std::lock_guard<std::mutex> l(mu_);
    all.swap(tablets_);
    pending_splits_.clear();
  }
  for (auto& [ref, t] : all) {
    Status s = CloseServed(t.get(), true, false, false);
    KDI_LOG(WARN, "registry") << "dropped " << ref.ToString()
                              << (s.ok() ? "" : ": " + s.ToString());
  }
}

void TabletRegistry::UnloadAll() {
  std::vector<TabletRef> refs;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [ref, t] : tablets_) refs.push_back(ref);
  }
  for (const TabletRef& ref : refs) {
    Status s = Unload(ref, false);
    if (!s.ok()) {
      KDI_LOG(WARN, "registry") << s.ToString();
    }
  }
}

}  // namespace kdi::tabletd
