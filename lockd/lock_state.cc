// The lock-service state machine (see lock_state.h and doc/lockd.md).
#include "lockd/lock_state.h"

#include <zlib.h>

#include <algorithm>
#include <chrono>

#include "lib/lock/lock_path.h"
#include "lib/util/log.h"

namespace kdi::lockd {

using lock::Event;
using lock::EventBit;
using lock::EventType;
using lock::LockMode;
using lock::NodeStat;

namespace {

uint32_t Crc(const std::string& data) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

const char* RoleString(uint32_t role) {
  switch (static_cast<rpc::Role>(role)) {
    case rpc::Role::kClient: return "client";
    case rpc::Role::kAdmin: return "admin";
    case rpc::Role::kServer: return "server";
    default: return "none";
  }
}

Status ContentsTooBig(size_t n) {
  return Status::InvalidArgument("contents of " + std::to_string(n) + " bytes exceed the " +
                                 std::to_string(lock::kMaxContentsBytes) + "-byte limit");
}

}  // namespace

int64_t SystemClock::NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t SystemClock::WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

LockState::LockState(const StateOptions& opts, Clock* clock, LockStore* store)
    : opts_(opts), clock_(clock), store_(store), rng_(std::random_device()()) {}

LockState::~LockState() = default;

Status LockState::Recover() {
  StoreSnapshot snap;
  RETURN_NOT_OK_PREPEND(store_->Load(&snap), "loading lockd state");
  std::lock_guard<std::mutex> l(mu_);
  const int64_t now = clock_->NowMs();
  const int64_t wall = clock_->WallMs();
  const int64_t grace = opts_.grace_ms >= 0 ? opts_.grace_ms : opts_.lease_ms;
  next_instance_ = std::max<uint64_t>(snap.next_instance, 1);
  next_handle_ = std::max<uint64_t>(snap.next_handle, 1);

  for (auto& [rec, contents] : snap.nodes) {
    Node& n = nodes_[rec.path];
    n.rec = rec;
    n.contents = std::move(contents);
    if (rec.lock_delay_until_ms > wall) {
      n.lock_delay_until = now + (rec.lock_delay_until_ms - wall);
      delayed_.insert(rec.path);
    }
  }
  if (nodes_.find("/") == nodes_.end()) {
    CreateNodeLocked("/", 0, std::string());
  }
  for (auto& [path, n] : nodes_) {
    if (path == "/") continue;
    auto parent = nodes_.find(lock::ParentPath(path));
    if (parent == nodes_.end()) {
      return Status::Corruption("node " + path + " has no parent in the store");
    }
    parent->second.children.insert(lock::BaseName(path));
  }
  for (SessionRecord& rec : snap.sessions) {
    Session& s = sessions_[rec.id];
    s.rec = std::move(rec);
    s.expiry = now + grace;
    // Event numbers are not stored; they jump past anything numbered before the
    // restart (at most 1024 events per ms), so that a client's acknowledgement
    // of an old number never swallows a new event.
    s.next_seq = static_cast<uint64_t>(std::max<int64_t>(wall, 1)) << 10;
  }
  for (HandleRecord& rec : snap.handles) {
    auto sit = sessions_.find(rec.session);
    if (sit == sessions_.end()) {
      batch_.DeleteHandle(rec.id);
      continue;
    }
    Handle& h = handles_[rec.id];
    h.rec = std::move(rec);
    sit->second.handles.insert(h.rec.id);
    auto nit = nodes_.find(h.rec.path);
    if (nit != nodes_.end() && nit->second.rec.instance == h.rec.instance) {
      Node& n = nit->second;
      n.handles.insert(h.rec.id);
      if (h.rec.held != 0) {
        n.holders.insert(h.rec.id);
        n.held_mode = static_cast<LockMode>(h.rec.held);
      }
    } else if (h.rec.held != 0) {
      h.rec.held = 0;
      batch_.PutHandle(h.rec);
    }
  }
  std::vector<std::string> orphans;
  for (auto& [path, n] : nodes_) {
    if (n.rec.ephemeral_owner == 0) continue;
    auto sit = sessions_.find(n.rec.ephemeral_owner);
    if (sit == sessions_.end()) {
      orphans.push_back(path);
    } else {
      sit->second.ephemerals.insert(path);
    }
  }
  for (const std::string& p : orphans) DeleteNodeLocked(p);
  KDI_LOG(INFO, "lockd") << "recovered " << nodes_.size() << " nodes, " << sessions_.size()
                         << " sessions, " << handles_.size() << " handles; grace " << grace
                         << " ms";
  return CommitLocked();
}

// ---- helpers (mu_ held) -------------------------------------------------------

Status LockState::CommitLocked() {
  if (!broken_.ok()) return broken_;
  if (batch_.empty()) return Status::OK();
  Status s = store_->Commit(batch_);
  batch_.Clear();
  if (!s.ok()) {
    broken_ = s.CloneAndPrepend("lockd store failed; state machine stopped");
    KDI_LOG(ERROR, "lockd") << broken_.ToString();
    return broken_;
  }
  return s;
}

int64_t LockState::NowLocked() {
  const int64_t now = clock_->NowMs();
  if (opts_.pause_gap_ms > 0 && last_now_ != 0 && now - last_now_ > opts_.pause_gap_ms) {
    const int64_t gap = now - last_now_;
    for (auto& [id, s] : sessions_) s.expiry += gap;
    KDI_LOG(WARN, "lockd") << "lockd did not run for " << gap
                           << " ms (paused or starved); extended every lease by as much";
  }
  last_now_ = std::max(last_now_, now);
  return now;
}

Status LockState::FindSessionLocked(const Caller& c, Session** out) {
  if (!broken_.ok()) return broken_;
  const int64_t now = NowLocked();
  auto it = sessions_.find(c.session_id);
  if (it == sessions_.end()) {
    return Status::SessionExpired("session " + std::to_string(c.session_id) +
                                  " has expired or never existed");
  }
  if (it->second.rec.principal != c.principal) {
    return Status::PermissionDenied("session " + std::to_string(c.session_id) +
                                    " belongs to another principal");
  }
  if (it->second.expiry <= now) {
    ExpireSessionLocked(c.session_id, false);
    Status s = CommitLocked();
    if (!s.ok()) return s;
    return Status::SessionExpired("session " + std::to_string(c.session_id) + " has expired");
  }
  *out = &it->second;
  return Status::OK();
}

Status LockState::FindHandleLocked(const Caller& c, uint64_t id, uint32_t need_mode,
                                   Handle** hp, Node** np) {
  Session* s = nullptr;
  RETURN_NOT_OK(FindSessionLocked(c, &s));
  auto it = handles_.find(id);
  if (it == handles_.end()) {
    return Status::InvalidArgument("unknown or closed handle " + std::to_string(id));
  }
  Handle& h = it->second;
  if (h.rec.session != c.session_id) {
    return Status::InvalidArgument("handle " + std::to_string(id) +
                                   " belongs to another session");
  }
  if ((h.rec.mode & need_mode) != need_mode) {
    static const char* kNames[] = {"READ", "WRITE", "LOCK"};
    std::string need;
    for (int i = 0; i < 3; ++i) {
      if (need_mode & (1u << i)) need = kNames[i];
    }
    return Status::InvalidArgument("handle " + std::to_string(id) + " on " + h.rec.path +
                                   " was not opened with " + need);
  }
  auto nit = nodes_.find(h.rec.path);
  if (nit == nodes_.end() || nit->second.rec.instance != h.rec.instance) {
    return Status::NotFound("node " + h.rec.path + " was deleted; handle " +
                            std::to_string(id) + " is stale");
  }
  *hp = &h;
  if (np != nullptr) *np = &nit->second;
  return Status::OK();
}

Status LockState::CheckWriteAclLocked(const Caller& c, const std::string& path) {
  if (c.role != rpc::Role::kServer && c.role != rpc::Role::kAdmin &&
      lock::IsProtectedPath(path)) {
    return Status::PermissionDenied(path + " may only be created, locked or written by "
                                    "server or admin principals (caller " + c.principal +
                                    " has role " + RoleString(static_cast<uint32_t>(c.role)) +
                                    ")");
  }
  return Status::OK();
}

LockState::Node* LockState::CreateNodeLocked(const std::string& path, uint64_t owner,
                                             const std::string& contents) {
  const int64_t wall = clock_->WallMs();
  Node& n = nodes_[path];
  n.rec.path = path;
  n.rec.instance = next_instance_++;
  n.rec.ephemeral_owner = owner;
  n.rec.ctime_ms = n.rec.mtime_ms = wall;
  n.contents = contents;
  n.rec.checksum = Crc(contents);
  batch_.PutCounter("next_instance", next_instance_);
  batch_.PutNode(n.rec);
  batch_.PutContents(path, contents);
  if (path != "/") {
    Node& parent = nodes_[lock::ParentPath(path)];
    parent.children.insert(lock::BaseName(path));
    NotifyLocked(&parent, lock::kChildAdded, path);
  }
  if (owner != 0) {
    auto sit = sessions_.find(owner);
    if (sit != sessions_.end()) sit->second.ephemerals.insert(path);
  }
  return &n;
}

void LockState::DeleteNodeLocked(const std::string& path) {
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return;
  Node& n = it->second;
  for (uint64_t hid : n.holders) {
    auto hit = handles_.find(hid);
    if (hit == handles_.end()) continue;
    hit->second.rec.held = 0;
    batch_.PutHandle(hit->second.rec);
  }
  for (Waiter& w : n.waiters) {
    LockDone done = std::move(w.done);
    Defer([done, path] { done(Status::NotFound("node " + path + " was deleted"), false, 0); });
  }
  NotifyLocked(&n, lock::kNodeDeleted, path);
  if (n.rec.ephemeral_owner != 0) {
    auto sit = sessions_.find(n.rec.ephemeral_owner);
    if (sit != sessions_.end()) sit->second.ephemerals.erase(path);
  }
  batch_.DeleteNode(path);
  nodes_.erase(it);
  delayed_.erase(path);
  waiting_.erase(path);
  auto pit = nodes_.find(lock::ParentPath(path));
  if (pit != nodes_.end()) {
    pit->second.children.erase(lock::BaseName(path));
    NotifyLocked(&pit->second, lock::kChildRemoved, path);
  }
}

void LockState::CloseHandleLocked(uint64_t id, bool failure) {
  auto it = handles_.find(id);
  if (it == handles_.end()) return;
  Handle& h = it->second;
  auto nit = nodes_.find(h.rec.path);
  if (nit != nodes_.end() && nit->second.rec.instance == h.rec.instance) {
    Node& n = nit->second;
    for (auto w = n.waiters.begin(); w != n.waiters.end();) {
      if (w->handle == id) {
        LockDone done = std::move(w->done);
        Defer([done] { done(Status::Aborted("handle closed while waiting for the lock"), false, 0); });
        w = n.waiters.erase(w);
      } else {
        ++w;
      }
    }
    if (n.waiters.empty()) waiting_.erase(h.rec.path);
    if (h.rec.held != 0) ReleaseLocked(&n, &h, failure);
    n.handles.erase(id);
    // A waiter removed from the head may let others in.
    GrantWaitersLocked(&n);
  }
  auto sit = sessions_.find(h.rec.session);
  if (sit != sessions_.end()) sit->second.handles.erase(id);
  batch_.DeleteHandle(id);
  handles_.erase(it);
}

void LockState::ExpireSessionLocked(uint64_t id, bool clean) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session& s = it->second;
  KDI_LOG(INFO, "lockd") << "session " << id << " (" << s.rec.principal << ") "
                         << (clean ? "closed" : "expired") << "; releasing "
                         << s.handles.size() << " handles, " << s.ephemerals.size()
                         << " ephemeral nodes";
  if (s.poll) {
    PollDone done = std::move(s.poll);
    s.poll = nullptr;
    Defer([done] { done(Status::SessionExpired("session expired"), 0, {}); });
  }
  std::vector<uint64_t> handles(s.handles.begin(), s.handles.end());
  for (uint64_t h : handles) CloseHandleLocked(h, !clean);
  std::vector<std::string> eph(s.ephemerals.begin(), s.ephemerals.end());
  // Deepest first, in case an ephemeral ever has children.
  std::sort(eph.rbegin(), eph.rend());
  for (const std::string& p : eph) {
    auto nit = nodes_.find(p);
    if (nit != nodes_.end() && nit->second.children.empty()) DeleteNodeLocked(p);
  }
  batch_.DeleteSession(id);
  sessions_.erase(id);
}

