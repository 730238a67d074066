// OrphanCollector: see orphan_collector.h.
#include "tabletd/orphan_collector.h"

#include <chrono>
#include <cstdlib>
#include <set>
#include <utility>

#include "kdi/lock_client.h"
#include "lib/storage/tablet.h"
#include "lib/util/log.h"

namespace kdi::tabletd {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> Words(const std::string& s, size_t max_words) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size() && out.size() + 1 < max_words) {
    while (i < s.size() && s[i] == ' ') i++;
    size_t j = s.find(' ', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  while (i < s.size() && s[i] == ' ') i++;
  if (i < s.size()) out.push_back(s.substr(i));  // the rest (a table may hold spaces)
  return out;
}

bool ParseInt64(const std::string& s, int64_t* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  long long x = strtoll(s.c_str(), &end, 10);
  if (*end != '\0') return false;
  *v = x;
  return true;
}

}  // namespace

std::string PendingMarker(const std::string& kind, const std::string& address,
                          int64_t start_time_us, const std::string& tablet_id,
                          const std::string& table) {
  return kind + " " + address + " " + std::to_string(start_time_us) + " " + tablet_id + " " +
         table;
}

Status ParsePendingMarker(const std::string& contents, PendingMarkerInfo* out) {
  std::vector<std::string> w = Words(contents, 5);
  PendingMarkerInfo m;
  if (w.size() != 5 || (w[0] != "split" && w[0] != "copy" && w[0] != "retire") ||
      !ParseInt64(w[2], &m.start_time_us)) {
    return Status::Corruption("bad PENDING marker \"" + contents + "\"");
  }
  m.kind = w[0];
  m.address = w[1];
  m.tablet_id = w[3];
  m.table = w[4];
  *out = std::move(m);
  return Status::OK();
}

void OrphanCollector::Start() {
  thread_ = std::thread([this] { Run(); });
}

void OrphanCollector::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OrphanCollector::Run() {
  std::unique_lock<std::mutex> l(mu_);
  bool first = true;
  while (!stopping_) {
    if (!first) {
      if (config_.orphan_check_interval_ms <= 0) break;
      cv_.wait_for(l, std::chrono::milliseconds(config_.orphan_check_interval_ms));
      if (stopping_) break;
    }
    l.unlock();
    std::vector<std::string> removed;
    Status s = CollectOnce(&removed);
    l.lock();
    // The first pass waits until the server is registered (serving).
    if (s.IsServiceUnavailable() && first) {
      cv_.wait_for(l, std::chrono::milliseconds(200));
      continue;
    }
    first = false;
    if (!s.ok()) KDI_LOG(WARN, "orphans") << "collecting orphaned directories: " << s.ToString();
  }
}

Status OrphanCollector::OwnerDead(const PendingMarkerInfo& m, bool* dead) {
  if (m.address == fencing_->address()) {
    // We hold /kdi/servers/ADDRESS: no other incarnation of ours is alive.
    *dead = m.start_time_us != fencing_->start_time_us();
    return Status::OK();
  }
  std::shared_ptr<lock::LockSession> session = fencing_->session();
  if (session == nullptr) return Status::ServiceUnavailable("no lock-service session");
  std::unique_ptr<lock::LockHandle> h;
  Status s = session->Open("/kdi/servers/" + m.address, lock::kRead, 0, &h);
  if (s.IsNotFound()) {
    *dead = true;  // the ephemeral node died with the owner's session
    return Status::OK();
  }
  RETURN_NOT_OK(s);
  std::string contents;
  RETURN_NOT_OK(h->GetContents(&contents));
  (void)h->Close();
  std::vector<std::string> w = Words(contents, 3);
  int64_t start = 0;
  if (w.size() < 2 || !ParseInt64(w[1], &start)) {
    return Status::Corruption("unreadable /kdi/servers/" + m.address + " \"" + contents + "\"");
  }
  *dead = start != m.start_time_us;  // another incarnation registered since
  return Status::OK();
}

