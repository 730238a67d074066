// RPC server and channel over mutual TLS: echo, deadlines, reconnection,
// roles, unknown types, malformed frames, shutdown. Volume tests are in
// rpc_bulk_test.cc.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "lib/rpc/channel.h"
#include "lib/rpc/message_types.h"
#include "lib/rpc/server.h"
#include "lib/util/coding.h"
#include "t/raw_tls_client.h"
#include "t/rpc_fixture.h"

namespace kdi::rpc {
namespace {

TEST_F(RpcTest, EchoAndIdentity) {
  StartServer();
  auto ch = NewChannel();
  std::string reply;
  ASSERT_OK(ch->Call(kEcho, "hello", &reply));
  EXPECT_EQ(reply, "hello");
  ASSERT_OK(ch->Call(kLoopEcho, "loop", &reply));
  EXPECT_EQ(reply, "loop");
  ASSERT_OK(ch->Call(kMsgPing, "", &reply));
  EXPECT_EQ(reply, "");
  ASSERT_OK(ch->Call(kWhoAmI, "", &reply));
  EXPECT_EQ(reply, "client/client");
  EXPECT_EQ(ch->server_identity().principal, "server");
  EXPECT_EQ(ch->server_identity().role, Role::kServer);
  Status s = ch->Call(kFail, "", &reply);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_EQ(s.message(), "no such thing");
}

TEST_F(RpcTest, DeadlineThenSameChannelWorks) {
  StartServer();
  auto ch = NewChannel();
  std::string reply;
  ASSERT_OK(ch->Call(kEcho, "warm", &reply));
  auto t0 = std::chrono::steady_clock::now();
  Status s = ch->Call(kSleep, "500", &reply, 50);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(s.IsTimedOut()) << s.ToString();
  EXPECT_LT(took, std::chrono::milliseconds(400));
  ASSERT_OK(ch->Call(kEcho, "after", &reply));
  EXPECT_EQ(reply, "after");
}

TEST_F(RpcTest, ServerRestartReconnects) {
  StartServer();
  int port = server_->port();
  auto ch = NewChannel();
  std::string reply;
  ASSERT_OK(ch->Call(kEcho, "one", &reply));
  server_->Stop();
  server_.reset();
  Status s = ch->Call(kEcho, "down", &reply, 2000);
  EXPECT_TRUE(s.IsNetworkError()) << s.ToString();
  StartServer(port);
  // The first call after the restart may be delayed by backoff but must work.
  bool ok = false;
  for (int i = 0; i < 50 && !ok; i++) {
    ok = ch->Call(kEcho, "two", &reply, 2000).ok();
    if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(ok);
  EXPECT_EQ(reply, "two");
}

TEST_F(RpcTest, RoleCheck) {
  StartServer();
  auto client = NewChannel();
  std::string reply;
  Status s = client->Call(kAdminOnly, "", &reply);
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  auto admin = NewChannel(certs_.AdminTls());
  ASSERT_OK(admin->Call(kAdminOnly, "", &reply));
  EXPECT_EQ(reply, "admin ok");
  // The connection survives a refusal.
  ASSERT_OK(client->Call(kEcho, "still", &reply));
}

TEST_F(RpcTest, UnknownTypeIsNotSupported) {
  StartServer();
  auto ch = NewChannel();
  std::string reply;
  Status s = ch->Call(999, "x", &reply);
  EXPECT_EQ(s.code(), Status::Code::kNotSupported) << s.ToString();
  ASSERT_OK(ch->Call(kEcho, "after", &reply));
}

// Checks that bytes are exactly one kMsgServerError frame whose status has the
// given code.
void ExpectServerError(const std::string& bytes, Status::Code code) {
  ASSERT_GE(bytes.size(), kFrameHeaderSize);
  FrameHeader h;
  ASSERT_OK(DecodeFrameHeader(bytes.data(), kDefaultMaxBodyBytes, &h));
  EXPECT_EQ(h.type, kMsgServerError);
  EXPECT_EQ(h.request_id, 0u);
  EXPECT_TRUE(h.is_reply());
  ASSERT_EQ(bytes.size(), kFrameHeaderSize + h.body_length);
  Status remote;
  std::string_view payload;
  ASSERT_OK(DecodeReplyBody(std::string_view(bytes).substr(kFrameHeaderSize), &remote, &payload));
  EXPECT_EQ(remote.code(), code) << remote.ToString();
}

std::string Header(uint16_t magic, uint8_t version, uint8_t flags, uint16_t type, uint32_t id,
                   uint32_t len) {
  std::string h;
  PutFixed16(&h, magic);
  h.push_back(static_cast<char>(version));
  h.push_back(static_cast<char>(flags));
  PutFixed16(&h, type);
  PutFixed16(&h, 0);
  PutFixed32(&h, id);
  PutFixed32(&h, len);
  return h;
}

TEST_F(RpcTest, MalformedFramesCloseOnlyThatConnection) {
  StartServer();
  auto good = NewChannel();
  std::string reply;
  ASSERT_OK(good->Call(kEcho, "before", &reply));
  struct Case {
    const char* what;
    std::string bytes;
    Status::Code code;
  } cases[] = {
      {"bad magic", Header(0x1234, kProtocolVersion, 0, kEcho, 1, 0), Status::Code::kProtocolError},
      {"huge body", Header(kFrameMagic, kProtocolVersion, 0, kEcho, 1, 0xFFFFFFF0u),
       Status::Code::kResourceExhausted},
      {"other version", Header(kFrameMagic, 9, 0, kEcho, 1, 0), Status::Code::kNotSupported},
      {"unknown flags", Header(kFrameMagic, kProtocolVersion, 0x80, kEcho, 1, 0),
       Status::Code::kProtocolError},
      {"reply frame", Header(kFrameMagic, kProtocolVersion, kFlagReply, kEcho, 1, 0),
       Status::Code::kProtocolError},
      {"corrupt compressed body",
       Header(kFrameMagic, kProtocolVersion, kFlagCompressed, kEcho, 1, 8) +
           std::string("\x00\x00\x01\x00garb", 8),
       Status::Code::kProtocolError},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    RawTlsClient raw(certs_.Options("client"), server_->port(), /*timeout_s=*/3);
    ASSERT_TRUE(raw.ok());
    // A good request first: it is answered before the bad frame closes things.
    std::string ping;
    FrameHeader h;
    h.type = kMsgPing;
    h.request_id = 5;
    AppendFrame(h, "", &ping);
    ASSERT_TRUE(raw.Send(ping + c.bytes));
    std::string got = raw.ReadAll();
    ASSERT_GE(got.size(), kFrameHeaderSize);
    FrameHeader first;
    ASSERT_OK(DecodeFrameHeader(got.data(), kDefaultMaxBodyBytes, &first));
    EXPECT_EQ(first.request_id, 5u);
    ExpectServerError(got.substr(kFrameHeaderSize + first.body_length), c.code);
  }
  // Other connections never noticed.
  ASSERT_OK(good->Call(kEcho, "after", &reply));
  EXPECT_EQ(reply, "after");
}

TEST_F(RpcTest, ResponderOutlivesServerAndDroppedRequestsGetInternal) {
  ServerOptions so;
  so.tls = certs_.ServerTls();
  server_ = std::make_unique<Server>(so);
  std::mutex mu;
  ResponderPtr kept;
  server_->Register(kEcho, [&](std::string, ResponderPtr r) {
    std::lock_guard<std::mutex> l(mu);
    kept = std::move(r);  // never answered while the server runs
  });
  server_->Register(kFail, [](std::string, ResponderPtr) {});  // dropped unanswered
  ASSERT_OK(server_->Start());
  auto ch = NewChannel();
  std::string reply;
  Status s = ch->Call(kFail, "", &reply);
  EXPECT_EQ(s.code(), Status::Code::kInternal) << s.ToString();
  s = ch->Call(kEcho, "", &reply, 100);
  EXPECT_TRUE(s.IsTimedOut()) << s.ToString();
  server_->Stop();
  std::lock_guard<std::mutex> l(mu);
  ASSERT_TRUE(kept != nullptr);
  EXPECT_TRUE(kept->cancelled());
  kept->Reply(Status::OK(), "too late");  // dropped, no crash
  server_->Stop();                        // idempotent
}

// A kWorker handler with a fast path: the I/O thread answers what the fast
// path accepts (on its own thread, not a worker's), and everything it declines
// reaches the worker handler with the body intact.
TEST_F(RpcTest, InlineFastPathAnswersOrFallsBackToWorker) {
  ServerOptions so;
  so.tls = certs_.ServerTls();
  server_ = std::make_unique<Server>(so);
  std::atomic<int> inline_answers{0}, worker_answers{0};
  std::thread::id inline_thread, worker_thread;
  std::mutex mu;
  server_->Register(
      kEcho,
      [&](std::string body, ResponderPtr r) {
        {
          std::lock_guard<std::mutex> l(mu);
          worker_thread = std::this_thread::get_id();
        }
        worker_answers++;
        r->Reply(Status::OK(), "worker:" + body);
      },
      RoleSet::Any(),
      [&](const std::string& body, const ResponderPtr& r) {
        if (body.rfind("fast", 0) != 0) return false;  // declined: untouched
        {
          std::lock_guard<std::mutex> l(mu);
          inline_thread = std::this_thread::get_id();
        }
        inline_answers++;
        r->Reply(Status::OK(), "inline:" + body);
        return true;
      });
  ASSERT_OK(server_->Start());
  auto ch = NewChannel();
  std::string reply;
  for (int i = 0; i < 20; i++) {
    ASSERT_OK(ch->Call(kEcho, "fast" + std::to_string(i), &reply));
    EXPECT_EQ(reply, "inline:fast" + std::to_string(i));
    ASSERT_OK(ch->Call(kEcho, "slow" + std::to_string(i), &reply));
    EXPECT_EQ(reply, "worker:slow" + std::to_string(i));
  }
  EXPECT_EQ(inline_answers.load(), 20);
  EXPECT_EQ(worker_answers.load(), 20);
  std::lock_guard<std::mutex> l(mu);
  EXPECT_NE(inline_thread, worker_thread);
}

TEST_F(RpcTest, ChannelToNowhereFailsFastAndBacksOff) {
  for (bool caller_io : {true, false}) {
    SCOPED_TRACE(caller_io ? "caller's connection" : "loop");
    ChannelOptions co;
    co.address = "127.0.0.1:" + std::to_string(test::FreePort());
    co.tls = certs_.ClientTls();
    co.reconnect_backoff_initial_ms = 200;
    co.blocking_calls_on_caller = caller_io;
    Channel ch(co);
    std::string reply;
    Status s = ch.Call(kEcho, "x", &reply, 2000);
    EXPECT_TRUE(s.IsNetworkError()) << s.ToString();
    EXPECT_NE(s.message().find("Connection refused"), std::string::npos) << s.ToString();
    // Within the backoff the next call waits; with a short deadline it times
    // out and says why.
    s = ch.Call(kEcho, "x", &reply, 50);
    EXPECT_TRUE(s.IsTimedOut()) << s.ToString();
    EXPECT_NE(s.message().find("Connection refused"), std::string::npos) << s.ToString();
  }
}

TEST_F(RpcTest, CloseFailsOutstandingAndReconnects) {
  StartServer();
  auto ch = NewChannel();
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status got;
  ch->CallAsync(kSleep, "300", 5000, [&](Status s, std::string) {
    std::lock_guard<std::mutex> l(mu);
    got = s;
    done = true;
    cv.notify_one();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ch->Close();
  std::unique_lock<std::mutex> l(mu);
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(5), [&] { return done; }));
  EXPECT_EQ(got.code(), Status::Code::kAborted) << got.ToString();
  l.unlock();
  std::string reply;
  ASSERT_OK(ch->Call(kEcho, "again", &reply));
  EXPECT_EQ(reply, "again");
}

TEST(FrameCompressionTest, IncompressibleBodiesAreSentAsIs) {
  std::string random(1 << 20, '\0');
  std::mt19937 rng(3);
  for (char& c : random) c = static_cast<char>(rng());
  std::string frame;
  FrameHeader h;
  h.type = kEcho;
  AppendFrame(h, random, &frame, /*compress=*/true);
  FrameHeader got;
  ASSERT_OK(DecodeFrameHeader(frame.data(), kDefaultMaxBodyBytes, &got));
  EXPECT_FALSE(got.flags & kFlagCompressed);
  EXPECT_EQ(got.body_length, random.size());

  std::string text;
  while (text.size() < (1 << 20)) text += "row:" + std::to_string(text.size()) + " ";
  frame.clear();
  AppendFrame(h, text, &frame, true);
  ASSERT_OK(DecodeFrameHeader(frame.data(), kDefaultMaxBodyBytes, &got));
  EXPECT_TRUE(got.flags & kFlagCompressed);
  EXPECT_LT(got.body_length, text.size() / 2);
  std::string body;
  ASSERT_OK(DecodeFrameBody(got, std::string_view(frame).substr(kFrameHeaderSize),
                            kDefaultMaxBodyBytes, &body));
  EXPECT_TRUE(body == text);
}

// Bodies that deflate by less than half (random printable values, as in a
// YCSB table) are sent plain: deflating them cost more CPU than it saved.
TEST(FrameCompressionTest, BodiesThatShrinkLittleAreSentAsIs) {
  std::mt19937 rng(5);
  for (size_t size : {size_t{kMinCompressBytes}, size_t{1} << 20}) {
    std::string printable(size, '\0');
    for (char& c : printable) c = static_cast<char>(' ' + rng() % 95);
    std::string frame;
    FrameHeader h;
    h.type = kEcho;
    AppendFrame(h, printable, &frame, /*compress=*/true);
    FrameHeader got;
    ASSERT_OK(DecodeFrameHeader(frame.data(), kDefaultMaxBodyBytes, &got));
    EXPECT_FALSE(got.flags & kFlagCompressed) << size;
    EXPECT_EQ(got.body_length, printable.size());
  }
}

TEST_F(RpcTest, StartErrorsAreClear) {
  StartServer();
  ServerOptions so;
  so.tls = certs_.ServerTls();
  so.listen_address = server_->address();
  Server second(so);
  Status s = second.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("Address already in use"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find(server_->address()), std::string::npos) << s.ToString();

  so.listen_address = "127.0.0.1";
  Server no_port(so);
  s = no_port.Start();
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();

  so.listen_address = "127.0.0.1:0";
  so.tls = certs_.ClientTls();  // not a server context
  Server wrong_ctx(so);
  s = wrong_ctx.Start();
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
}

TEST_F(RpcTest, ConnectionLimit) {
  ServerOptions so;
  so.tls = certs_.ServerTls();
  so.max_connections = 1;
  server_ = std::make_unique<Server>(so);
  RegisterTestService(server_.get());
  ASSERT_OK(server_->Start());
  auto first = NewChannel();
  std::string reply;
  ASSERT_OK(first->Call(kEcho, "1", &reply));
  auto second = NewChannel();
  Status s = second->Call(kEcho, "2", &reply, 3000);
  EXPECT_TRUE(s.IsNetworkError()) << s.ToString();
  ASSERT_OK(first->Call(kEcho, "1 again", &reply));
}

TEST_F(RpcTest, CallbacksMayDropTheChannelButNotBlockOnIt) {
  StartServer();
  auto ch = NewChannel();
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status nested;
  ch->CallAsync(kEcho, "x", 5000, [&](Status s, std::string) {
    // A blocking call on the loop thread would deadlock: refused.
    std::string reply;
    nested = ch->Call(kEcho, "y", &reply);
    // Dropping the last reference from the loop thread is fine.
    ch.reset();
    std::lock_guard<std::mutex> l(mu);
    done = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> l(mu);
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return done; }));
  EXPECT_TRUE(nested.IsInvalidArgument()) << nested.ToString();
}

TEST_F(RpcTest, ManyThreadsShareOneChannel) {
  StartServer();
  auto ch = NewChannel();
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; i++) {
        std::string body = std::to_string(t) + ":" + std::to_string(i);
        std::string reply;
        Status s = ch->Call(i % 2 ? kEcho : kLoopEcho, body, &reply);
        if (!s.ok() || reply != body) bad++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace kdi::rpc