bool LockState::GrantableLocked(const Node& n, LockMode mode) const {
  if (n.lock_delay_until > clock_->NowMs()) return false;
  if (n.holders.empty()) return true;
  return mode == LockMode::kShared && n.held_mode == LockMode::kShared;
}

void LockState::GrantLocked(Node* n, Handle* h, LockMode mode) {
  if (n->holders.empty()) {
    n->rec.lock_generation++;
    n->held_mode = mode;
    n->lock_delay_until = 0;
    n->rec.lock_delay_until_ms = 0;
    batch_.PutNode(n->rec);
  }
  n->holders.insert(h->rec.id);
  h->rec.held = static_cast<uint32_t>(mode);
  batch_.PutHandle(h->rec);
  NotifyLocked(n, lock::kLockAcquired, n->rec.path);
}

void LockState::ReleaseLocked(Node* n, Handle* h, bool failure) {
  n->holders.erase(h->rec.id);
  h->rec.held = 0;
  batch_.PutHandle(h->rec);
  if (!n->holders.empty()) return;
  n->held_mode = LockMode::kNone;
  if (failure && opts_.lock_delay_ms > 0) {
    const int64_t delay = std::min(opts_.lock_delay_ms, kMaxLockDelayMs);
    n->lock_delay_until = clock_->NowMs() + delay;
    n->rec.lock_delay_until_ms = clock_->WallMs() + delay;
    batch_.PutNode(n->rec);
    delayed_.insert(n->rec.path);
  }
  NotifyLocked(n, lock::kLockReleased, n->rec.path);
  GrantWaitersLocked(n);
}

