// BlockingCallPool: the connections a Channel's blocking calls run on when
// ChannelOptions::blocking_calls_on_caller is set (the default). Each call
// takes an idle BlockingConnection (or opens one), does its own socket I/O on
// the calling thread, and gives the connection back; see
// blocking_connection.h for why.
//
// Contract (the same as a Channel's blocking Call, see channel.h): a call
// whose deadline passes fails with TimedOut and leaves its connection usable;
// a connection that breaks fails the call using it with NetworkError (the
// server may or may not have executed it) and is discarded, and the next call
// opens a new one. A connection attempt that fails (refused, TLS handshake
// refused, wrong server principal) fails the call that made it at once with
// that error; the next attempt waits for the backoff (initial, doubling up to
// the maximum, reset by a successful handshake), within the calling call's
// deadline ("... timed out after N ms waiting for a connection (last error:
// ...)"). There are as many connections as calls were ever in progress at
// once; at most kMaxIdle idle ones are kept.
//
// Threading: thread-safe. Close() and Shutdown() may be called from any
// thread: calls in progress fail with Aborted.
#ifndef KDI_LIB_RPC_BLOCKING_CALL_POOL_H_
#define KDI_LIB_RPC_BLOCKING_CALL_POOL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/status.h"
#include "lib/rpc/blocking_connection.h"
#include "lib/rpc/channel.h"

namespace kdi::rpc {

class BlockingCallPool {
 public:
  static constexpr size_t kMaxIdle = 64;

  explicit BlockingCallPool(ChannelOptions opts);
  ~BlockingCallPool();

  // A blocking call (see Channel::Call). timeout_ms < 0 uses the default.
  Status Call(uint16_t type, std::string_view body, std::string* reply, int64_t timeout_ms);

  // Closes every connection; calls in progress fail with Aborted ("channel to
  // ADDR closed"); later calls open new connections.
  void Close();
  // Like Close, and later calls fail with Aborted ("... was destroyed").
  void Shutdown();

  // The server's identity after the first successful handshake (empty before).
  PeerIdentity server_identity() const;
  // Connections open now (idle or in use). For tests.
  size_t open_connections() const;

  BlockingCallPool(const BlockingCallPool&) = delete;
  BlockingCallPool& operator=(const BlockingCallPool&) = delete;

 private:
  // An idle connection that is still open, or a new one.
  Status Checkout(int64_t deadline_ms, const std::string& what, int64_t timeout_ms,
                  std::unique_ptr<BlockingConnection>* out);
  void Return(std::unique_ptr<BlockingConnection> conn, uint64_t generation);
  void AbortAll(const Status& why, bool shut_down);

  const ChannelOptions opts_;
  std::atomic<uint32_t> next_id_{1};

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<BlockingConnection>> idle_;  // GUARDED_BY(mu_)
  std::set<BlockingConnection*> busy_;                      // GUARDED_BY(mu_)
  // Bumped by Close: connections checked out before are not given back.
  uint64_t generation_ = 0;  // GUARDED_BY(mu_)
  bool shut_down_ = false;   // GUARDED_BY(mu_)
  int backoff_ms_;           // GUARDED_BY(mu_)
  int64_t next_attempt_ms_ = 0;  // GUARDED_BY(mu_)
  Status last_error_;        // GUARDED_BY(mu_)
  PeerIdentity server_identity_;  // GUARDED_BY(mu_)
};

}  // namespace kdi::rpc

#endif  // KDI_LIB_RPC_BLOCKING_CALL_POOL_H_
