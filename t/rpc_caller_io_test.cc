// Blocking calls on the caller's own connection (ChannelOptions::
// blocking_calls_on_caller, rpc/blocking_connection.h) and through the loop:
// both paths must behave the same towards a bad or closing server, late
// replies, Close() and server restarts. Each test runs on both paths
// ("CallerIo" and "Loop"); the last ones check when a call takes which path.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>

#include "lib/rpc/message_types.h"
#include "t/rpc_fixture.h"

namespace kdi::rpc {
namespace {

std::string Frame(uint8_t flags, uint16_t type, uint32_t id, std::string_view body) {
  FrameHeader h;
  h.flags = flags;
  h.type = type;
  h.request_id = id;
  std::string f;
  AppendFrame(h, body, &f);
  return f;
}

std::string Reply(uint32_t id, const Status& status, std::string_view payload) {
  std::string body;
  EncodeReplyBody(status, payload, &body);
  return Frame(kFlagReply, kEcho, id, body);
}

class CallerIoTest : public RpcTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override { caller_io_ = GetParam(); }

  // A TLS server for one connection that reads one request frame and answers
  // with respond(request id), then waits for the client to close. Returns
  // the call's status.
  Status CallFakeServer(const std::function<std::string(uint32_t)>& respond,
                        uint32_t max_body = kDefaultMaxBodyBytes, std::string* reply = nullptr) {
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(listen(lfd, 1), 0);
    socklen_t alen = sizeof(a);
    getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &alen);
    auto server_tls = certs_.ServerTls();
    std::thread fake([&] {
      int fd = accept(lfd, nullptr, nullptr);
      if (fd < 0) return;
      SSL* ssl = SSL_new(server_tls->ctx());
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) {
        char hdr[kFrameHeaderSize];
        FrameHeader h;
        if (SSL_read(ssl, hdr, sizeof(hdr)) == static_cast<int>(sizeof(hdr)) &&
            DecodeFrameHeader(hdr, kDefaultMaxBodyBytes, &h).ok()) {
          std::string body(h.body_length, '\0');
          if (h.body_length > 0) SSL_read(ssl, body.data(), h.body_length);
          std::string out = respond(h.request_id);
          SSL_write(ssl, out.data(), static_cast<int>(out.size()));
          char c;
          while (SSL_read(ssl, &c, 1) > 0) {
          }
        }
      }
      SSL_free(ssl);
      close(fd);
    });
    Status s;
    {
      ChannelOptions co;
      co.address = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
      co.tls = certs_.ClientTls();
      co.max_body_bytes = max_body;
      co.blocking_calls_on_caller = caller_io_;
      Channel ch(co);
      std::string r;
      s = ch.Call(kEcho, "hello", &r, 5000);
      if (reply != nullptr) *reply = r;
    }  // closes the connection: the fake server ends
    fake.join();
    close(lfd);
    return s;
  }
};

INSTANTIATE_TEST_SUITE_P(Paths, CallerIoTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return std::string(p.param ? "CallerIo" : "Loop");
                         });

TEST_P(CallerIoTest, GarbageFromTheServerIsAProtocolError) {
  Status s = CallFakeServer([](uint32_t) { return std::string("this is not a KDI frame at all"); });
  EXPECT_EQ(s.code(), Status::Code::kProtocolError) << s.ToString();
  EXPECT_NE(s.message().find("bad frame from 127.0.0.1:"), std::string::npos) << s.ToString();
}

TEST_P(CallerIoTest, ARequestFrameFromTheServerIsRefused) {
  Status s = CallFakeServer([](uint32_t id) { return Frame(0, kEcho, id, "x"); });
  EXPECT_EQ(s.code(), Status::Code::kProtocolError) << s.ToString();
  EXPECT_NE(s.message().find("the server sent a request frame"), std::string::npos)
      << s.ToString();
}

TEST_P(CallerIoTest, AReplyLargerThanTheLimitIsRefusedUnread) {
  Status s = CallFakeServer(
      [](uint32_t id) {
        std::string f = Reply(id, Status::OK(), "");
        // body_length (offset 12) says 1 MiB; the limit is 1 KiB.
        f[12] = 0;
        f[13] = 0x10;
        f[14] = 0;
        f[15] = 0;
        return f;
      },
      /*max_body=*/1024);
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("bad frame from 127.0.0.1:"), std::string::npos) << s.ToString();
}

TEST_P(CallerIoTest, TheServersClosingErrorFailsTheCallWithItsStatus) {
  Status s = CallFakeServer([](uint32_t) {
    std::string body;
    EncodeReplyBody(Status::ResourceExhausted("too many connections"), "", &body);
    return Frame(kFlagReply, kMsgServerError, 0, body);
  });
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("closed the connection"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("too many connections"), std::string::npos) << s.ToString();
}