void LockState::GrantWaitersLocked(Node* n) {
  while (!n->waiters.empty()) {
    Waiter& w = n->waiters.front();
    auto hit = handles_.find(w.handle);
    if (hit == handles_.end()) {
      n->waiters.pop_front();
      continue;
    }
    if (!GrantableLocked(*n, w.mode)) break;
    GrantLocked(n, &hit->second, w.mode);
    LockDone done = std::move(w.done);
    uint64_t gen = n->rec.lock_generation;
    Defer([done, gen] { done(Status::OK(), true, gen); });
    n->waiters.pop_front();
  }
  if (n->waiters.empty()) waiting_.erase(n->rec.path);
}

void LockState::NotifyLocked(Node* n, EventType type, const std::string& path) {
  for (uint64_t hid : n->handles) {
    auto hit = handles_.find(hid);
    if (hit == handles_.end() || !(hit->second.rec.event_mask & EventBit(type))) continue;
    auto sit = sessions_.find(hit->second.rec.session);
    if (sit == sessions_.end()) continue;
    Event ev;
    ev.type = type;
    ev.path = path;
    ev.handle_id = hid;
    PushEventLocked(&sit->second, ev);
  }
}

void LockState::PushEventLocked(Session* s, const Event& ev) {
  if (s->events.size() >= opts_.max_events_per_session) {
    s->events.pop_front();
    if (s->events.front().event.type != lock::kEventsDropped) {
      s->events.front().event = Event{lock::kEventsDropped, std::string(), 0};
    }
  }
  s->events.push_back(lock::SessionEvent{s->next_seq++, ev});
  if (s->poll) AnswerPollLocked(s);
}

