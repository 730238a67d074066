// TlsStream (lib/rpc/tls_stream.h) on its own: both ends of a loopback TLS
// connection driven by one event base on the test thread. Covers coalescing
// of small writes into one TLS record, multi-MiB transfers both ways, a
// reader that pauses, a TLS 1.3 key update, a peer that closes mid-stream and
// the texts of a certificate refusal.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "lib/rpc/event_util.h"
#include "lib/rpc/tls.h"
#include "lib/rpc/tls_stream.h"
#include "t/test_certs.h"
#include "t/test_util.h"

namespace kdi::rpc {
namespace {

// One end: records what its stream reports.
struct Endpoint : TlsStream::Callbacks {
  std::unique_ptr<TlsStream> s;
  bool connected = false;
  bool failed = false;
  int drained = 0;
  bool consume = true;  // take input as it arrives
  TlsStreamError err;
  std::string got;

  void OnTlsConnected() override { connected = true; }
  void OnTlsInput() override {
    if (!consume) return;
    std::string_view in = s->input();
    got.append(in.data(), in.size());
    s->Consume(in.size());
  }
  void OnTlsDrained() override { drained++; }
  void OnTlsError(const TlsStreamError& e) override {
    failed = true;
    err = e;
    s.reset();  // allowed inside a callback
  }
};

class TlsStreamTest : public ::testing::Test {
 protected:
  TlsStreamTest() : certs_(tmp_.path()) {
    InitRpcProcess();
    base_ = event_base_new();
    lfd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(lfd_, 4);
    socklen_t len = sizeof(addr_);
    getsockname(lfd_, reinterpret_cast<sockaddr*>(&addr_), &len);
  }
  ~TlsStreamTest() override {
    client_.s.reset();
    server_.s.reset();
    close(lfd_);
    event_base_free(base_);
  }

  // Starts both ends; the handshake runs in RunUntil.
  void Open(std::shared_ptr<TlsContext> client_tls, std::shared_ptr<TlsContext> server_tls) {
    client_tls_ = std::move(client_tls);
    server_tls_ = std::move(server_tls);
    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    SetNoDelay(cfd);  // as the server and channel do
    client_.s.reset(new TlsStream(base_, cfd, SSL_new(client_tls_->ctx()), &client_));
    ASSERT_TRUE(client_.s->StartConnect(reinterpret_cast<sockaddr*>(&addr_), sizeof(addr_)))
        << client_.s->error().text;
    int sfd = accept(lfd_, nullptr, nullptr);  // loopback: the TCP handshake is done
    ASSERT_GE(sfd, 0);
    SetNoDelay(sfd);
    server_.s.reset(new TlsStream(base_, sfd, SSL_new(server_tls_->ctx()), &server_));
    ASSERT_TRUE(server_.s->StartAccept());
  }

  void OpenGood() {
    Open(certs_.ClientTls(), certs_.ServerTls());
    ASSERT_TRUE(RunUntil([&] { return client_.connected && server_.connected; }));
  }

  // Runs the loop until pred() or 10 s.
  bool RunUntil(const std::function<bool()>& pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      timeval tv{0, 10000};
      event_base_loopexit(base_, &tv);
      event_base_loop(base_, EVLOOP_ONCE);
    }
    return true;
  }

  test::TempDir tmp_;
  test::TestCerts certs_;
  std::shared_ptr<TlsContext> client_tls_, server_tls_;
  event_base* base_ = nullptr;
  int lfd_ = -1;
  sockaddr_in addr_{};
  Endpoint client_, server_;
};

std::string Random(size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t r = rng();
    memcpy(&s[i], &r, std::min<size_t>(8, n - i));
  }
  return s;
}

TEST_F(TlsStreamTest, SmallWritesShareOneRecordAndArriveInOrder) {
  OpenGood();
  std::string want;
  for (int i = 0; i < 1000; i++) {
    char piece[16];
    snprintf(piece, sizeof(piece), "%09d\n", i);
    client_.s->Write(std::string_view(piece, 10));
    want.append(piece, 10);
  }
  EXPECT_EQ(client_.s->output_size(), want.size());
  ASSERT_TRUE(client_.s->Flush());
  EXPECT_EQ(client_.s->output_size(), 0u);
  // On the wire: one TLS 1.3 record (22 bytes of framing), not 1000.
  int queued = 0;
  for (int i = 0; i < 100 && queued < static_cast<int>(want.size()); i++) {
    if (i > 0) usleep(10000);
    ASSERT_EQ(ioctl(server_.s->fd(), FIONREAD, &queued), 0);
  }
  EXPECT_GE(queued, static_cast<int>(want.size()));
  EXPECT_LE(queued, static_cast<int>(want.size()) + 64);
  ASSERT_TRUE(RunUntil([&] { return server_.got.size() >= want.size(); }));
  EXPECT_EQ(server_.got, want);
}