TEST_P(CallerIoTest, RepliesToOtherRequestIdsAreSkipped) {
  std::string reply;
  Status s = CallFakeServer(
      [](uint32_t id) {
        return Reply(id + 1000, Status::OK(), "stale") + Reply(id, Status::OK(), "real");
      },
      kDefaultMaxBodyBytes, &reply);
  ASSERT_OK(s);
  EXPECT_EQ(reply, "real");
}

TEST_P(CallerIoTest, SequentialCallsShareOneConnection) {
  StartServer();
  auto ch = NewChannel();
  std::string first;
  ASSERT_OK(ch->Call(kPeerAddress, "", &first));
  for (int i = 0; i < 20; i++) {
    std::string addr;
    ASSERT_OK(ch->Call(kPeerAddress, "", &addr));
    EXPECT_EQ(addr, first);
  }
}

TEST_P(CallerIoTest, ALateReplyIsDroppedAndTheConnectionKept) {
  StartServer();
  auto ch = NewChannel();
  std::string before;
  ASSERT_OK(ch->Call(kPeerAddress, "", &before));
  std::string reply;
  Status s = ch->Call(kSleep, "200", &reply, 20);
  EXPECT_TRUE(s.IsTimedOut()) << s.ToString();
  // The late "slept" reply reaches the connection while it is idle.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  std::string after;
  ASSERT_OK(ch->Call(kPeerAddress, "", &after));
  EXPECT_EQ(after, before);
  ASSERT_OK(ch->Call(kEcho, "next", &reply));
  EXPECT_EQ(reply, "next");
}

TEST_P(CallerIoTest, CloseAbortsACallInProgressAndLaterCallsReconnect) {
  StartServer();
  auto ch = NewChannel();
  std::string reply;
  ASSERT_OK(ch->Call(kEcho, "warm", &reply));
  Status got;
  std::thread caller([&] {
    std::string r;
    got = ch->Call(kSleep, "700", &r, 5000);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ch->Close();
  caller.join();
  EXPECT_EQ(got.code(), Status::Code::kAborted) << got.ToString();
  ASSERT_OK(ch->Call(kEcho, "again", &reply));
  EXPECT_EQ(reply, "again");
}

TEST_P(CallerIoTest, AnIdleConnectionTheServerClosedIsReplacedWithoutAFailedCall) {
  StartServer();
  int port = server_->port();
  auto ch = NewChannel();
  std::string reply;
  ASSERT_OK(ch->Call(kEcho, "one", &reply));
  server_->Stop();
  server_.reset();
  StartServer(port);
  // Give the loop path time to see its connection end.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_OK(ch->Call(kEcho, "two", &reply));
  EXPECT_EQ(reply, "two");
}

TEST_P(CallerIoTest, ManyThreadsMixBothPathsAndEveryReplyIsTheirs) {
  StartServer();
  auto ch = NewChannel();
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; i++) {
        std::string body = std::to_string(t) + ":" + std::to_string(i);
        std::string reply;
        Status s = ch->Call(kEcho, body, &reply);
        if (!s.ok() || reply != body) bad++;
        // Now and then alone, so that some calls take the caller's path.
        if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(t));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

// Which path a call takes: alone, the caller's connection; while another
// blocking call of the channel is in progress, the loop's.
TEST_F(RpcTest, ACallMadeWhileAnotherIsInProgressGoesThroughTheLoop) {
  StartServer();
  auto ch = NewChannel();
  std::string own;
  ASSERT_OK(ch->Call(kPeerAddress, "", &own));
  std::thread sleeper([&] {
    std::string r;
    EXPECT_OK(ch->Call(kSleep, "500", &r));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::string meanwhile;
  ASSERT_OK(ch->Call(kPeerAddress, "", &meanwhile));
  sleeper.join();
  EXPECT_NE(meanwhile, own);  // the loop's connection
  std::string later;
  ASSERT_OK(ch->Call(kPeerAddress, "", &later));
  EXPECT_EQ(later, own);  // alone again: the caller's pooled connection
}

TEST_F(RpcTest, WithoutCallerIoEveryCallUsesTheLoopsConnection) {
  caller_io_ = false;
  StartServer();
  auto ch = NewChannel();
  std::string own;
  ASSERT_OK(ch->Call(kPeerAddress, "", &own));
  std::thread sleeper([&] {
    std::string r;
    EXPECT_OK(ch->Call(kSleep, "300", &r));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::string meanwhile;
  ASSERT_OK(ch->Call(kPeerAddress, "", &meanwhile));
  sleeper.join();
  EXPECT_EQ(meanwhile, own);
}

}  // namespace
}  // namespace kdi::rpc