void LockState::AnswerPollLocked(Session* s) {
  PollDone done = std::move(s->poll);
  s->poll = nullptr;
  s->poll_cancelled = nullptr;
  std::vector<lock::SessionEvent> events;
  size_t n = std::min<size_t>(s->events.size(), lock::kMaxEventsPerReply);
  events.assign(s->events.begin(), s->events.begin() + n);
  // Each KeepAlive renewed the lease to (its arrival + lease) — later than
  // when the client sent it — so the client may count a full lease from then.
  int64_t lease = s->rec.lease_ms;
  Defer([done, lease, events = std::move(events)]() mutable {
    done(Status::OK(), lease, std::move(events));
  });
}

void LockState::FillStatLocked(const Node& n, NodeStat* st) const {
  if (st == nullptr) return;
  st->instance = n.rec.instance;
  st->content_generation = n.rec.content_generation;
  st->lock_generation = n.rec.lock_generation;
  st->checksum = n.rec.checksum;
  st->content_length = n.contents.size();
  st->num_children = static_cast<uint32_t>(n.children.size());
  st->ephemeral = n.rec.ephemeral_owner != 0;
  st->ephemeral_owner = n.rec.ephemeral_owner;
  st->lock_mode = n.held_mode;
  st->lock_holders = static_cast<uint32_t>(n.holders.size());
  st->ctime_ms = n.rec.ctime_ms;
  st->mtime_ms = n.rec.mtime_ms;
}

// ---- operations ------------------------------------------------------------------

