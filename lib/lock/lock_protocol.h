// The lock-service protocol (message types 100-199): request and reply bodies
// exchanged between lock clients and lockd. The byte grammar of every message is
// written at the top of lock_protocol.cc and in doc/lockd.md.
//
// To keep the codec small, every request decodes into one LockRequest and every
// reply into one LockReply; each message type uses the subset of fields listed
// in its grammar, the others keep their defaults. Decoding is bounds-checked
// and limit-checked (path length, contents size, counts) before allocating;
// malformed bodies give ProtocolError and unknown types NotSupported.
//
// Pure functions; any thread.
#ifndef KDI_LIB_LOCK_LOCK_PROTOCOL_H_
#define KDI_LIB_LOCK_LOCK_PROTOCOL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/lock_client.h"
#include "kdi/status.h"
#include "lib/rpc/message_types.h"

namespace kdi::lock {

enum LockMessage : uint16_t {
  kMsgCreateSession = rpc::kLockBlockBegin + 0,  // 100
  kMsgCloseSession = rpc::kLockBlockBegin + 1,
  kMsgKeepAlive = rpc::kLockBlockBegin + 2,
  kMsgOpen = rpc::kLockBlockBegin + 3,
  kMsgClose = rpc::kLockBlockBegin + 4,
  kMsgGetContents = rpc::kLockBlockBegin + 5,
  kMsgSetContents = rpc::kLockBlockBegin + 6,
  kMsgReadDirectory = rpc::kLockBlockBegin + 7,
  kMsgStat = rpc::kLockBlockBegin + 8,
  kMsgDelete = rpc::kLockBlockBegin + 9,
  kMsgAcquire = rpc::kLockBlockBegin + 10,
  kMsgRelease = rpc::kLockBlockBegin + 11,
  kMsgGetSequencer = rpc::kLockBlockBegin + 12,
  kMsgCheckSequencer = rpc::kLockBlockBegin + 13,
  kMsgListSessions = rpc::kLockBlockBegin + 14,  // 114
};
constexpr uint16_t kFirstLockMessage = kMsgCreateSession;
constexpr uint16_t kLastLockMessage = kMsgListSessions;
const char* LockMessageName(uint16_t type);

// Bounds of a message, enforced by the decoder.
constexpr size_t kMaxSequencerBytes = kMaxPathBytes + 64;
constexpr uint32_t kMaxEventsPerReply = 4096;
constexpr size_t kMaxLabelBytes = 256;

// An event as queued at lockd: numbered per session from 1, acknowledged by the
// client in its next KeepAlive.
struct SessionEvent {
  uint64_t seq = 0;
  Event event;
};

struct LockRequest {
  uint64_t session_id = 0;
  uint64_t handle = 0;
  std::string path;
  uint32_t mode = 0;        // open mode bits, or LockMode for Acquire
  uint32_t event_mask = 0;
  std::string contents;     // initial / new contents, sequencer, client label
  bool has_cas = false;
  uint64_t cas_generation = 0;
  uint64_t acked_event_seq = 0;
  int64_t wait_ms = 0;      // KeepAlive poll time / Acquire wait (0: try)
};

struct LockReply {
  uint64_t session_id = 0;
  int64_t lease_ms = 0;
  uint64_t handle = 0;
  NodeStat stat;
  std::string contents;     // contents or sequencer
  std::vector<std::string> names;
  std::vector<SessionEvent> events;
  bool acquired = false;
  uint64_t lock_generation = 0;
  std::vector<SessionInfo> sessions;
};

void EncodeRequest(uint16_t type, const LockRequest& req, std::string* out);
Status DecodeRequest(uint16_t type, std::string_view body, LockRequest* req);
void EncodeReply(uint16_t type, const LockReply& reply, std::string* out);
Status DecodeReply(uint16_t type, std::string_view body, LockReply* reply);

// Sequencers: "a lock on PATH (instance I) in MODE with generation G".
//   varint32 version(=1)  bytes path  varint64 instance  varint64 lock_generation
//   varint32 mode
struct Sequencer {
  std::string path;
  uint64_t instance = 0;
  uint64_t lock_generation = 0;
  LockMode mode = LockMode::kNone;
};
std::string EncodeSequencer(const Sequencer& s);
Status DecodeSequencer(std::string_view bytes, Sequencer* s);

}  // namespace kdi::lock

#endif  // KDI_LIB_LOCK_LOCK_PROTOCOL_H_
