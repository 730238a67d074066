// Mutual TLS: who gets in and who does not, and what each side says about it.
// Every refusal must give a clear error on the client, a log line on the
// server, and no protocol answer at all.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "lib/rpc/channel.h"
#include "lib/rpc/frame.h"
#include "lib/rpc/message_types.h"
#include "lib/rpc/server.h"
#include "lib/util/log.h"
#include "t/test_certs.h"
#include "t/test_util.h"

namespace kdi::rpc {
namespace {

constexpr uint16_t kEcho = 900;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Sends log lines to a file in the test's directory for the test's lifetime.
class LogCapture {
 public:
  explicit LogCapture(const std::string& path) : path_(path) {
    log::SetSink(log::Sink::kFile, "tls_test", path_);
  }
  ~LogCapture() { log::SetSink(log::Sink::kStderr, "tls_test"); }

  // Waits up to 3 s for a line containing every one of the words.
  bool WaitFor(std::initializer_list<std::string> words) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    do {
      std::istringstream lines(ReadFile(path_));
      std::string line;
      while (std::getline(lines, line)) {
        bool all = true;
        for (const auto& w : words) all = all && line.find(w) != std::string::npos;
        if (all) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }
  std::string contents() const { return ReadFile(path_); }

 private:
  std::string path_;
};

class TlsTest : public ::testing::Test {
 protected:
  TlsTest() : certs_(tmp_.path()), log_(tmp_.Join("server.log")) {
    ServerOptions so;
    so.tls = certs_.ServerTls();
    so.name = "tlsd";
    server_ = std::make_unique<Server>(so);
    server_->Register(kEcho, [](std::string body, ResponderPtr r) {
      r->Reply(Status::OK(), std::move(body));
    });
    Status s = server_->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
  }

  std::shared_ptr<TlsContext> Client(const TlsOptions& o) {
    std::shared_ptr<TlsContext> ctx;
    Status s = TlsContext::CreateClient(o, &ctx);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return ctx;
  }

  // Calls once on each path of a blocking call (the caller's own connection
  // and the loop's, ChannelOptions::blocking_calls_on_caller): both must
  // refuse alike. Returns the first path's status.
  Status CallWith(std::shared_ptr<TlsContext> tls, const std::string& expected_principal = "") {
    Status first;
    for (bool caller_io : {true, false}) {
      ChannelOptions co;
      co.address = server_->address();
      co.tls = tls;
      co.expected_server_principal = expected_principal;
      co.blocking_calls_on_caller = caller_io;
      Channel ch(co);
      std::string reply;
      Status s = ch.Call(kEcho, "secret", &reply, 3000);
      if (!s.ok()) {
        printf("client sees (%s): %s\n", caller_io ? "caller" : "loop", s.ToString().c_str());
      }
      EXPECT_TRUE(reply.empty() || s.ok());  // nothing of the protocol on refusal
      if (caller_io) {
        first = s;
      } else {
        EXPECT_EQ(s.code(), first.code())
            << "loop: " << s.ToString() << "; caller: " << first.ToString();
      }
    }
    return first;
  }

  // The server's log line about a refused handshake from this process.
  bool ServerLoggedRefusal(const std::string& reason) {
    return log_.WaitFor({"TLS handshake from 127.0.0.1:", "refused", reason});
  }

