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
#include "lib/util/field_codec.h"

namespace kdi::lock {
namespace {

// Each message's fields are described once, in the order of the grammar above,
// for FieldWriter (encode) and FieldReader (decode); see lib/util/field_codec.h.

template <class C>
void StatFields(C& c, NodeStat* s) {
  c.Varint64(&s->instance);
  c.Varint64(&s->content_generation);
  c.Varint64(&s->lock_generation);
  c.Fixed32(&s->checksum);
  c.Varint64(&s->content_length);
  c.Varint32(&s->num_children);
  c.Bool(&s->ephemeral);
  c.Varint64(&s->ephemeral_owner);
  c.Enum(&s->lock_mode, 2, LockMode::kNone);
  c.Varint32(&s->lock_holders);
  c.Varsint64(&s->ctime_ms);
  c.Varsint64(&s->mtime_ms);
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

// Generous bounds for request paths and contents (the frame is bounded anyway)
// so that lockd, not the decoder, can say which limit was broken.
constexpr size_t kMaxDecodedBytes = 1u << 20;

Status Unknown(uint16_t type) {
  return Status::NotSupported("unknown lock message type " + std::to_string(type));
}

template <class C>
void RequestFields(C& c, uint16_t type, LockRequest* r) {
  if (type == kMsgCreateSession) {
    c.Bytes(&r->contents, kMaxLabelBytes);
    return;
  }
  if (type == kMsgCheckSequencer) {
    c.Bytes(&r->contents, kMaxSequencerBytes);
    return;
  }
  c.Varint64(&r->session_id);
  if (IsHandleMessage(type)) c.Varint64(&r->handle);
  switch (type) {
    case kMsgKeepAlive:
      c.Varint64(&r->acked_event_seq);
      c.Varsint64(&r->wait_ms);
      break;
    case kMsgOpen:
      c.Bytes(&r->path, kMaxDecodedBytes);
      c.Varint32(&r->mode);
      c.Varint32(&r->event_mask);
      c.Bytes(&r->contents, kMaxDecodedBytes);
      break;
    case kMsgSetContents:
      c.Bytes(&r->contents, kMaxDecodedBytes);
      c.Bool(&r->has_cas);
      c.Varint64(&r->cas_generation);
      break;
    case kMsgAcquire:
      c.Varint32(&r->mode);
      c.Varsint64(&r->wait_ms);
      break;
    default:
      break;
  }
}

template <class C>
void EventFields(C& c, SessionEvent* e) {
  c.Varint64(&e->seq);
  // A type this client does not know reads as kEventsDropped: re-read the state.
  c.Enum(&e->event.type, kSessionExpired, kEventsDropped);
  c.Varint64(&e->event.handle_id);
  c.Bytes(&e->event.path, kMaxPathBytes);
}

template <class C>
void SessionInfoFields(C& c, SessionInfo* s) {
  c.Varint64(&s->session_id);
  c.Bytes(&s->principal, 1024);
  c.Bytes(&s->role, 64);
  c.Bytes(&s->address, 1024);
  c.Varsint64(&s->lease_left_ms);
  c.Varint32(&s->handles);
  c.List(&s->locks, 1, UINT32_MAX,
         [](C& lc, std::string* l) { lc.Bytes(l, kMaxPathBytes + 32); });
}

template <class C>
void ReplyFields(C& c, uint16_t type, LockReply* r) {
  switch (type) {
    case kMsgCreateSession:
      c.Varint64(&r->session_id);
      c.Varsint64(&r->lease_ms);
      break;
    case kMsgKeepAlive:
      c.Varsint64(&r->lease_ms);
      c.List(&r->events, 4, kMaxEventsPerReply, EventFields<C>);
      break;
    case kMsgOpen:
      c.Varint64(&r->handle);
      StatFields(c, &r->stat);
      break;
    case kMsgGetContents:
      c.Bytes(&r->contents, kMaxContentsBytes);
      StatFields(c, &r->stat);
      break;
    case kMsgSetContents:
    case kMsgStat:
      StatFields(c, &r->stat);
      break;
    case kMsgReadDirectory:
      c.List(&r->names, 1, UINT32_MAX,
             [](C& nc, std::string* name) { nc.Bytes(name, kMaxComponentBytes); });
      break;
    case kMsgAcquire:
      c.Bool(&r->acquired);
      c.Varint64(&r->lock_generation);
      break;
    case kMsgGetSequencer:
      c.Bytes(&r->contents, kMaxSequencerBytes);
      break;
    case kMsgListSessions:
      // The smallest sinfo is 7 bytes (empty strings, no locks).
      c.List(&r->sessions, 7, UINT32_MAX, SessionInfoFields<C>);
      break;
    default:
      break;
  }
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
  FieldWriter w(out);
  RequestFields(w, type, const_cast<LockRequest*>(&r));
}

Status DecodeRequest(uint16_t type, std::string_view body, LockRequest* r) {
  if (!Known(type)) return Unknown(type);
  *r = LockRequest();
  FieldReader reader(body);
  RequestFields(reader, type, r);
  return reader.status(std::string(LockMessageName(type)) + " request");
}

void EncodeReply(uint16_t type, const LockReply& r, std::string* out) {
  FieldWriter w(out);
  ReplyFields(w, type, const_cast<LockReply*>(&r));
}

Status DecodeReply(uint16_t type, std::string_view body, LockReply* r) {
  if (!Known(type)) return Unknown(type);
  *r = LockReply();
  FieldReader reader(body);
  ReplyFields(reader, type, r);
  return reader.status(std::string(LockMessageName(type)) + " reply");
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
