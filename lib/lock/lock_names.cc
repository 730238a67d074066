// Names of the lock-client enums (kdi/lock_client.h), for logs and kdicli.
#include "kdi/lock_client.h"

namespace kdi::lock {

const char* EventTypeName(EventType t) {
  switch (t) {
    case kContentsChanged: return "CONTENTS_CHANGED";
    case kChildAdded: return "CHILD_ADDED";
    case kChildRemoved: return "CHILD_REMOVED";
    case kNodeDeleted: return "NODE_DELETED";
    case kLockAcquired: return "LOCK_ACQUIRED";
    case kLockReleased: return "LOCK_RELEASED";
    case kEventsDropped: return "EVENTS_DROPPED";
    case kSessionJeopardy: return "SESSION_JEOPARDY";
    case kSessionSafe: return "SESSION_SAFE";
    case kSessionExpired: return "SESSION_EXPIRED";
  }
  return "UNKNOWN";
}

const char* LockModeName(LockMode m) {
  switch (m) {
    case LockMode::kNone: return "NONE";
    case LockMode::kExclusive: return "EXCLUSIVE";
    case LockMode::kShared: return "SHARED";
  }
  return "UNKNOWN";
}

}  // namespace kdi::lock
