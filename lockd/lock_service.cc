// Lock-service RPC handlers (see lock_service.h).
#include "lockd/lock_service.h"

#include "lib/lock/lock_protocol.h"
#include "lib/util/log.h"

namespace kdi::lockd {

using lock::LockReply;
using lock::LockRequest;

void LockService::Register(rpc::Server* server) {
  for (uint16_t t = lock::kFirstLockMessage; t <= lock::kLastLockMessage; ++t) {
    rpc::RoleSet roles = rpc::RoleSet::Any();
    if (t == lock::kMsgListSessions) roles = rpc::RoleSet({rpc::Role::kServer, rpc::Role::kAdmin});
    server->Register(
        t, [this, t](std::string body, rpc::ResponderPtr r) { Handle(t, std::move(body), r); },
        rpc::Dispatch::kWorker, roles);
  }
}

void LockService::Finish(uint16_t type, Status s, const LockReply& reply,
                         const rpc::ResponderPtr& r) {
  Status fs = state_->Flush();
  if (s.ok() && !fs.ok()) s = fs;
  std::string out;
  if (s.ok()) lock::EncodeReply(type, reply, &out);
  r->Reply(s, std::move(out));
}

void LockService::Handle(uint16_t type, std::string body, const rpc::ResponderPtr& r) {
  LockRequest req;
  Status s = lock::DecodeRequest(type, body, &req);
  if (!s.ok()) {
    r->Reply(s);
    return;
  }
  Caller c;
  c.session_id = req.session_id;
  c.principal = r->peer().principal;
  c.role = r->peer().role;
  c.address = r->peer().address;
  LockReply rep;
  switch (type) {
    case lock::kMsgCreateSession:
      s = state_->CreateSession(c, &rep.session_id, &rep.lease_ms);
      break;
    case lock::kMsgCloseSession:
      s = state_->CloseSession(c);
      break;
    case lock::kMsgKeepAlive: {
      rpc::ResponderPtr keep = r;
      state_->KeepAlive(
          c, req.acked_event_seq, req.wait_ms,
          [keep](const Status& st, int64_t lease, std::vector<lock::SessionEvent> events) {
            LockReply out;
            out.lease_ms = lease;
            out.events = std::move(events);
            std::string payload;
            if (st.ok()) lock::EncodeReply(lock::kMsgKeepAlive, out, &payload);
            keep->Reply(st, std::move(payload));
          },
          [keep] { return keep->cancelled(); });
      Status fs = state_->Flush();
      if (!fs.ok()) r->Reply(fs);
      return;
    }
    case lock::kMsgOpen:
      s = state_->Open(c, req.path, req.mode, req.event_mask, req.contents, &rep.handle,
                       &rep.stat);
      break;
    case lock::kMsgClose:
      s = state_->CloseHandle(c, req.handle);
      break;
    case lock::kMsgGetContents:
      s = state_->GetContents(c, req.handle, &rep.contents, &rep.stat);
      break;
    case lock::kMsgSetContents:
      s = state_->SetContents(c, req.handle, req.contents, req.has_cas, req.cas_generation,
                              &rep.stat);
      break;
    case lock::kMsgReadDirectory:
      s = state_->ReadDirectory(c, req.handle, &rep.names);
      break;
    case lock::kMsgStat:
      s = state_->Stat(c, req.handle, &rep.stat);
      break;
    case lock::kMsgDelete:
      s = state_->Delete(c, req.handle);
      break;
    case lock::kMsgAcquire: {
      rpc::ResponderPtr keep = r;
      state_->Acquire(
          c, req.handle, static_cast<lock::LockMode>(req.mode), req.wait_ms,
          [keep](const Status& st, bool acquired, uint64_t gen) {
            LockReply out;
            out.acquired = acquired;
            out.lock_generation = gen;
            std::string payload;
            if (st.ok()) lock::EncodeReply(lock::kMsgAcquire, out, &payload);
            keep->Reply(st, std::move(payload));
          },
          [keep] { return keep->cancelled(); });
      Status fs = state_->Flush();
      if (!fs.ok()) r->Reply(fs);
      return;
    }
    case lock::kMsgRelease:
      s = state_->Release(c, req.handle);
      break;
    case lock::kMsgGetSequencer:
      s = state_->GetSequencer(c, req.handle, &rep.contents);
      break;
    case lock::kMsgCheckSequencer:
      s = state_->CheckSequencer(req.contents);
      break;
    case lock::kMsgListSessions:
      s = state_->ListSessions(&rep.sessions);
      break;
    default:
      s = Status::NotSupported("unknown lock message type " + std::to_string(type));
  }
  Finish(type, std::move(s), rep, r);
}

}  // namespace kdi::lockd