Status LockState::CreateSession(const Caller& c, uint64_t* session_id, int64_t* lease_ms) {
  std::lock_guard<std::mutex> l(mu_);
  if (!broken_.ok()) return broken_;
  if (sessions_.size() >= opts_.max_sessions) {
    return Status::ResourceExhausted("lockd has " + std::to_string(sessions_.size()) +
                                     " sessions, the limit");
  }
  uint64_t id = 0;
  while (id == 0 || sessions_.count(id)) id = rng_() >> 1;
  Session& s = sessions_[id];
  s.rec.id = id;
  s.rec.principal = c.principal;
  s.rec.role = static_cast<uint32_t>(c.role);
  s.rec.address = c.address;
  s.rec.lease_ms = opts_.lease_ms;
  s.rec.created_ms = clock_->WallMs();
  s.expiry = NowLocked() + opts_.lease_ms;
  batch_.PutSession(s.rec);
  *session_id = id;
  *lease_ms = opts_.lease_ms;
  KDI_LOG(INFO, "lockd") << "session " << id << " created for " << c.principal << " ("
                         << RoleString(s.rec.role) << ") from " << c.address;
  return CommitLocked();
}

Status LockState::CloseSession(const Caller& c) {
  std::lock_guard<std::mutex> l(mu_);
  Session* s = nullptr;
  RETURN_NOT_OK(FindSessionLocked(c, &s));
  ExpireSessionLocked(c.session_id, true);
  return CommitLocked();
}

void LockState::KeepAlive(const Caller& c, uint64_t acked_seq, int64_t wait_ms, PollDone done,
                          CancelledFn cancelled) {
  std::lock_guard<std::mutex> l(mu_);
  Session* s = nullptr;
  Status st = FindSessionLocked(c, &s);
  if (!st.ok()) {
    Defer([done, st] { done(st, 0, {}); });
    return;
  }
  const int64_t now = clock_->NowMs();
  s->expiry = now + s->rec.lease_ms;
  if (s->poll) AnswerPollLocked(s);  // superseded by this one
  while (!s->events.empty() && s->events.front().seq <= acked_seq) s->events.pop_front();
  s->poll = std::move(done);
  s->poll_cancelled = std::move(cancelled);
  s->poll_deadline = now + std::clamp<int64_t>(wait_ms, 0, s->rec.lease_ms / 3);
  if (!s->events.empty() || wait_ms <= 0) AnswerPollLocked(s);
}

Status LockState::Open(const Caller& c, const std::string& path, uint32_t mode,
                       uint32_t event_mask, const std::string& initial, uint64_t* handle,
                       NodeStat* stat) {
  std::lock_guard<std::mutex> l(mu_);
  Session* s = nullptr;
  RETURN_NOT_OK(FindSessionLocked(c, &s));
  RETURN_NOT_OK(lock::ValidatePath(path));
  if (mode & ~lock::kAllOpenModes) return Status::InvalidArgument("unknown open mode bits");
  if (event_mask & ~lock::kAllNodeEvents) {
    return Status::InvalidArgument("unknown event mask bits");
  }
  const bool create = mode & (lock::kCreate | lock::kExclusiveCreate);
  if ((mode & lock::kEphemeral) && !create) {
    return Status::InvalidArgument("EPHEMERAL requires CREATE or EXCLUSIVE_CREATE");
  }
  if (initial.size() > lock::kMaxContentsBytes) return ContentsTooBig(initial.size());
  if (mode & (lock::kWrite | lock::kLock | lock::kCreate | lock::kExclusiveCreate)) {
    RETURN_NOT_OK(CheckWriteAclLocked(c, path));
  }
  if (s->handles.size() >= opts_.max_handles_per_session) {
    return Status::ResourceExhausted("session has " + std::to_string(s->handles.size()) +
                                     " open handles, the limit");
  }
  auto it = nodes_.find(path);
  Node* n = nullptr;
  if (it != nodes_.end()) {
    if (mode & lock::kExclusiveCreate) return Status::AlreadyExists(path + " exists");
    n = &it->second;
  } else {
    if (!create) return Status::NotFound("no such node: " + path);
    // Missing parents are created as persistent nodes (mkdir -p).
    std::vector<std::string> missing;
    std::string p = lock::ParentPath(path);
    while (nodes_.find(p) == nodes_.end()) {
      missing.push_back(p);
      p = lock::ParentPath(p);
    }
    if (nodes_[p].rec.ephemeral_owner != 0) {
      return Status::InvalidArgument("parent " + p + " is ephemeral and cannot have children");
    }
    for (auto m = missing.rbegin(); m != missing.rend(); ++m) {
      CreateNodeLocked(*m, 0, std::string());
    }
    n = CreateNodeLocked(path, (mode & lock::kEphemeral) ? c.session_id : 0, initial);
  }
  uint64_t id = next_handle_++;
  batch_.PutCounter("next_handle", next_handle_);
  Handle& h = handles_[id];
  h.rec.id = id;
  h.rec.session = c.session_id;
  h.rec.path = path;
  h.rec.instance = n->rec.instance;
  h.rec.mode = mode;
  h.rec.event_mask = event_mask;
  batch_.PutHandle(h.rec);
  n->handles.insert(id);
  s->handles.insert(id);
  *handle = id;
  FillStatLocked(*n, stat);
  return CommitLocked();
}

