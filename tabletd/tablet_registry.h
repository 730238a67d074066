// TabletRegistry: the tablets this tabletd serves, and every change to that set
// (load, unload, split, commit of a split, detach for migration, drop on
// session expiry).
//
// Fencing rules kept here (doc/tabletd.md "Fencing"):
//   - A tablet enters the registry only after its lock /kdi/tablets/T/ID is
//     held (exclusive, contents = our address) and its storage is open, and
//     only if the lock-service session that took the lock is still current.
//   - A tablet leaves the registry before it is closed, and its lock is
//     released only after the storage is synced and closed, so at no moment do
//     two servers write one tablet directory.
//   - On session expiry DropAll() closes every tablet without touching locks
//     (they died with the session).
//
// Requests use a tablet through Acquire(), which returns a TabletUse holding a
// shared lock on the tablet's op_mu; closing takes op_mu exclusively and so
// waits for requests in flight. Acquire answers:
//   ServiceUnavailable  session in jeopardy / re-registering; or a write to a
//                       tablet frozen by a split the master has not committed
//   NotServing          the tablet is not (or no longer) served here
//
// Threading: thread-safe. mu_ guards the map and is never held across storage
// or lock-service calls. Every method may block on disk or on lockd: call from
// worker threads, never from the RPC I/O thread.
#ifndef KDI_TABLETD_TABLET_REGISTRY_H_
#define KDI_TABLETD_TABLET_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "kdi/lock_client.h"
#include "kdi/status.h"
#include "lib/client/admin_protocol.h"
#include "lib/storage/tablet.h"
#include "tabletd/fencing.h"
#include "tabletd/tabletd_config.h"

namespace kdi::tabletd {

// CacheBudget: the ledger of the server-wide Berkeley DB memory budget
// (tabletd_cache_mb). Every open tablet has its own Berkeley DB environment;
// each gets a share of the budget when it opens and returns it when it closes,
// so the shares of the open tablets add up to at most the budget (plus a
// split's children while their frozen parent still holds its share, and
// kMinShare for each tablet opened while the budget is used up).
//
// A share covers the tablet's whole environment, not only its cache: Berkeley
// DB enlarges a cache below 500 MB by 25% for its own overhead and allocates
// hash buckets, lock, log and transaction regions besides (all malloc'd: the
// environments are DB_PRIVATE). BdbCacheRequest() gives what to ask Berkeley
// DB for so that the environment stays within its share.
//
// Shares are fixed while a tablet is open (Berkeley DB cannot shrink a
// private environment's cache): a tablet gets at most max_share (a quarter of
// the budget), its fair part budget / tablets, and what is left.
//
// Threading: thread-safe.
class CacheBudget {
 public:
  static constexpr uint64_t kMinShare = 2u << 20;
  // Memory of an environment besides its cache (measured with Berkeley DB
  // 5.3: about 1 MiB of regions and buckets).
  static constexpr uint64_t kEnvOverhead = 1u << 20;

  explicit CacheBudget(uint64_t total_bytes);

  // The share of a tablet about to open, which will make `tablets` open
  // tablets. credit (optional): bytes of a tablet about to close (a split
  // parent) that this share may use beyond what is free; decremented by what
  // was used.
  uint64_t Grant(size_t tablets, uint64_t* credit = nullptr);
  void Release(uint64_t share);

  uint64_t total() const { return total_; }
  uint64_t max_share() const { return max_share_; }
  uint64_t granted() const;

  // The cache size to give Berkeley DB (DB_ENV->set_cachesize) so that the
  // environment (cache + 25% + regions) stays within `share`.
  static uint64_t BdbCacheRequest(uint64_t share);

 private:
  const uint64_t total_;
  const uint64_t max_share_;
  mutable std::mutex mu_;
  uint64_t granted_ = 0;  // guarded by mu_
};

struct ServedTablet {
  client::TabletDescriptor desc;
  std::string abs_dir;
  int64_t loaded_at_us = 0;
  std::atomic<uint64_t> cache_share{0};  // granted by CacheBudget; returned when closed

  std::shared_mutex op_mu;  // shared: a request using tablet; exclusive: closing
  // Guarded by op_mu; reset when closed, and null while a failed reopen waits
  // for the next try (reopen_error says why).
  std::unique_ptr<storage::Tablet> tablet;
  Status reopen_error;                      // guarded by op_mu
  std::unique_ptr<lock::LockHandle> lock;   // /kdi/tablets/T/ID; guarded by op_mu
  bool closed = false;                      // guarded by op_mu

  std::atomic<bool> frozen{false};     // split done, commit pending
  std::atomic<bool> splitting{false};  // a split is running
  std::atomic<uint64_t> applies{0};
  std::atomic<uint64_t> scans{0};
  std::atomic<uint64_t> cells_written{0};
  std::atomic<uint64_t> size_bytes{0};  // last measured
};

// A request's hold on a tablet. Movable; releases on destruction.
class TabletUse {
 public:
  TabletUse() = default;
  storage::Tablet* tablet() const { return served_->tablet.get(); }
  ServedTablet* served() const { return served_.get(); }

 private:
  friend class TabletRegistry;
  std::shared_ptr<ServedTablet> served_;
  std::shared_lock<std::shared_mutex> hold_;
};

class TabletRegistry {
 public:
  TabletRegistry(const TabletdConfig& config, Fencing* fencing);
  ~TabletRegistry();