Status OrphanCollector::TabletLocked(const std::string& table, const std::string& id,
                                     bool* locked) {
  std::shared_ptr<lock::LockSession> session = fencing_->session();
  if (session == nullptr) return Status::ServiceUnavailable("no lock-service session");
  std::unique_ptr<lock::LockHandle> h;
  Status s = session->Open("/kdi/tablets/" + table + "/" + id, lock::kRead, 0, &h);
  if (s.IsNotFound()) {
    *locked = false;
    return Status::OK();
  }
  RETURN_NOT_OK(s);
  lock::NodeStat st;
  s = h->Stat(&st);
  (void)h->Close();
  RETURN_NOT_OK(s);
  *locked = st.lock_mode != lock::LockMode::kNone && st.lock_holders > 0;
  return Status::OK();
}

Status OrphanCollector::CollectOnce(std::vector<std::string>* removed) {
  if (!fencing_->serving() || fencing_->session() == nullptr) {
    return Status::ServiceUnavailable("not registered with the lock service");
  }
  storage::Env* env = storage::Env::Default();
  std::set<std::string> served;
  {
    std::vector<client::TabletStatusInfo> tablets;
    std::vector<client::SplitInfo> pending;
    registry_->Snapshot(&tablets, &pending);
    for (const auto& t : tablets) served.insert(t.desc.dir);
  }
  const std::string root = config_.data_root + "/tables";
  std::vector<std::string> tables;
  RETURN_NOT_OK(env->ListDir(root, &tables));
  for (const std::string& table : tables) {
    std::vector<std::string> names;
    if (!env->ListDir(root + "/" + table, &names).ok()) continue;  // not a directory
    for (const std::string& name : names) {
      const std::string rel = "tables/" + table + "/" + name;
      const std::string abs = root + "/" + table + "/" + name;
      if (served.count(rel) != 0) continue;
      std::string why;
      if (EndsWith(name, ".retired")) {
        why = "an interrupted removal";
      } else {
        std::string contents;
        Status s = storage::Tablet::ReadPendingMarker(abs, &contents);
        if (s.IsNotFound()) continue;  // no marker: never ours to remove
        PendingMarkerInfo m;
        if (s.ok()) s = ParsePendingMarker(contents, &m);
        if (!s.ok()) {
          KDI_LOG(WARN, "orphans") << "leaving " << abs << ": " << s.ToString();
          continue;
        }
        if (m.address == fencing_->address() && m.start_time_us == fencing_->start_time_us()) {
          continue;  // our own operation in flight
        }
        bool dead = false;
        s = OwnerDead(m, &dead);
        if (!s.ok()) {
          KDI_LOG(WARN, "orphans") << "leaving " << abs << " (can't tell whether " << m.address
                                   << " is alive: " << s.ToString() << ")";
          continue;
        }
        if (!dead) continue;
        const std::string owner = m.address + " (started " + std::to_string(m.start_time_us) + ")";
        if (EndsWith(name, ".splitting") || EndsWith(name, ".incoming")) {
          why = "an unfinished " + m.kind + " of " + owner + ", which is gone";
        } else if (m.kind == "copy") {
          why = "a copy migration " + owner + " never loaded; it is gone";
        } else if (m.kind == "retire") {
          // CommitSplit marks the parent only after META recorded the split
          // (the children replace it there), so nobody will load it again.
          why = "the parent of a split that " + owner + " committed but did not finish removing";
        } else {
          // A complete split child: orphaned only if the split was never
          // recorded, i.e. the parent is still in META, which we know when a
          // server holds the parent's lock (the master assigns only tablets
          // META names; recording the split replaces the parent there).
          const std::string parent = root + "/" + table + "/" + m.tablet_id;
          if (!env->Exists(parent + "/TABLET")) continue;
          bool locked = false;
          s = TabletLocked(m.table, m.tablet_id, &locked);
          if (!s.ok() || !locked) continue;
          why = "a child of a split of " + m.table + "/" + m.tablet_id + " by " + owner +
                " that was never recorded (the parent is served again)";
        }
      }
      Status d = EndsWith(name, ".retired") ? env->RemoveTree(abs) : storage::Tablet::Destroy(abs);
      if (!d.ok()) {
        KDI_LOG(WARN, "orphans") << "removing " << abs << ": " << d.ToString();
        continue;
      }
      KDI_LOG(INFO, "orphans") << "removed " << abs << ": " << why;
      if (removed) removed->push_back(rel);
    }
  }
  return Status::OK();
}

}  // namespace kdi::tabletd