Status LockState::CloseHandle(const Caller& c, uint64_t handle) {
  std::lock_guard<std::mutex> l(mu_);
  Session* s = nullptr;
  RETURN_NOT_OK(FindSessionLocked(c, &s));
  auto it = handles_.find(handle);
  if (it == handles_.end()) {
    return Status::InvalidArgument("unknown or closed handle " + std::to_string(handle));
  }
  if (it->second.rec.session != c.session_id) {
    return Status::InvalidArgument("handle " + std::to_string(handle) +
                                   " belongs to another session");
  }
  CloseHandleLocked(handle, false);
  return CommitLocked();
}

Status LockState::GetContents(const Caller& c, uint64_t handle, std::string* contents,
                              NodeStat* stat) {
  std::lock_guard<std::mutex> l(mu_);
  Handle* h = nullptr;
  Node* n = nullptr;
  RETURN_NOT_OK(FindHandleLocked(c, handle, lock::kRead, &h, &n));
  *contents = n->contents;
  FillStatLocked(*n, stat);
  return Status::OK();
}

Status LockState::SetContents(const Caller& c, uint64_t handle, const std::string& contents,
                              bool has_cas, uint64_t cas_generation, NodeStat* stat) {
  std::lock_guard<std::mutex> l(mu_);
  Handle* h = nullptr;
  Node* n = nullptr;
  RETURN_NOT_OK(FindHandleLocked(c, handle, lock::kWrite, &h, &n));
  RETURN_NOT_OK(CheckWriteAclLocked(c, n->rec.path));
  if (contents.size() > lock::kMaxContentsBytes) return ContentsTooBig(contents.size());
  if (has_cas && n->rec.content_generation != cas_generation) {
    return Status::Conflict("content generation of " + n->rec.path + " is " +
                            std::to_string(n->rec.content_generation) + ", not " +
                            std::to_string(cas_generation));
  }
  n->contents = contents;
  n->rec.content_generation++;
  n->rec.checksum = Crc(contents);
  n->rec.mtime_ms = clock_->WallMs();
  batch_.PutNode(n->rec);
  batch_.PutContents(n->rec.path, contents);
  NotifyLocked(n, lock::kContentsChanged, n->rec.path);
  FillStatLocked(*n, stat);
  return CommitLocked();
}

Status LockState::ReadDirectory(const Caller& c, uint64_t handle,
                                std::vector<std::string>* names) {
  std::lock_guard<std::mutex> l(mu_);
  Handle* h = nullptr;
  Node* n = nullptr;
  RETURN_NOT_OK(FindHandleLocked(c, handle, lock::kRead, &h, &n));
  names->assign(n->children.begin(), n->children.end());
  return Status::OK();
}

Status LockState::Stat(const Caller& c, uint64_t handle, NodeStat* stat) {
  std::lock_guard<std::mutex> l(mu_);
  Handle* h = nullptr;
  Node* n = nullptr;
  RETURN_NOT_OK(FindHandleLocked(c, handle, 0, &h, &n));
  FillStatLocked(*n, stat);
  return Status::OK();
}

Status LockState::Delete(const Caller& c, uint64_t handle) {
  std::lock_guard<std::mutex> l(mu_);
  Handle* h = nullptr;
  Node* n = nullptr;
  RETURN_NOT_OK(FindHandleLocked(c, handle, lock::kWrite, &h, &n));
  RETURN_NOT_OK(CheckWriteAclLocked(c, n->rec.path));
  if (n->rec.path == "/") return Status::InvalidArgument("the root cannot be deleted");
  if (!n->children.empty()) {
    return Status::Conflict(n->rec.path + " is not empty (" +
                            std::to_string(n->children.size()) + " children)");
  }
  for (uint64_t holder : n->holders) {
    if (holder != handle) {
      return Status::Conflict(n->rec.path + " is locked through another handle");
    }
  }
  DeleteNodeLocked(n->rec.path);
  return CommitLocked();
}