  test::TempDir tmp_;
  test::TestCerts certs_;
  LogCapture log_;
  std::unique_ptr<Server> server_;
};

TEST_F(TlsTest, GoodClientGetsIn) {
  ASSERT_OK(CallWith(certs_.ClientTls(), "server"));
}

TEST_F(TlsTest, ClientWithoutCertificateIsRefused) {
  TlsOptions o;
  o.ca_file = certs_.ca_file();  // trusts the server, presents nothing
  Status s = CallWith(Client(o));
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  EXPECT_NE(s.message().find("TLS handshake with 127.0.0.1:"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("certificate required"), std::string::npos) << s.ToString();
  EXPECT_TRUE(ServerLoggedRefusal("peer did not return a certificate")) << log_.contents();
}

TEST_F(TlsTest, CertificateFromAnotherCaIsRefused) {
  test::TempDir other_dir;
  test::TestCerts other(other_dir.path());
  TlsOptions o = other.Options("client");
  o.ca_file = certs_.ca_file();  // trusts our server, but its own cert is foreign
  Status s = CallWith(Client(o));
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  EXPECT_NE(s.message().find("unknown ca"), std::string::npos) << s.ToString();
  EXPECT_TRUE(ServerLoggedRefusal("certificate verify failed")) << log_.contents();
  EXPECT_TRUE(ServerLoggedRefusal("unable to get local issuer certificate")) << log_.contents();
}

TEST_F(TlsTest, ExpiredCertificateIsRefused) {
  TlsOptions o = certs_.Issue("old-client", Role::kClient, /*expired=*/true);
  Status s = CallWith(Client(o));
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  EXPECT_NE(s.message().find("certificate expired"), std::string::npos) << s.ToString();
  EXPECT_TRUE(ServerLoggedRefusal("certificate has expired")) << log_.contents();
}

TEST_F(TlsTest, ClientRefusesServerFromAnotherCa) {
  test::TempDir other_dir;
  test::TestCerts other(other_dir.path());
  // A client of the other cluster: does not trust our server's certificate.
  Status s = CallWith(other.ClientTls());
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  EXPECT_NE(s.message().find("TLS handshake with 127.0.0.1:"), std::string::npos);
  EXPECT_NE(s.message().find("certificate verify failed"), std::string::npos) << s.ToString();
  EXPECT_TRUE(ServerLoggedRefusal("unknown ca")) << log_.contents();
}

TEST_F(TlsTest, WrongServerPrincipalIsRefused) {
  Status s = CallWith(certs_.ClientTls(), "lockd-main");
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  EXPECT_NE(s.message().find("expected 'lockd-main'"), std::string::npos) << s.ToString();
}

TEST_F(TlsTest, ClientCertificateCannotActAsServer) {
  ServerOptions so;
  so.tls = certs_.ServerTls("client");  // a server presenting a client certificate
  so.name = "impostor";
  Server impostor(so);
  impostor.Register(kEcho, [](std::string b, ResponderPtr r) { r->Reply(Status::OK(), b); });
  ASSERT_OK(impostor.Start());
  ChannelOptions co;
  co.address = impostor.address();
  co.tls = certs_.ClientTls();
  Channel ch(co);
  std::string reply;
  Status s = ch.Call(kEcho, "secret", &reply, 3000);
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  EXPECT_NE(s.message().find("not a server certificate"), std::string::npos) << s.ToString();
}

// Reads whatever the server sends until it closes (or 3 s pass).
std::string ReadUntilClosed(int fd) {
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    got.append(buf, n);
  }
  return got;
}

int ConnectRaw(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST_F(TlsTest, PlaintextClientIsRefused) {
  int fd = ConnectRaw(server_->port());
  ASSERT_GE(fd, 0);
  // A well-formed KDI ping frame, in the clear.
  std::string frame;
  FrameHeader h;
  h.type = kMsgPing;
  h.request_id = 7;
  AppendFrame(h, "", &frame);
  ASSERT_EQ(write(fd, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  std::string got = ReadUntilClosed(fd);
  close(fd);
  // At most a TLS alert record (content type 21); never a KDI frame.
  if (!got.empty()) {
    EXPECT_EQ(static_cast<unsigned char>(got[0]), 21) << got.size();
  }
  EXPECT_EQ(got.find("KD"), std::string::npos);
  EXPECT_TRUE(ServerLoggedRefusal("wrong version number") ||
              ServerLoggedRefusal("record layer failure") ||
              ServerLoggedRefusal("packet length too long"))
      << log_.contents();
  // The server is still fine.
  ASSERT_OK(CallWith(certs_.ClientTls()));
}

TEST_F(TlsTest, SilentClientTimesOutOfTheHandshake) {
  ServerOptions so;
  so.tls = certs_.ServerTls();
  so.name = "shortd";
  so.handshake_timeout_ms = 100;
  Server s(so);
  ASSERT_OK(s.Start());
  int fd = ConnectRaw(s.port());
  ASSERT_GE(fd, 0);
  std::string got = ReadUntilClosed(fd);  // returns when the server hangs up
  close(fd);
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(log_.WaitFor({"TLS handshake from 127.0.0.1:", "no handshake within 100 ms"}))
      << log_.contents();
}

TEST(TlsContextTest, ErrorsNameTheFile) {
  test::TempDir tmp;
  test::TestCerts certs(tmp.path());
  std::shared_ptr<TlsContext> ctx;

  TlsOptions o = certs.Options("server");
  o.ca_file = tmp.Join("nope.crt");
  Status s = TlsContext::CreateServer(o, &ctx);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find("nope.crt"), std::string::npos) << s.ToString();

  std::string garbage = tmp.Join("garbage.crt");
  { std::ofstream(garbage) << "not a certificate\n"; }
  o = certs.Options("server");
  o.cert_file = garbage;
  s = TlsContext::CreateServer(o, &ctx);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("garbage.crt"), std::string::npos) << s.ToString();

  o = certs.Options("server");
  o.key_file = certs.Options("client").key_file;  // someone else's key
  s = TlsContext::CreateServer(o, &ctx);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("does not match"), std::string::npos) << s.ToString();

  // A server always needs its own certificate.
  o = TlsOptions();
  o.ca_file = certs.ca_file();
  s = TlsContext::CreateServer(o, &ctx);
  EXPECT_FALSE(s.ok());

  ASSERT_OK(TlsContext::CreateServer(certs.Options("server"), &ctx));
  EXPECT_TRUE(ctx->is_server());
  EXPECT_EQ(ctx->self().principal, "server");
  EXPECT_EQ(ctx->self().role, Role::kServer);
  ASSERT_OK(TlsContext::CreateClient(certs.Options("admin"), &ctx));
  EXPECT_EQ(ctx->self().role, Role::kAdmin);
}

TEST(TlsContextTest, RoleNames) {
  EXPECT_EQ(ParseRole("client"), Role::kClient);
  EXPECT_EQ(ParseRole("admin"), Role::kAdmin);
  EXPECT_EQ(ParseRole("server"), Role::kServer);
  EXPECT_EQ(ParseRole("root"), Role::kNone);
  EXPECT_STREQ(RoleName(Role::kAdmin), "admin");
}

}  // namespace
}  // namespace kdi::rpc
