// Tests of the client loop's wakeups and of many callers sharing a channel:
// closures posted while the loop sleeps, while it is busy and from its own
// callbacks all run, exactly once and in order; calls chained from
// completions never stall; replies to many concurrent callers (small and
// large frames interleaved on one connection) each reach their own caller;
// a channel pool ties each thread to one connection and spreads threads over
// its connections.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lib/rpc/channel_pool.h"
#include "lib/rpc/client_loop.h"
#include "t/rpc_fixture.h"

namespace kdi::rpc {
namespace {

TEST(ClientLoopTest, PostsFromManyThreadsRunOnceInOrder) {
  auto loop = std::make_shared<ClientLoop>();
  constexpr int kThreads = 8;
  constexpr int kPosts = 4000;
  std::vector<int> next(kThreads, 0);  // loop thread only
  std::atomic<int> out_of_order{0};
  std::atomic<int> ran{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPosts; i++) {
        loop->impl()->Post([&, t, i] {
          if (next[t] != i) out_of_order++;
          next[t] = i + 1;
          ran++;
        });
        // Now and then let the loop fall asleep, so both the eventfd path
        // and the busy path are taken.
        if (i % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  for (auto& th : threads) th.join();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ran.load() < kThreads * kPosts && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(ran.load(), kThreads * kPosts);
  EXPECT_EQ(out_of_order.load(), 0);
}

TEST(ClientLoopTest, PostFromTheLoopAfterIdleRuns) {
  // A closure that posts the next one, with idle gaps between bursts: each
  // burst starts while the loop sleeps (eventfd) and continues from inside
  // the loop (no eventfd needed).
  auto loop = std::make_shared<ClientLoop>();
  std::mutex mu;
  std::condition_variable cv;
  int done_bursts = 0;
  for (int burst = 0; burst < 20; burst++) {
    auto remaining = std::make_shared<int>(100);
    auto step = std::make_shared<std::function<void()>>();
    *step = [&, remaining, step] {
      if (--*remaining > 0) {
        loop->impl()->Post(*step);
        return;
      }
      std::lock_guard<std::mutex> l(mu);
      done_bursts++;
      cv.notify_one();
    };
    loop->impl()->Post(*step);
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return done_bursts == burst + 1; }))
        << "burst " << burst << " stalled";
    l.unlock();
    *step = nullptr;  // break the cycle
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

TEST_F(RpcTest, CallsChainedFromCompletionsNeverStall) {
  StartServer();
  auto ch = NewChannel();
  constexpr int kChain = 2000;
  std::mutex mu;
  std::condition_variable cv;
  int completed = 0;
  int bad = 0;
  std::function<void(int)> issue = [&](int i) {
    std::string body = "chain " + std::to_string(i);
    ch->CallAsync(i % 2 ? kEcho : kLoopEcho, body, 5000, [&, i, body](Status s, std::string r) {
      std::lock_guard<std::mutex> l(mu);
      if (!s.ok() || r != body) bad++;
      completed++;
      if (i + 1 < kChain) {
        issue(i + 1);  // posted from the loop thread, inside a read callback
      } else {
        cv.notify_one();
      }
    });
  };
  // Blocking callers on other threads at the same time.
  std::atomic<bool> stop{false};
  std::atomic<int> side_bad{0};
  std::thread side([&] {
    while (!stop) {
      std::string reply;
      if (!ch->Call(kEcho, "side", &reply).ok() || reply != "side") side_bad++;
    }
  });
  issue(0);
  {
    std::unique_lock<std::mutex> l(mu);
    EXPECT_TRUE(cv.wait_for(l, std::chrono::seconds(30), [&] { return completed == kChain; }))
        << completed << " of " << kChain << " chained calls completed";
    EXPECT_EQ(bad, 0);
  }
  stop = true;
  side.join();
  EXPECT_EQ(side_bad.load(), 0);
  // Nothing may still be running in a completion when ch goes.
  std::lock_guard<std::mutex> l(mu);
}

TEST_F(RpcTest, RepliesToManyCallersReachTheirOwnCaller) {
  StartServer();
  auto ch = NewChannel();
  constexpr int kThreads = 24;
  constexpr int kCalls = 200;
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; i++) {
        // Mostly small frames that share TLS records, now and then one large
        // enough to span several records and be handed over by reference.
        std::string body = std::to_string(t) + "/" + std::to_string(i) + ":";
        if (i % 50 == 7) body.append(100 * 1024, static_cast<char>('a' + t % 26));
        std::string reply;
        Status s = ch->Call(i % 3 ? kEcho : kLoopEcho, body, &reply);
        if (!s.ok() || reply != body) bad++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// Each of kThreads threads calls twice through the pool; returns the client
// address (the server's view of the connection) of each thread's calls.
std::vector<std::set<std::string>> AddressesPerThread(ChannelPool* pool, int threads) {
  std::vector<std::set<std::string>> seen(threads);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; t++) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 2; i++) {
        std::string reply;
        Status s = pool->ForCallingThread()->Call(kPeerAddress, "", &reply);
        seen[t].insert(s.ok() ? reply : s.ToString());
      }
    });
  }
  for (auto& th : ts) th.join();
  return seen;
}

class ChannelPoolTest : public RpcTest {
 protected:
  ChannelOptions PoolOptions() {
    ChannelOptions co;
    co.address = server_->address();
    co.tls = certs_.ClientTls();
    // The pool's connections are the loop's: a call made alone would take
    // an extra connection of the caller's own (rpc_caller_io_test.cc).
    co.blocking_calls_on_caller = false;
    return co;
  }
};

TEST_F(ChannelPoolTest, TiesEachThreadToOneConnectionAndSpreadsThreads) {
  StartServer();
  ChannelPool pool(PoolOptions(), 2);
  ASSERT_EQ(pool.size(), 2u);
  auto seen = AddressesPerThread(&pool, 6);
  std::map<std::string, int> threads_per_connection;
  for (const auto& addrs : seen) {
    ASSERT_EQ(addrs.size(), 1u) << "a thread's calls used more than one connection";
    ASSERT_EQ(addrs.begin()->rfind("127.0.0.1:", 0), 0u) << *addrs.begin();
    threads_per_connection[*addrs.begin()]++;
  }
  // Threads take the channels round-robin: 6 threads, 3 on each connection.
  ASSERT_EQ(threads_per_connection.size(), 2u);
  for (const auto& [addr, n] : threads_per_connection) EXPECT_EQ(n, 3) << addr;
  // The two channels run on two different loops.
  EXPECT_NE(pool.at(0), pool.at(1));
}

TEST_F(ChannelPoolTest, OneChannelUsesOneConnectionAndSizesAreClamped) {
  StartServer();
  const ChannelOptions co = PoolOptions();
  ChannelPool one(co, 1);
  std::set<std::string> all;
  for (const auto& addrs : AddressesPerThread(&one, 4)) all.insert(addrs.begin(), addrs.end());
  EXPECT_EQ(all.size(), 1u);
  EXPECT_EQ(ChannelPool(co, 0).size(), 1u);
  EXPECT_EQ(ChannelPool(co, 1000).size(), ChannelPool::kMaxSize);
}

}  // namespace
}  // namespace kdi::rpc
