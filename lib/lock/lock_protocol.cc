// Lock-service message codec. Byte grammar (primitives as in doc/protocol.md:
// varint, varsint, bool, bytes = varint length + bytes, count = varint32):
//
//   stat  := varint64 instance  varint64 content_generation  varint64 lock_generation
//            fixed32 checksum  varint64 content_length  varint32 num_children
//            bool ephemeral  varint64 ephemeral_owner  varint32 lock_mode
//            varint32 lock_holders  varsint64 ctime_ms  varsint64 mtime_ms
//   event := varint64 seq  varint32 type  varint64 handle  bytes path
//   sinfo := varint64 session_id  bytes principal  bytes role  bytes address
//            varsint64 lease_left_ms  varint32 handles  count n  n x bytes lock
//   S     := varint64 session_id        H := S varint64 handle
//
//   type                 request                                  reply payload
//   100 CreateSession    bytes label                              varint64 session_id varsint64 lease_ms
//   101 CloseSession     S                                        (empty)
//   102 KeepAlive        S varint64 acked_seq varsint64 wait_ms   varsint64 lease_ms count n, n x event
//   103 Open             S bytes path varint32 mode               varint64 handle stat
//                        varint32 event_mask bytes initial
//   104 Close            H                                        (empty)
//   105 GetContents      H                                        bytes contents stat
//   106 SetContents      H bytes contents bool has_cas            stat
//                        varint64 cas_generation
//   107 ReadDirectory    H                                        count n, n x bytes name
//   108 Stat             H                                        stat
//   109 Delete           H                                        (empty)
//   110 Acquire          H varint32 lock_mode varsint64 wait_ms   bool acquired varint64 lock_generation
//   111 Release          H                                        (empty)
//   112 GetSequencer     H                                        bytes sequencer
//   113 CheckSequencer   bytes sequencer                          (empty)
//   114 ListSessions     S                                        count n, n x sinfo
#include "lib/lock/lock_protocol.h"

#include "lib/util/coding.h"