void LockState::Acquire(const Caller& c, uint64_t handle, LockMode mode, int64_t wait_ms,
                        LockDone done, CancelledFn cancelled) {
  std::lock_guard<std::mutex> l(mu_);
  auto fail = [&](Status st) { Defer([done, st] { done(st, false, 0); }); };
  Handle* h = nullptr;
  Node* n = nullptr;
  Status st = FindHandleLocked(c, handle, lock::kLock, &h, &n);
  if (st.ok()) st = CheckWriteAclLocked(c, n->rec.path);
  if (st.ok() && mode != LockMode::kExclusive && mode != LockMode::kShared) {
    st = Status::InvalidArgument("lock mode must be EXCLUSIVE or SHARED");
  }
  if (!st.ok()) return fail(st);
  if (h->rec.held == static_cast<uint32_t>(mode)) {
    uint64_t gen = n->rec.lock_generation;
    Defer([done, gen] { done(Status::OK(), true, gen); });
    return;
  }
  if (h->rec.held != 0) {
    return fail(Status::InvalidArgument(std::string("handle already holds the lock in ") +
                                        lock::LockModeName(static_cast<LockMode>(h->rec.held)) +
                                        " mode; unlock first"));
  }
  // A retried request (after a reconnect) replaces the earlier one.
  for (auto w = n->waiters.begin(); w != n->waiters.end(); ++w) {
    if (w->handle == handle) {
      LockDone old = std::move(w->done);
      Defer([old] { old(Status::Aborted("superseded by a newer lock request"), false, 0); });
      n->waiters.erase(w);
      break;
    }
  }
  if (n->waiters.empty() && GrantableLocked(*n, mode)) {
    GrantLocked(n, h, mode);
    st = CommitLocked();
    if (!st.ok()) return fail(st);
    uint64_t gen = n->rec.lock_generation;
    Defer([done, gen] { done(Status::OK(), true, gen); });
    return;
  }
  if (wait_ms <= 0) {
    Defer([done] { done(Status::OK(), false, 0); });
    return;
  }
  const int64_t kMaxWait = 24LL * 3600 * 1000;
  n->waiters.push_back(Waiter{handle, mode, clock_->NowMs() + std::min(wait_ms, kMaxWait),
                              std::move(done), std::move(cancelled)});
  waiting_.insert(n->rec.path);
}

Status LockState::Release(const Caller& c, uint64_t handle) {
  std::lock_guard<std::mutex> l(mu_);
  Handle* h = nullptr;
  Node* n = nullptr;
  RETURN_NOT_OK(FindHandleLocked(c, handle, lock::kLock, &h, &n));
  if (h->rec.held == 0) {
    return Status::InvalidArgument("handle " + std::to_string(handle) + " on " + h->rec.path +
                                   " holds no lock");
  }
  ReleaseLocked(n, h, false);
  return CommitLocked();
}

Status LockState::GetSequencer(const Caller& c, uint64_t handle, std::string* sequencer) {
  std::lock_guard<std::mutex> l(mu_);
  Handle* h = nullptr;
  Node* n = nullptr;
  RETURN_NOT_OK(FindHandleLocked(c, handle, lock::kLock, &h, &n));
  if (h->rec.held == 0) {
    return Status::InvalidArgument("handle " + std::to_string(handle) + " holds no lock");
  }
  lock::Sequencer seq;
  seq.path = n->rec.path;
  seq.instance = n->rec.instance;
  seq.lock_generation = n->rec.lock_generation;
  seq.mode = static_cast<LockMode>(h->rec.held);
  *sequencer = lock::EncodeSequencer(seq);
  return Status::OK();
}

