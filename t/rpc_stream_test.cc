// The RPC server and channel over their own TLS streams: a client that stops
// reading its replies (the server stops taking its requests: bounded reply
// memory), peers that close in the middle of a frame (both directions), and
// many small pipelined calls answered in order.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "lib/rpc/message_types.h"
#include "lib/util/coding.h"
#include "t/raw_tls_client.h"
#include "t/rpc_fixture.h"

namespace kdi::rpc {
namespace {

constexpr uint16_t kBig = 950;  // loop handler: replies with kBigReply bytes

std::string RequestFrame(uint16_t type, uint32_t id, std::string_view body) {
  FrameHeader h;
  h.type = type;
  h.request_id = id;
  std::string f;
  AppendFrame(h, body, &f);
  return f;
}

TEST_F(RpcTest, ClientThatStopsReadingIsStoppedBeforeItsRepliesPassTheBacklogLimit) {
  constexpr size_t kBigReply = 512 * 1024;
  ServerOptions so;
  so.tls = certs_.ServerTls();
  so.compress_replies = false;  // the replies must weigh what they say
  server_ = std::make_unique<Server>(so);
  RegisterTestService(server_.get());
  std::atomic<int> calls{0};
  server_->Register(
      kBig,
      [&](std::string, ResponderPtr r) {
        calls++;
        r->Reply(Status::OK(), std::string(kBigReply, 'b'));
      },
      Dispatch::kLoop);
  ASSERT_OK(server_->Start());
  RawTlsClient raw(certs_.Options("client"), server_->port());
  ASSERT_TRUE(raw.ok());
  constexpr int kN = 200;  // 100 MiB of replies asked for, all requests in one write
  std::string burst;
  for (int i = 1; i <= kN; i++) burst += RequestFrame(kBig, i, "");
  ASSERT_TRUE(raw.Send(burst));
  // Wait until the handler count settles (a loaded host may be slow).
  int taken = 0;
  for (int i = 0; i < 50; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    int now = calls.load();
    if (now > 0 && now == taken) break;
    taken = now;
  }
  // 64 MiB of replies are 128 of them; the server stops reading right there.
  EXPECT_GE(taken, 100);
  EXPECT_LE(taken, 140) << "the server kept taking requests while replies piled up";
  // Another client is served meanwhile.
  auto ch = NewChannel();
  std::string reply;
  ASSERT_OK(ch->Call(kEcho, "other", &reply, 5000));
  EXPECT_EQ(reply, "other");
  // Reading the replies lets the rest in; every reply arrives.
  size_t want = kN * (kBigReply + kFrameHeaderSize + 2);  // status OK: code 0, empty message
  EXPECT_EQ(raw.Drain(want), want);
  EXPECT_EQ(calls.load(), kN);
}

TEST_F(RpcTest, ClientClosingMidFrameLeavesTheServerServing) {
  StartServer();
  {
    RawTlsClient raw(certs_.Options("client"), server_->port());
    ASSERT_TRUE(raw.ok());
    std::string f = RequestFrame(kEcho, 1, std::string(100, 'x'));
    ASSERT_TRUE(raw.Send(f.substr(0, kFrameHeaderSize + 10)));  // header + 10 of 100
    raw.CloseSocket();
  }
  auto ch = NewChannel();
  std::string reply;
  for (int i = 0; i < 3; i++) {
    ASSERT_OK(ch->Call(kEcho, "still here", &reply, 5000));
    EXPECT_EQ(reply, "still here");
  }
}

// A server made with raw OpenSSL that answers the first request with half a
// reply frame and closes.
TEST_F(RpcTest, ServerClosingMidReplyFailsTheCallAsLost) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(lfd, 1), 0);
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
      if (SSL_read(ssl, hdr, sizeof(hdr)) == static_cast<int>(sizeof(hdr))) {
        FrameHeader h;
        if (DecodeFrameHeader(hdr, kDefaultMaxBodyBytes, &h).ok()) {
          std::string body(h.body_length, '\0');
          if (h.body_length > 0) SSL_read(ssl, body.data(), h.body_length);
          FrameHeader r;
          r.flags = kFlagReply;
          r.type = h.type;
          r.request_id = h.request_id;
          std::string frame;
          AppendFrame(r, std::string(1000, 'r'), &frame);
          SSL_write(ssl, frame.data(), 300);  // a third of it
        }
      }
    }
    SSL_free(ssl);
    close(fd);
  });
  ChannelOptions co;
  co.address = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  co.tls = certs_.ClientTls();
  Channel ch(co);
  std::string reply;
  Status s = ch.Call(kEcho, "hello", &reply, 5000);
  fake.join();
  close(lfd);
  EXPECT_TRUE(s.IsNetworkError()) << s.ToString();
  EXPECT_NE(s.message().find("lost"), std::string::npos) << s.ToString();
}

TEST_F(RpcTest, ManySmallPipelinedCallsAreAnsweredInOrder) {
  StartServer();
  auto ch = NewChannel();
  constexpr int kN = 20000;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> order;
  int failed = 0;
  for (int i = 0; i < kN; i++) {
    ch->CallAsync(kLoopEcho, std::to_string(i), 30000, [&, i](Status s, std::string reply) {
      std::lock_guard<std::mutex> l(mu);
      if (!s.ok() || reply != std::to_string(i)) failed++;
      order.push_back(i);
      if (static_cast<int>(order.size()) == kN) cv.notify_one();
    });
  }
  std::unique_lock<std::mutex> l(mu);
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(30), [&] { return order.size() == kN; }));
  EXPECT_EQ(failed, 0);
  // A loop handler answers at once: replies come back in request order.
  for (int i = 0; i < kN; i++) ASSERT_EQ(order[i], i);
}

}  // namespace
}  // namespace kdi::rpc
