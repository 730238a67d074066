// LockService: the lock-service RPC handlers (message types 100-199). Decodes
// each request (lib/lock/lock_protocol.h), runs it on the LockState, flushes
// (so nothing is acknowledged before it is durable) and replies.
//
// Every handler runs on an RPC worker thread and returns quickly: a blocking
// Acquire or a KeepAlive long poll parks its Responder in the state machine,
// which answers it later from whichever thread completes it (another request,
// or the ticker). No worker is ever held by a waiting client.
//
// Roles: every role may use sessions; ListSessions is for server and admin
// principals. Path ACLs are enforced by LockState.
//
// Threading: thread-safe; the LockState must outlive the rpc::Server.
#ifndef KDI_LOCKD_LOCK_SERVICE_H_
#define KDI_LOCKD_LOCK_SERVICE_H_

#include <string>

#include "lib/rpc/server.h"
#include "lockd/lock_state.h"

namespace kdi::lockd {

class LockService {
 public:
  explicit LockService(LockState* state) : state_(state) {}
  // REQUIRES: before server->Start().
  void Register(rpc::Server* server);

 private:
  void Handle(uint16_t type, std::string body, const rpc::ResponderPtr& r);
  void Finish(uint16_t type, Status s, const lock::LockReply& reply,
              const rpc::ResponderPtr& r);

  LockState* const state_;
};

}  // namespace kdi::lockd

#endif  // KDI_LOCKD_LOCK_SERVICE_H_
