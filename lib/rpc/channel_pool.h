// ChannelPool: a fixed number of Channels (connections) to one server, each on
// its own shared ClientLoop, with every calling thread tied to one of them.
//
// Why: one connection is served by one client I/O thread, which writes every
// request, reads every reply and wakes every caller. With many threads making
// small calls on a 2-core host, that thread and the server's ping-pong with it
// became the bound (16 threads of point reads: ~35,000/s over one connection,
// ~40-45,000/s over two; 3 connections were slower than 1 there, with more I/O
// threads than cores). See doc/benchmarks.md.
//
// Contract: ForCallingThread() returns the same channel for the same thread
// every time, so one thread's calls keep their order on one connection;
// threads are numbered process-wide in the order they first ask any pool and
// take channel (number mod size). Channel i uses ClientLoop::Shared(i) unless
// the options name a loop (then every channel uses that loop). Channels
// connect on their first call, so a pool whose threads all map to one channel
// opens one connection.
//
// Threading: thread-safe; the pool and its channels live until destroyed.
#ifndef KDI_LIB_RPC_CHANNEL_POOL_H_
#define KDI_LIB_RPC_CHANNEL_POOL_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "lib/rpc/channel.h"

namespace kdi::rpc {

class ChannelPool {
 public:
  static constexpr size_t kMaxSize = 16;

  // size is clamped to [1, kMaxSize].
  ChannelPool(const ChannelOptions& opts, size_t size);

  Channel* ForCallingThread();
  Channel* at(size_t i) { return channels_[i].get(); }
  size_t size() const { return channels_.size(); }

  ChannelPool(const ChannelPool&) = delete;
  ChannelPool& operator=(const ChannelPool&) = delete;

 private:
  // The calling thread's process-wide number (see above).
  static size_t CallingThreadNumber();

  std::vector<std::unique_ptr<Channel>> channels_;
};

}  // namespace kdi::rpc

#endif  // KDI_LIB_RPC_CHANNEL_POOL_H_
