// LockdSession: the lockd implementation of kdi::lock::LockSession (see
// kdi/lock_client.h for the contract) over an rpc::Channel.
//
// Threads: a keepalive thread sends KeepAlive long polls back to back (each
// held by lockd up to lease/6 unless events arrive) and tracks the lease: the
// local lease end is (time the poll was *sent*) + (lease lockd granted), which
// can only be earlier than lockd's own view. With less than lease/4 left and
// no answer, the session is in jeopardy; a later answer makes it safe again;
// lockd saying SessionExpired, or grace_ms passing after the local lease end
// without an answer, makes it expired. An event thread delivers node and
// session events to the callback in order (so a slow callback never delays a
// keepalive).
//
// Retries: calls that are idempotent (reads, Acquire — holding the lock
// already is OK) are retried after a NetworkError (e.g. lockd restarting)
// until op_timeout_ms; others return the NetworkError, since lockd may or may
// not have applied them.
//
// Threading: thread-safe. Handles must not outlive their session.
#ifndef KDI_LIB_LOCK_LOCKD_SESSION_H_
#define KDI_LIB_LOCK_LOCKD_SESSION_H_

#include <memory>
#include <string>

#include "kdi/lock_client.h"

namespace kdi::lock {

// "lockd://HOST:PORT" or "HOST:PORT".
Status OpenLockdSession(const LockSessionOptions& opts, std::unique_ptr<LockSession>* out);

}  // namespace kdi::lock

#endif  // KDI_LIB_LOCK_LOCKD_SESSION_H_
