// RPC under volume: 100,000 pipelined requests on one connection, 10 MiB
// bodies, and the server's per-connection backpressure.
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "t/rpc_fixture.h"

namespace kdi::rpc {
namespace {

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

TEST_F(RpcTest, ServerStopsReadingWhileTooManyRequestsAreInHandlers) {
  ServerOptions so;
  so.tls = certs_.ServerTls();
  server_ = std::make_unique<Server>(so);
  std::mutex mu;
  std::vector<ResponderPtr> held;  // requests the handler has not answered yet
  server_->Register(
      kEcho,
      [&](std::string, ResponderPtr r) {
        std::lock_guard<std::mutex> l(mu);
        held.push_back(std::move(r));
      },
      Dispatch::kLoop);
  ASSERT_OK(server_->Start());
  auto ch = NewChannel();
  constexpr int kN = 6000;
  std::atomic<int> ok{0};
  for (int i = 0; i < kN; i++) {
    ch->CallAsync(kEcho, "x", 30000, [&](Status s, std::string) {
      if (s.ok()) ok++;
    });
  }
  auto count = [&] {
    std::lock_guard<std::mutex> l(mu);
    return held.size();
  };
  // The server takes requests up to its per-connection limit, then stops.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (count() < 4096 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(count(), 4096u);
  // Answering them lets the rest in; every call completes.
  while (ok.load() < kN && std::chrono::steady_clock::now() < deadline) {
    std::vector<ResponderPtr> batch;
    {
      std::lock_guard<std::mutex> l(mu);
      batch.swap(held);
    }
    for (auto& r : batch) r->Reply(Status::OK(), "y");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(ok.load(), kN);
}

}  // namespace
}  // namespace kdi::rpc