Status LockState::CheckSequencer(const std::string& sequencer) {
  lock::Sequencer seq;
  RETURN_NOT_OK(lock::DecodeSequencer(sequencer, &seq));
  std::lock_guard<std::mutex> l(mu_);
  if (!broken_.ok()) return broken_;
  auto it = nodes_.find(seq.path);
  if (it == nodes_.end() || it->second.rec.instance != seq.instance) {
    return Status::NotFound("sequencer names a deleted node " + seq.path);
  }
  const Node& n = it->second;
  if (n.holders.empty() || n.rec.lock_generation != seq.lock_generation ||
      n.held_mode != seq.mode) {
    return Status::Conflict("stale sequencer for " + seq.path + " (generation " +
                            std::to_string(seq.lock_generation) + ", lock now " +
                            (n.holders.empty() ? std::string("free")
                                               : "generation " +
                                                     std::to_string(n.rec.lock_generation)) +
                            ")");
  }
  return Status::OK();
}

Status LockState::ListSessions(std::vector<lock::SessionInfo>* out) {
  std::lock_guard<std::mutex> l(mu_);
  if (!broken_.ok()) return broken_;
  const int64_t now = clock_->NowMs();
  out->clear();
  for (const auto& [id, s] : sessions_) {
    lock::SessionInfo info;
    info.session_id = id;
    info.principal = s.rec.principal;
    info.role = RoleString(s.rec.role);
    info.address = s.rec.address;
    info.lease_left_ms = std::max<int64_t>(0, s.expiry - now);
    info.handles = static_cast<uint32_t>(s.handles.size());
    for (uint64_t hid : s.handles) {
      auto hit = handles_.find(hid);
      if (hit == handles_.end() || hit->second.rec.held == 0) continue;
      info.locks.push_back(
          std::string(lock::LockModeName(static_cast<LockMode>(hit->second.rec.held))) + " " +
          hit->second.rec.path);
    }
    out->push_back(std::move(info));
  }
  std::sort(out->begin(), out->end(),
            [](const lock::SessionInfo& a, const lock::SessionInfo& b) {
              return a.session_id < b.session_id;
            });
  return Status::OK();
}

void LockState::Tick() {
  std::lock_guard<std::mutex> l(mu_);
  if (!broken_.ok()) return;
  const int64_t now = NowLocked();
  std::vector<uint64_t> expired;
  for (auto& [id, s] : sessions_) {
    if (s.expiry <= now) {
      expired.push_back(id);
    } else if (s.poll && (s.poll_deadline <= now || (s.poll_cancelled && s.poll_cancelled()))) {
      AnswerPollLocked(&s);
    }
  }
  for (uint64_t id : expired) ExpireSessionLocked(id, false);

  std::vector<std::string> ready;
  for (const std::string& p : delayed_) {
    auto it = nodes_.find(p);
    if (it == nodes_.end() || it->second.lock_delay_until <= now) ready.push_back(p);
  }
  for (const std::string& p : ready) {
    delayed_.erase(p);
    auto it = nodes_.find(p);
    if (it != nodes_.end()) GrantWaitersLocked(&it->second);
  }

  std::vector<std::string> waiting(waiting_.begin(), waiting_.end());
  for (const std::string& p : waiting) {
    auto it = nodes_.find(p);
    if (it == nodes_.end()) {
      waiting_.erase(p);
      continue;
    }
    Node& n = it->second;
    bool removed = false;
    for (auto w = n.waiters.begin(); w != n.waiters.end();) {
      bool gone = w->cancelled && w->cancelled();
      if (w->deadline <= now || gone) {
        LockDone done = std::move(w->done);
        Defer([done] { done(Status::TimedOut("lock wait deadline passed"), false, 0); });
        w = n.waiters.erase(w);
        removed = true;
      } else {
        ++w;
      }
    }
    if (removed) GrantWaitersLocked(&n);
    if (n.waiters.empty()) waiting_.erase(p);
  }
  CommitLocked().ok();
}

Status LockState::Flush() {
  std::vector<std::function<void()>> run;
  {
    std::lock_guard<std::mutex> l(mu_);
    run.swap(deferred_);
    if (!broken_.ok()) return broken_;
  }
  Status s = store_->Sync();
  if (!s.ok()) {
    std::lock_guard<std::mutex> l(mu_);
    broken_ = s.CloneAndPrepend("lockd log flush failed; state machine stopped");
    KDI_LOG(ERROR, "lockd") << broken_.ToString();
    return broken_;
  }
  for (auto& fn : run) fn();
  return Status::OK();
}

Status LockState::broken() const {
  std::lock_guard<std::mutex> l(mu_);
  return broken_;
}

size_t LockState::session_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return sessions_.size();
}

size_t LockState::node_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return nodes_.size();
}

}  // namespace kdi::lockd
