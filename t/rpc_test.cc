// RPC server and channel over mutual TLS: echo, pipelining, deadlines,
// reconnection, roles, unknown types, large bodies.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "lib/rpc/channel.h"
#include "lib/rpc/message_types.h"
#include "lib/rpc/server.h"
#include "lib/util/log.h"
#include "t/test_certs.h"
#include "t/test_util.h"

namespace kdi::rpc {
namespace {

constexpr uint16_t kEcho = 900;       // worker handler: replies with the body
constexpr uint16_t kLoopEcho = 901;   // loop handler
constexpr uint16_t kSleep = 902;      // sleeps the number of ms in the body
constexpr uint16_t kAdminOnly = 903;  // roles: admin
constexpr uint16_t kFail = 904;       // replies NotFound
constexpr uint16_t kWhoAmI = 905;     // replies with the caller's principal

void RegisterTestService(Server* s) {
  s->Register(kEcho, [](std::string body, ResponderPtr r) { r->Reply(Status::OK(), std::move(body)); });
  s->Register(
      kLoopEcho, [](std::string body, ResponderPtr r) { r->Reply(Status::OK(), std::move(body)); },
      Dispatch::kLoop);
  s->Register(kSleep, [](std::string body, ResponderPtr r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(body)));
    r->Reply(Status::OK(), "slept");
  });
  s->Register(
      kAdminOnly, [](std::string, ResponderPtr r) { r->Reply(Status::OK(), "admin ok"); },
      Dispatch::kWorker, RoleSet({Role::kAdmin}));
  s->Register(kFail, [](std::string, ResponderPtr r) { r->Reply(Status::NotFound("no such thing")); });
  s->Register(kWhoAmI, [](std::string, ResponderPtr r) {
    r->Reply(Status::OK(), r->peer().principal + "/" + RoleName(r->peer().role));
  });
}

class RpcTest : public ::testing::Test {
 protected:
  RpcTest() : certs_(tmp_.path()) {
    if (getenv("KDI_TEST_DEBUG")) log::SetLevel(log::DEBUG);
  }

  void StartServer(int port = 0) {
    ServerOptions so;
    so.listen_address = "127.0.0.1:" + std::to_string(port);
    so.tls = certs_.ServerTls();
    so.name = "testrpc";
    server_ = std::make_unique<Server>(so);
    RegisterTestService(server_.get());
    ASSERT_OK(server_->Start());
  }

  std::unique_ptr<Channel> NewChannel(std::shared_ptr<TlsContext> tls = nullptr) {
    ChannelOptions co;
    co.address = server_->address();
    co.tls = tls ? tls : certs_.ClientTls();
    co.reconnect_backoff_initial_ms = 10;
    return std::make_unique<Channel>(co);
  }

  test::TempDir tmp_;
  test::TestCerts certs_;
  std::unique_ptr<Server> server_;
};

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

TEST_F(RpcTest, PipelinedHundredThousand) {
  StartServer();
  auto ch = NewChannel();
  constexpr int kN = 100000;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, wrong = 0;
  for (int i = 0; i < kN; i++) {
    std::string body = std::to_string(i);
    ch->CallAsync(kEcho, body, 30000, [&, body](Status s, std::string reply) {
      std::lock_guard<std::mutex> l(mu);
      if (!s.ok() || reply != body) wrong++;
      if (++done == kN) cv.notify_one();
    });
  }
  std::unique_lock<std::mutex> l(mu);
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(60), [&] { return done == kN; }));
  EXPECT_EQ(wrong, 0);
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

TEST_F(RpcTest, TenMiBBodyRoundTrips) {
  StartServer();
  auto ch = NewChannel();
  std::string big(10 << 20, '\0');
  std::mt19937 rng(7);
  for (size_t i = 0; i < big.size(); i += 4) {
    uint32_t v = rng();
    memcpy(&big[i], &v, 4);
  }
  std::string reply;
  ASSERT_OK(ch->Call(kEcho, big, &reply, 20000));
  EXPECT_TRUE(reply == big);
  // Compressible bodies travel deflated; the result is the same.
  std::string text(10 << 20, 'k');
  ASSERT_OK(ch->Call(kEcho, text, &reply, 20000));
  EXPECT_TRUE(reply == text);
}

}  // namespace
}  // namespace kdi::rpc