TEST_F(TlsStreamTest, SeveralMiBBothWays) {
  OpenGood();
  const std::string up = Random(6 << 20, 1);
  const std::string down = Random(5 << 20, 2);
  client_.s->Write(std::string(up));
  server_.s->Write(std::string(down));
  client_.s->Write(std::string_view("tail"));
  ASSERT_TRUE(client_.s->Flush());
  ASSERT_TRUE(server_.s->Flush());
  ASSERT_TRUE(RunUntil([&] {
    return server_.got.size() >= up.size() + 4 && client_.got.size() >= down.size();
  }));
  EXPECT_TRUE(server_.got == up + "tail");
  EXPECT_TRUE(client_.got == down);
  EXPECT_EQ(client_.s->output_size(), 0u);
  EXPECT_EQ(server_.s->output_size(), 0u);
  EXPECT_GE(client_.drained + server_.drained, 1) << "a multi-MiB write waits for the socket";
}

TEST_F(TlsStreamTest, PausedReaderHoldsTheWriterBackThenGetsEverything) {
  OpenGood();
  server_.s->SetReading(false);
  const std::string data = Random(16 << 20, 3);
  client_.s->Write(std::string(data));
  ASSERT_TRUE(client_.s->Flush());
  // The socket buffers fill up; the rest waits in the writer's output.
  for (int i = 0; i < 20; i++) {
    timeval tv{0, 10000};
    event_base_loopexit(base_, &tv);
    event_base_loop(base_, EVLOOP_ONCE);
  }
  EXPECT_TRUE(server_.got.empty());
  EXPECT_GT(client_.s->output_size(), 0u) << "16 MiB cannot all sit in socket buffers";
  server_.s->SetReading(true);
  ASSERT_TRUE(RunUntil([&] { return server_.got.size() >= data.size(); }));
  EXPECT_TRUE(server_.got == data);
}

TEST_F(TlsStreamTest, KeyUpdateMidStream) {
  OpenGood();
  ASSERT_EQ(SSL_key_update(client_.s->ssl(), SSL_KEY_UPDATE_REQUESTED), 1);
  client_.s->Write(std::string_view("ping"));
  ASSERT_TRUE(client_.s->Flush());
  ASSERT_TRUE(RunUntil([&] { return server_.got == "ping"; }));
  server_.s->Write(std::string_view("pong"));
  ASSERT_TRUE(server_.s->Flush());
  ASSERT_TRUE(RunUntil([&] { return client_.got == "pong"; }));
  const std::string more = Random(1 << 20, 4);
  client_.s->Write(std::string(more));
  ASSERT_TRUE(client_.s->Flush());
  ASSERT_TRUE(RunUntil([&] { return server_.got.size() >= 4 + more.size(); }));
  EXPECT_TRUE(server_.got == "ping" + more);
  EXPECT_FALSE(client_.failed || server_.failed);
}

TEST_F(TlsStreamTest, PeerClosingMidStreamIsAnEndOfStreamAfterTheData) {
  OpenGood();
  server_.s->Write(std::string_view("half a fra"));
  ASSERT_TRUE(server_.s->Flush());
  server_.s.reset();  // no close_notify: a plain close
  ASSERT_TRUE(RunUntil([&] { return client_.failed; }));
  EXPECT_EQ(client_.got, "half a fra") << "the data before the close is delivered first";
  EXPECT_TRUE(client_.err.eof) << client_.err.text;
  EXPECT_EQ(client_.err.text, "connection closed by peer");
}

TEST_F(TlsStreamTest, ClientWithoutCertificateIsRefusedWithReasons) {
  TlsOptions o;
  o.ca_file = certs_.Options("client").ca_file;  // trusts the server, presents nothing
  std::shared_ptr<TlsContext> bare;
  ASSERT_OK(TlsContext::CreateClient(o, &bare));
  Open(bare, certs_.ServerTls());
  ASSERT_TRUE(RunUntil([&] { return server_.failed && client_.failed; }));
  EXPECT_FALSE(server_.connected);
  EXPECT_TRUE(server_.err.tls);
  EXPECT_NE(server_.err.text.find("peer did not return a certificate"), std::string::npos)
      << server_.err.text;
  // TLS 1.3: the client's side finished; the refusal is an alert on its read.
  EXPECT_NE(client_.err.text.find("certificate required"), std::string::npos)
      << client_.err.text;
  EXPECT_TRUE(IsCertificateRefusal(client_.err.text)) << client_.err.text;
}

TEST_F(TlsStreamTest, ConnectionRefusedIsASocketError) {
  close(lfd_);
  lfd_ = socket(AF_INET, SOCK_STREAM, 0);  // addr_ now has no listener
  int cfd = socket(AF_INET, SOCK_STREAM, 0);
  client_tls_ = certs_.ClientTls();
  client_.s.reset(new TlsStream(base_, cfd, SSL_new(client_tls_->ctx()), &client_));
  if (client_.s->StartConnect(reinterpret_cast<sockaddr*>(&addr_), sizeof(addr_))) {
    ASSERT_TRUE(RunUntil([&] { return client_.failed; }));
  } else {
    client_.err = client_.s->error();
  }
  EXPECT_FALSE(client_.err.tls);
  EXPECT_NE(client_.err.text.find("Connection refused"), std::string::npos) << client_.err.text;
}

}  // namespace
}  // namespace kdi::rpc
