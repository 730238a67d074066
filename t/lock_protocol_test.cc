// Tests of the lock-service codec (lib/lock/lock_protocol.h) and path rules
// (lib/lock/lock_path.h): every message round-trips, and truncated, mutated or
// random bodies are refused cleanly (never a crash or a huge allocation).
#include "lib/lock/lock_protocol.h"

#include <random>

#include "lib/lock/lock_path.h"
#include "t/test_util.h"

namespace kdi::lock {
namespace {

LockRequest FullRequest() {
  LockRequest r;
  r.session_id = 0x123456789abcdefULL;
  r.handle = 77;
  r.path = "/kdi/servers/h:1";
  r.mode = kCreate | kLock;
  r.event_mask = EventBit(kLockReleased);
  r.contents = std::string("a\0b", 3);
  r.has_cas = true;
  r.cas_generation = 9;
  r.acked_event_seq = 5;
  r.wait_ms = 4000;
  return r;
}

LockReply FullReply() {
  LockReply r;
  r.session_id = 1;
  r.lease_ms = 12000;
  r.handle = 2;
  r.stat.instance = 3;
  r.stat.content_generation = 4;
  r.stat.lock_generation = 5;
  r.stat.checksum = 0xdeadbeef;
  r.stat.content_length = 6;
  r.stat.num_children = 7;
  r.stat.ephemeral = true;
  r.stat.ephemeral_owner = 8;
  r.stat.lock_mode = LockMode::kShared;
  r.stat.lock_holders = 2;
  r.stat.ctime_ms = -5;
  r.stat.mtime_ms = 1700000000000;
  r.contents = "contents";
  r.names = {"a", "b"};
  r.events = {SessionEvent{1, Event{kChildAdded, "/x/y", 3}},
              SessionEvent{2, Event{kNodeDeleted, "/x", 4}}};
  r.acquired = true;
  r.lock_generation = 11;
  SessionInfo si;
  si.session_id = 12;
  si.principal = "tabletd-0";
  si.role = "server";
  si.address = "127.0.0.1:5";
  si.lease_left_ms = 900;
  si.handles = 3;
  si.locks = {"EXCLUSIVE /kdi/master"};
  r.sessions = {si};
  return r;
}

TEST(LockProtocolTest, EveryMessageRoundTrips) {
  for (uint16_t t = kFirstLockMessage; t <= kLastLockMessage; ++t) {
    std::string body;
    EncodeRequest(t, FullRequest(), &body);
    LockRequest req;
    ASSERT_OK(DecodeRequest(t, body, &req));
    std::string again;
    EncodeRequest(t, req, &again);
    EXPECT_EQ(body, again) << LockMessageName(t);

    body.clear();
    again.clear();
    EncodeReply(t, FullReply(), &body);
    LockReply rep;
    ASSERT_OK(DecodeReply(t, body, &rep));
    EncodeReply(t, rep, &again);
    EXPECT_EQ(body, again) << LockMessageName(t);
  }
  std::string body;
  EncodeRequest(kMsgOpen, FullRequest(), &body);
  LockRequest req;
  ASSERT_OK(DecodeRequest(kMsgOpen, body, &req));
  body.clear();
  EXPECT_EQ("/kdi/servers/h:1", req.path);
  EXPECT_EQ(std::string("a\0b", 3), req.contents);
  EXPECT_EQ(EventBit(kLockReleased), req.event_mask);
  EncodeReply(kMsgKeepAlive, FullReply(), &body);
  LockReply rep;
  ASSERT_OK(DecodeReply(kMsgKeepAlive, body, &rep));
  ASSERT_EQ(2u, rep.events.size());
  EXPECT_EQ("/x/y", rep.events[0].event.path);
  EXPECT_EQ(kNodeDeleted, rep.events[1].event.type);
}

TEST(LockProtocolTest, UnknownTypesAndTrailingBytesAreRefused) {
  LockRequest req;
  EXPECT_EQ(Status::Code::kNotSupported, DecodeRequest(99, "", &req).code());
  EXPECT_EQ(Status::Code::kNotSupported, DecodeRequest(115, "", &req).code());
  std::string body;
  EncodeRequest(kMsgStat, FullRequest(), &body);
  body += 'x';
  EXPECT_EQ(Status::Code::kProtocolError, DecodeRequest(kMsgStat, body, &req).code());
}

TEST(LockProtocolTest, TruncatedMutatedAndRandomBodiesNeverCrash) {
  std::mt19937 rng(42);
  for (uint16_t t = kFirstLockMessage; t <= kLastLockMessage; ++t) {
    std::string req_body, rep_body;
    EncodeRequest(t, FullRequest(), &req_body);
    EncodeReply(t, FullReply(), &rep_body);
    for (const std::string& body : {req_body, rep_body}) {
      for (size_t n = 0; n < body.size(); ++n) {
        LockRequest req;
        LockReply rep;
        (void)DecodeRequest(t, body.substr(0, n), &req);
        (void)DecodeReply(t, body.substr(0, n), &rep);
      }
      for (int i = 0; i < 300 && !body.empty(); ++i) {
        std::string m = body;
        m[rng() % m.size()] = static_cast<char>(rng());
        LockRequest req;
        LockReply rep;
        (void)DecodeRequest(t, m, &req);
        if (DecodeReply(t, m, &rep).ok()) {
          EXPECT_LE(rep.events.size(), kMaxEventsPerReply);
          EXPECT_LE(rep.names.size(), m.size());
        }
      }
    }
    for (int i = 0; i < 300; ++i) {
      std::string r(rng() % 64, '\0');
      for (char& c : r) c = static_cast<char>(rng());
      LockRequest req;
      LockReply rep;
      (void)DecodeRequest(t, r, &req);
      (void)DecodeReply(t, r, &rep);
    }
  }
  // A count claiming billions of events in a tiny body is refused before use.
  std::string huge;
  huge += '\x02';                           // lease_ms (zig-zag 1)
  huge += "\xff\xff\xff\xff\x0f";           // count = 2^32-1
  LockReply rep;
  EXPECT_FALSE(DecodeReply(kMsgKeepAlive, huge, &rep).ok());
}

TEST(LockProtocolTest, Sequencers) {
  Sequencer s;
  s.path = "/kdi/master";
  s.instance = 5;
  s.lock_generation = 6;
  s.mode = LockMode::kExclusive;
  Sequencer d;
  ASSERT_OK(DecodeSequencer(EncodeSequencer(s), &d));
  EXPECT_EQ(s.path, d.path);
  EXPECT_EQ(6u, d.lock_generation);
  EXPECT_EQ(LockMode::kExclusive, d.mode);
  EXPECT_TRUE(DecodeSequencer("", &d).IsInvalidArgument());
  EXPECT_TRUE(DecodeSequencer(EncodeSequencer(s) + "x", &d).IsInvalidArgument());
  s.mode = LockMode::kNone;
  EXPECT_TRUE(DecodeSequencer(EncodeSequencer(s), &d).IsInvalidArgument());
}

TEST(LockPathTest, RulesAndHelpers) {
  for (const char* ok : {"/", "/a", "/a/b.c", "/kdi/servers/127.0.0.1:7402", "/a/...",
                         "/with space"}) {
    EXPECT_OK(ValidatePath(ok));
  }
  for (const char* bad : {"", "a", "a/b", "//", "/a/", "/a//b", "/.", "/a/./b", "/..",
                          "/a/../b", "/a\tb", "/a\x7f"}) {
    EXPECT_TRUE(ValidatePath(bad).IsInvalidArgument()) << bad;
  }
  EXPECT_OK(ValidatePath("/" + std::string(kMaxComponentBytes, 'c')));
  EXPECT_TRUE(ValidatePath("/" + std::string(kMaxComponentBytes + 1, 'c')).IsInvalidArgument());
  std::string longest;
  while (longest.size() + 101 <= kMaxPathBytes) longest += "/" + std::string(100, 'p');
  EXPECT_OK(ValidatePath(longest));
  EXPECT_TRUE(ValidatePath(longest + "/" + std::string(100, 'p')).IsInvalidArgument());

  EXPECT_EQ("/a", ParentPath("/a/b"));
  EXPECT_EQ("/", ParentPath("/a"));
  EXPECT_EQ("", ParentPath("/"));
  EXPECT_EQ("b", BaseName("/a/b"));
  EXPECT_EQ("/a/b", ChildPath("/a", "b"));
  EXPECT_EQ("/b", ChildPath("/", "b"));

  EXPECT_TRUE(IsProtectedPath("/kdi/master"));
  EXPECT_TRUE(IsProtectedPath("/kdi/servers"));
  EXPECT_TRUE(IsProtectedPath("/kdi/servers/h:1"));
  EXPECT_TRUE(IsProtectedPath("/kdi/tablets/t/1"));
  EXPECT_TRUE(IsProtectedPath("/kdi/tables/t"));
  EXPECT_TRUE(IsProtectedPath("/kdi/root"));
  EXPECT_FALSE(IsProtectedPath("/kdi"));
  EXPECT_FALSE(IsProtectedPath("/kdi/masterplan"));
  EXPECT_FALSE(IsProtectedPath("/kdi/rootless"));
  EXPECT_FALSE(IsProtectedPath("/app/kdi/master"));
}

}  // namespace
}  // namespace kdi::lock
