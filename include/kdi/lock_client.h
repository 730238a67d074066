// The lock-service client: the one interface through which every part of KDI
// (masterd, tabletd, libkdi, kdicli) uses a Chubby-style coordination service.
//
// The interface is abstract so that another backend (a ZooKeeper ensemble, say)
// can stand in for lockd without changing any user: users hold a LockSession
// obtained from OpenLockSession() and LockHandles obtained from the session, and
// never name the implementation. The backend is chosen by the scheme of
// LockSessionOptions::service ("lockd://HOST:PORT" or a bare "HOST:PORT").
//
// Model (see doc/lockd.md): a tree of nodes named by absolute paths; every node
// has contents (at most kMaxContentsBytes) and may have children. A session
// holds a lease that the library keeps alive on its own thread. Handles are
// opened on a node and bound to that node's *instance*: after the node is
// deleted (and maybe recreated) the handle fails with NotFound. Locks
// (exclusive or shared, advisory) are held through a handle; a sequencer names a
// held lock and its generation so that a third party can reject a stale holder.
//
// Lease safety: the library tracks the lease conservatively from the time each
// keepalive was *sent*. When it can no longer be sure the lease is alive it
// reports kSessionJeopardy, then kSessionSafe (a keepalive got through) or
// kSessionExpired (lockd said so, or the client-side grace ran out). A server
// that must not act without its lock (tabletd) stops on jeopardy: lockd lets
// nobody else take the lock before lease + lock-delay have passed.
//
// Ownership: the session owns its keepalive thread; handles refer to their
// session, which must outlive them. Destroying a session without Close() stops
// the keepalives (the lease then runs out at lockd).
//
// Threading: LockSession and LockHandle are thread-safe; any thread may call any
// method, blocking calls block only the caller. Event callbacks run on the
// session's event thread, in the order lockd produced the events, one at a time;
// they must not block for long, and must not Close() or destroy the session
// (hand that to another thread). A handle's destructor closes it at the
// service and may block up to op_timeout_ms when the service is unreachable.
#ifndef KDI_LOCK_CLIENT_H_
#define KDI_LOCK_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/status.h"

namespace kdi::lock {

constexpr size_t kMaxContentsBytes = 256 * 1024;
constexpr size_t kMaxPathBytes = 1024;
constexpr size_t kMaxComponentBytes = 255;

// Open mode bits (combine with |).
enum OpenMode : uint32_t {
  kRead = 1u << 0,             // getContents, readDirectory
  kWrite = 1u << 1,            // setContents, delete
  kLock = 1u << 2,             // lock, tryLock, unlock, getSequencer
  kCreate = 1u << 3,           // create the node (and missing parents) if absent
  kExclusiveCreate = 1u << 4,  // create; AlreadyExists if present
  kEphemeral = 1u << 5,        // a created node is deleted when this session ends
};
constexpr uint32_t kAllOpenModes = 0x3f;

enum EventType : uint32_t {
  kContentsChanged = 1,
  kChildAdded = 2,
  kChildRemoved = 3,
  kNodeDeleted = 4,
  kLockAcquired = 5,
  kLockReleased = 6,
  kEventsDropped = 7,     // the session's event queue overflowed at lockd
  kSessionJeopardy = 8,   // session-level events: the library makes these
  kSessionSafe = 9,
  kSessionExpired = 10,
};
constexpr uint32_t EventBit(EventType t) { return 1u << t; }
// Node events a handle may subscribe to.
constexpr uint32_t kAllNodeEvents = EventBit(kContentsChanged) | EventBit(kChildAdded) |
                                    EventBit(kChildRemoved) | EventBit(kNodeDeleted) |
                                    EventBit(kLockAcquired) | EventBit(kLockReleased);
const char* EventTypeName(EventType t);

enum class LockMode : uint32_t { kNone = 0, kExclusive = 1, kShared = 2 };
const char* LockModeName(LockMode m);

struct NodeStat {
  uint64_t instance = 0;            // unique per creation of a node
  uint64_t content_generation = 0;  // +1 per setContents
  uint64_t lock_generation = 0;     // +1 each time the lock goes from free to held
  uint32_t checksum = 0;            // CRC-32 of the contents
  uint64_t content_length = 0;
  uint32_t num_children = 0;
  bool ephemeral = false;
  uint64_t ephemeral_owner = 0;     // session id (0 when persistent)
  LockMode lock_mode = LockMode::kNone;  // current lock state
  uint32_t lock_holders = 0;
  int64_t ctime_ms = 0;             // wall clock, ms since the epoch
  int64_t mtime_ms = 0;
};

struct Event {
  EventType type = kContentsChanged;
  std::string path;        // the node concerned (the child for child events)
  uint64_t handle_id = 0;  // the subscribing handle (0 for session events)
};

struct SessionInfo {
  uint64_t session_id = 0;
  std::string principal;
  std::string role;
  std::string address;
  int64_t lease_left_ms = 0;
  uint32_t handles = 0;
  std::vector<std::string> locks;  // "EXCLUSIVE /kdi/master"
};

enum class SessionState { kSafe, kJeopardy, kExpired, kClosed };

using EventCallback = std::function<void(const Event& event)>;

struct LockSessionOptions {
  // "lockd://HOST:PORT" or "HOST:PORT" (lockd). Other schemes: NotSupported.
  std::string service;
  // PEM files: cluster CA, this process's certificate and key (mutual TLS).
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  // Node and session events, in order, on the session's event thread.
  EventCallback on_event;
  // Deadline of each ordinary call (including retries after reconnects).
  int64_t op_timeout_ms = 10000;
  // How long after the local lease ran out the library keeps trying to reach
  // the service before declaring the session expired; < 0: one lease.
  int64_t grace_ms = -1;
};

class LockHandle {
 public:
  virtual ~LockHandle() = default;  // closes the handle (best effort)

