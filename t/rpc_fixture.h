// Shared by the RPC test programs: a small test service and a fixture that
// starts it over TLS with throwaway certificates. Main thread only.
#ifndef KDI_T_RPC_FIXTURE_H_
#define KDI_T_RPC_FIXTURE_H_

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "lib/rpc/channel.h"
#include "lib/rpc/server.h"
#include "lib/util/log.h"
#include "t/test_certs.h"
#include "t/test_util.h"

namespace kdi::rpc {

constexpr uint16_t kEcho = 900;       // worker handler: replies with the body
constexpr uint16_t kLoopEcho = 901;   // loop handler
constexpr uint16_t kSleep = 902;      // sleeps the number of ms in the body
constexpr uint16_t kAdminOnly = 903;  // roles: admin
constexpr uint16_t kFail = 904;       // replies NotFound
constexpr uint16_t kWhoAmI = 905;     // replies with the caller's principal
constexpr uint16_t kPeerAddress = 906;  // replies with the caller's host:port

inline void RegisterTestService(Server* s) {
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
  s->Register(kPeerAddress, [](std::string, ResponderPtr r) {
    r->Reply(Status::OK(), r->peer().address);
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
    co.blocking_calls_on_caller = caller_io_;
    return std::make_unique<Channel>(co);
  }
  // ChannelOptions::blocking_calls_on_caller of NewChannel's channels.
  bool caller_io_ = true;

  test::TempDir tmp_;
  test::TestCerts certs_;
  std::unique_ptr<Server> server_;
};

}  // namespace kdi::rpc

#endif  // KDI_T_RPC_FIXTURE_H_
