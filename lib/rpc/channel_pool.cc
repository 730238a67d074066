// See channel_pool.h.
#include "lib/rpc/channel_pool.h"

#include <algorithm>
#include <atomic>

namespace kdi::rpc {

ChannelPool::ChannelPool(const ChannelOptions& opts, size_t size) {
  size = std::clamp<size_t>(size, 1, kMaxSize);
  for (size_t i = 0; i < size; i++) {
    ChannelOptions o = opts;
    if (!o.loop) o.loop = ClientLoop::Shared(i);
    channels_.push_back(std::make_unique<Channel>(std::move(o)));
  }
}

size_t ChannelPool::CallingThreadNumber() {
  static std::atomic<size_t> next{0};
  thread_local const size_t number = next.fetch_add(1, std::memory_order_relaxed);
  return number;
}

Channel* ChannelPool::ForCallingThread() {
  return channels_[CallingThreadNumber() % channels_.size()].get();
}

}  // namespace kdi::rpc