  virtual const std::string& path() const = 0;
  virtual uint64_t id() const = 0;

  // REQUIRES: opened with kRead.
  virtual Status GetContents(std::string* contents, NodeStat* stat = nullptr) = 0;
  // Compare-and-set when cas_generation >= 0: Conflict (and no change) unless
  // the node's content generation equals it. REQUIRES: kWrite.
  virtual Status SetContents(std::string_view contents, int64_t cas_generation = -1,
                             NodeStat* stat = nullptr) = 0;
  // Names of the children (not paths), sorted. REQUIRES: kRead.
  virtual Status ReadDirectory(std::vector<std::string>* names) = 0;
  virtual Status Stat(NodeStat* stat) = 0;
  // Deletes the node; Conflict if it has children or another handle holds its
  // lock. REQUIRES: kWrite.
  virtual Status Delete() = 0;

  // Blocks until the lock is held or timeout_ms passes (TimedOut); timeout_ms
  // < 0 waits without limit. Holding the lock already in that mode is OK.
  // REQUIRES: kLock.
  virtual Status Lock(LockMode mode, int64_t timeout_ms) = 0;
  virtual Status TryLock(LockMode mode, bool* acquired) = 0;
  // InvalidArgument if this handle holds no lock.
  virtual Status Unlock() = 0;
  // An opaque token naming the lock this handle holds and its generation.
  virtual Status GetSequencer(std::string* sequencer) = 0;

  // Releases the handle's lock (if any) and the handle. Later calls fail.
  virtual Status Close() = 0;
};

class LockSession {
 public:
  virtual ~LockSession() = default;  // stops keepalives; does not Close()

  // Opens path with mode bits (OpenMode) and subscribes the handle to the
  // events in event_mask (EventBit(...)). initial_contents is used when this
  // call creates the node.
  virtual Status Open(const std::string& path, uint32_t mode, uint32_t event_mask,
                      std::unique_ptr<LockHandle>* handle, NodeStat* stat = nullptr,
                      std::string_view initial_contents = std::string_view()) = 0;

  // OK if the sequencer names a lock that is still held with that generation;
  // Conflict (stale) or NotFound (node gone) otherwise.
  virtual Status CheckSequencer(const std::string& sequencer) = 0;

  // Live sessions known to the service (for operators).
  virtual Status ListSessions(std::vector<SessionInfo>* sessions) = 0;

  virtual SessionState state() const = 0;
  virtual uint64_t session_id() const = 0;
  // The lease the service grants, in ms.
  virtual int64_t lease_ms() const = 0;

  // Ends the session cleanly at the service: locks released without
  // lock-delay, ephemeral nodes deleted, handles closed.
  virtual Status Close() = 0;
};

// Connects to the service named in opts and creates a new session.
Status OpenLockSession(const LockSessionOptions& opts, std::unique_ptr<LockSession>* session);

}  // namespace kdi::lock

#endif  // KDI_LOCK_CLIENT_H_