  // ServiceUnavailable while a tablet that failed a write waits to be reopened.
  Status Acquire(const client::TabletRef& ref, bool for_write, TabletUse* use);
  // As Acquire(ref, for_write, use) but never waits for the tablet's op_mu
  // (held exclusively while the tablet is closed, split or detached). False
  // when it would wait, and in every case Acquire refuses (for Acquire to
  // explain). For the RPC I/O thread: mu_ is held only for the map lookup.
  bool TryAcquire(const client::TabletRef& ref, bool for_write, TabletUse* use) {
    if (!fencing_->serving()) return false;
    std::shared_ptr<ServedTablet> t = Find(ref);
    if (t == nullptr) return false;
    std::shared_lock<std::shared_mutex> hold(t->op_mu, std::try_to_lock);
    if (!hold.owns_lock() || t->closed || t->tablet == nullptr) return false;
    if (for_write && t->frozen.load()) return false;
    use->served_ = std::move(t);
    use->hold_ = std::move(hold);
    return true;
  }

  // Locks, opens (or creates) and registers a tablet. Loading a tablet that is
  // already served with the same descriptor is OK (idempotent).
  Status Load(const client::LoadTabletRequest& req, client::TabletStatusInfo* out);
  // Syncs, closes and unlocks (and with destroy removes the directory). OK if
  // the tablet is not served here.
  Status Unload(const client::TabletRef& ref, bool destroy);
  // Splits a serving tablet (ids and dirs filled in when empty); the parent is
  // frozen until CommitSplit.
  Status Split(const client::SplitTabletRequest& req, client::SplitInfo* out);
  // Closes and reopens (Berkeley DB recovery) every served tablet whose storage
  // refuses writes after a failed log write or flush, keeping its lock and
  // cache share; requests wait for the reopen (op_mu). A reopen that fails
  // (the fault persists) leaves the tablet without storage: requests get
  // ServiceUnavailable naming the error until a later call succeeds. Returns
  // how many were reopened. Called by the maintenance loop (MasterSession).
  int ReopenFailedTablets();
  // Loads both children, then unloads and destroys the parent. Idempotent.
  Status CommitSplit(const client::TabletRef& parent, client::SplitInfo* out);
  // For migration: takes the tablet out of service (unregistered, synced,
  // closed, unlocked) and returns what reloading it needs.
  Status Detach(const client::TabletRef& ref, client::LoadTabletRequest* reload);

  Status GetStatus(const client::TabletRef& ref, client::TabletStatusInfo* out);
  // What reloading a served tablet needs (descriptor and schema) and its
  // absolute directory. NotServing if it is not served here.
  Status Describe(const client::TabletRef& ref, client::LoadTabletRequest* load,
                  std::string* abs_dir);
  // The absolute directory a descriptor's dir names (after CheckDir).
  Status AbsoluteDir(const std::string& dir, std::string* abs_dir) const;
  void Snapshot(std::vector<client::TabletStatusInfo>* tablets,
                std::vector<client::SplitInfo>* pending);
  // Serving (not frozen) tablets, for the split monitor.
  std::vector<client::TabletRef> ListServing();
  size_t size() const;
  const CacheBudget& cache_budget() const { return cache_budget_; }

  // Session expired: closes every tablet; their locks died with the session.
  void DropAll();
  // Shutdown: unloads every tablet cleanly (sync, close, unlock).
  void UnloadAll();

  TabletRegistry(const TabletRegistry&) = delete;
  TabletRegistry& operator=(const TabletRegistry&) = delete;

 private:
  std::shared_ptr<ServedTablet> Find(const client::TabletRef& ref) const;
  Status CheckDir(const std::string& dir) const;
  // Opens with a cache share granted from cache_budget_ (*share; the caller
  // returns it with the tablet, or at once when this fails). credit: see
  // CacheBudget::Grant.
  Status OpenStorage(const client::LoadTabletRequest& req, const std::string& abs_dir,
                     uint64_t* credit, uint64_t* share, std::unique_ptr<storage::Tablet>* out);
  Status OpenStorageWithShare(const client::LoadTabletRequest& req, const std::string& abs_dir,
                              uint64_t share, std::unique_ptr<storage::Tablet>* out);
  Status LoadWithCredit(const client::LoadTabletRequest& req, uint64_t* credit,
                        client::TabletStatusInfo* out);
  // Closes a tablet already removed from the map; unlock: release its lock.
  Status CloseServed(ServedTablet* t, bool sync, bool destroy, bool unlock);
  void FillStatus(const ServedTablet& t, client::TabletStatusInfo* out) const;
  std::string NewTabletId() const;

  const TabletdConfig config_;
  Fencing* const fencing_;
  CacheBudget cache_budget_;

  mutable std::mutex mu_;
  std::map<client::TabletRef, std::shared_ptr<ServedTablet>> tablets_;  // guarded by mu_
  std::set<client::TabletRef> loading_;                                  // guarded by mu_
  std::map<client::TabletRef, client::SplitInfo> pending_splits_;        // guarded by mu_
  std::map<client::TabletRef, client::SplitInfo> committed_splits_;      // guarded by mu_
};

}  // namespace kdi::tabletd

#endif  // KDI_TABLETD_TABLET_REGISTRY_H_