namespace kdi::lock {
namespace {

void PutStat(std::string* out, const NodeStat& s) {
  PutVarint64(out, s.instance);
  PutVarint64(out, s.content_generation);
  PutVarint64(out, s.lock_generation);
  PutFixed32(out, s.checksum);
  PutVarint64(out, s.content_length);
  PutVarint32(out, s.num_children);
  PutBool(out, s.ephemeral);
  PutVarint64(out, s.ephemeral_owner);
  PutVarint32(out, static_cast<uint32_t>(s.lock_mode));
  PutVarint32(out, s.lock_holders);
  PutVarsint64(out, s.ctime_ms);
  PutVarsint64(out, s.mtime_ms);
}

void GetStat(Decoder* d, NodeStat* s) {
  uint32_t mode = 0;
  d->GetVarint64(&s->instance);
  d->GetVarint64(&s->content_generation);
  d->GetVarint64(&s->lock_generation);
  d->GetFixed32(&s->checksum);
  d->GetVarint64(&s->content_length);
  d->GetVarint32(&s->num_children);
  d->GetBool(&s->ephemeral);
  d->GetVarint64(&s->ephemeral_owner);
  d->GetVarint32(&mode);
  s->lock_mode = mode <= 2 ? static_cast<LockMode>(mode) : LockMode::kNone;
  d->GetVarint32(&s->lock_holders);
  d->GetVarsint64(&s->ctime_ms);
  d->GetVarsint64(&s->mtime_ms);
}

bool IsHandleMessage(uint16_t type) {
  switch (type) {
    case kMsgClose:
    case kMsgGetContents:
    case kMsgSetContents:
    case kMsgReadDirectory:
    case kMsgStat:
    case kMsgDelete:
    case kMsgAcquire:
    case kMsgRelease:
    case kMsgGetSequencer:
      return true;
    default:
      return false;
  }
}

bool Known(uint16_t type) { return type >= kFirstLockMessage && type <= kLastLockMessage; }

constexpr size_t kMaxDecodedBytes = 1u << 20;

Status Unknown(uint16_t type) {
  return Status::NotSupported("unknown lock message type " + std::to_string(type));
}

}  // namespace

const char* LockMessageName(uint16_t type) {
  switch (type) {
    case kMsgCreateSession: return "CreateSession";
    case kMsgCloseSession: return "CloseSession";
    case kMsgKeepAlive: return "KeepAlive";
    case kMsgOpen: return "Open";
    case kMsgClose: return "Close";
    case kMsgGetContents: return "GetContents";
    case kMsgSetContents: return "SetContents";
    case kMsgReadDirectory: return "ReadDirectory";
    case kMsgStat: return "Stat";
    case kMsgDelete: return "Delete";
    case kMsgAcquire: return "Acquire";
    case kMsgRelease: return "Release";
    case kMsgGetSequencer: return "GetSequencer";
    case kMsgCheckSequencer: return "CheckSequencer";
    case kMsgListSessions: return "ListSessions";
  }
  return "Unknown";
}

void EncodeRequest(uint16_t type, const LockRequest& r, std::string* out) {
  if (type == kMsgCreateSession) {
    PutLengthPrefixed(out, r.contents);
    return;
  }
  if (type == kMsgCheckSequencer) {
    PutLengthPrefixed(out, r.contents);
    return;
  }
  PutVarint64(out, r.session_id);
  if (IsHandleMessage(type)) PutVarint64(out, r.handle);
  switch (type) {
    case kMsgKeepAlive:
      PutVarint64(out, r.acked_event_seq);
      PutVarsint64(out, r.wait_ms);
      break;
    case kMsgOpen:
      PutLengthPrefixed(out, r.path);
      PutVarint32(out, r.mode);
      PutVarint32(out, r.event_mask);
      PutLengthPrefixed(out, r.contents);
      break;
    case kMsgSetContents:
      PutLengthPrefixed(out, r.contents);
      PutBool(out, r.has_cas);
      PutVarint64(out, r.cas_generation);
      break;
    case kMsgAcquire:
      PutVarint32(out, r.mode);
      PutVarsint64(out, r.wait_ms);
      break;
    default:
      break;
  }
}

Status DecodeRequest(uint16_t type, std::string_view body, LockRequest* r) {
  if (!Known(type)) return Unknown(type);
  *r = LockRequest();
  Decoder d(body);
  if (type == kMsgCreateSession) {
    d.GetLengthPrefixed(&r->contents, kMaxLabelBytes);
    return d.status("CreateSession request");
  }
  if (type == kMsgCheckSequencer) {
    d.GetLengthPrefixed(&r->contents, kMaxSequencerBytes);
    return d.status("CheckSequencer request");
  }
  d.GetVarint64(&r->session_id);
  if (IsHandleMessage(type)) d.GetVarint64(&r->handle);
  switch (type) {
    case kMsgKeepAlive:
      d.GetVarint64(&r->acked_event_seq);
      d.GetVarsint64(&r->wait_ms);
      break;
    case kMsgOpen:
      // Generous bounds here (the frame is bounded anyway) so that lockd can
      // say which limit was broken.
      d.GetLengthPrefixed(&r->path, kMaxDecodedBytes);
      d.GetVarint32(&r->mode);
      d.GetVarint32(&r->event_mask);
      d.GetLengthPrefixed(&r->contents, kMaxDecodedBytes);
      break;
    case kMsgSetContents:
      d.GetLengthPrefixed(&r->contents, kMaxDecodedBytes);
      d.GetBool(&r->has_cas);
      d.GetVarint64(&r->cas_generation);
      break;
    case kMsgAcquire:
      d.GetVarint32(&r->mode);
      d.GetVarsint64(&r->wait_ms);
      break;
    default:
      break;
  }
  return d.status(std::string(LockMessageName(type)) + " request");
}

void EncodeReply(uint16_t type, const LockReply& r, std::string* out) {
  switch (type) {
    case kMsgCreateSession:
      PutVarint64(out, r.session_id);
      PutVarsint64(out, r.lease_ms);
      break;
    case kMsgKeepAlive:
      PutVarsint64(out, r.lease_ms);
      PutVarint32(out, static_cast<uint32_t>(r.events.size()));
      for (const SessionEvent& e : r.events) {
        PutVarint64(out, e.seq);
        PutVarint32(out, e.event.type);
        PutVarint64(out, e.event.handle_id);
        PutLengthPrefixed(out, e.event.path);
      }
      break;
    case kMsgOpen:
      PutVarint64(out, r.handle);
      PutStat(out, r.stat);
      break;
    case kMsgGetContents:
      PutLengthPrefixed(out, r.contents);
      PutStat(out, r.stat);
      break;
    case kMsgSetContents:
    case kMsgStat:
      PutStat(out, r.stat);
      break;
    case kMsgReadDirectory:
      PutVarint32(out, static_cast<uint32_t>(r.names.size()));
      for (const std::string& n : r.names) PutLengthPrefixed(out, n);
      break;
    case kMsgAcquire:
      PutBool(out, r.acquired);
      PutVarint64(out, r.lock_generation);
      break;
    case kMsgGetSequencer:
      PutLengthPrefixed(out, r.contents);
      break;
    case kMsgListSessions:
      PutVarint32(out, static_cast<uint32_t>(r.sessions.size()));
      for (const SessionInfo& s : r.sessions) {
        PutVarint64(out, s.session_id);
        PutLengthPrefixed(out, s.principal);
        PutLengthPrefixed(out, s.role);
        PutLengthPrefixed(out, s.address);
        PutVarsint64(out, s.lease_left_ms);
        PutVarint32(out, s.handles);
        PutVarint32(out, static_cast<uint32_t>(s.locks.size()));
        for (const std::string& l : s.locks) PutLengthPrefixed(out, l);
      }
      break;
    default:
      break;
  }
}

Status DecodeReply(uint16_t type, std::string_view body, LockReply* r) {
  if (!Known(type)) return Unknown(type);
  *r = LockReply();
  Decoder d(body);
  uint32_t n = 0;
  switch (type) {
    case kMsgCreateSession:
      d.GetVarint64(&r->session_id);
      d.GetVarsint64(&r->lease_ms);
      break;
    case kMsgKeepAlive:
      d.GetVarsint64(&r->lease_ms);
      if (d.GetCount(&n, 4, kMaxEventsPerReply)) {
        r->events.resize(n);
        for (SessionEvent& e : r->events) {
          uint32_t t = 0;
          d.GetVarint64(&e.seq);
          d.GetVarint32(&t);
          e.event.type = static_cast<EventType>(t);
          d.GetVarint64(&e.event.handle_id);
          d.GetLengthPrefixed(&e.event.path, kMaxPathBytes);
        }
      }
      break;
    case kMsgOpen:
      d.GetVarint64(&r->handle);
      GetStat(&d, &r->stat);
      break;
    case kMsgGetContents:
      d.GetLengthPrefixed(&r->contents, kMaxContentsBytes);
      GetStat(&d, &r->stat);
      break;
    case kMsgSetContents:
    case kMsgStat:
      GetStat(&d, &r->stat);
      break;
    case kMsgReadDirectory:
      if (d.GetCount(&n, 1)) {
        r->names.resize(n);
        for (std::string& name : r->names) d.GetLengthPrefixed(&name, kMaxComponentBytes);
      }
      break;
    case kMsgAcquire:
      d.GetBool(&r->acquired);
      d.GetVarint64(&r->lock_generation);
      break;
    case kMsgGetSequencer:
      d.GetLengthPrefixed(&r->contents, kMaxSequencerBytes);
      break;
    case kMsgListSessions:
      if (d.GetCount(&n, 8)) {
        r->sessions.resize(n);
        for (SessionInfo& s : r->sessions) {
          uint32_t locks = 0;
          d.GetVarint64(&s.session_id);
          d.GetLengthPrefixed(&s.principal, 1024);
          d.GetLengthPrefixed(&s.role, 64);
          d.GetLengthPrefixed(&s.address, 1024);
          d.GetVarsint64(&s.lease_left_ms);
          d.GetVarint32(&s.handles);
          if (d.GetCount(&locks, 1)) {
            s.locks.resize(locks);
            for (std::string& l : s.locks) d.GetLengthPrefixed(&l, kMaxPathBytes + 32);
          }
        }
      }
      break;
    default:
      break;
  }
  return d.status(std::string(LockMessageName(type)) + " reply");
}

std::string EncodeSequencer(const Sequencer& s) {
  std::string out;
  PutVarint32(&out, 1);
  PutLengthPrefixed(&out, s.path);
  PutVarint64(&out, s.instance);
  PutVarint64(&out, s.lock_generation);
  PutVarint32(&out, static_cast<uint32_t>(s.mode));
  return out;
}

Status DecodeSequencer(std::string_view bytes, Sequencer* s) {
  Decoder d(bytes);
  uint32_t version = 0, mode = 0;
  d.GetVarint32(&version);
  d.GetLengthPrefixed(&s->path, kMaxPathBytes);
  d.GetVarint64(&s->instance);
  d.GetVarint64(&s->lock_generation);
  d.GetVarint32(&mode);
  if (!d.ok() || !d.empty() || version != 1 || mode < 1 || mode > 2) {
    return Status::InvalidArgument("malformed sequencer");
  }
  s->mode = static_cast<LockMode>(mode);
  return Status::OK();
}

}  // namespace kdi::lock
