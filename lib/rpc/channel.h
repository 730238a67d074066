// RPC client channel: one mutual-TLS connection to one server address, with
// pipelining of many outstanding requests (request ids), per-request deadlines
// and reconnection with exponential backoff.
//
// Threading model: a Channel is thread-safe; any number of threads may call
// Call/CallAsync at once. Asynchronous calls' I/O happens on a ClientLoop
// thread, which many channels may share (pass the same loop; by default each
// Channel uses a process-wide shared loop); their completions run on that loop
// thread and must not block. A blocking call made while no other one of the
// channel is in progress does its I/O on the calling thread, on a pooled
// connection (ChannelOptions::blocking_calls_on_caller, the default; see
// blocking_connection.h); others go through the loop. Both paths follow the
// failure semantics below.
//
// Failure semantics: a request whose deadline passes completes with TimedOut and
// its late reply, if any, is dropped; the connection stays usable. When the
// connection breaks, every outstanding request completes with NetworkError (the
// server may or may not have executed it) and the next call reconnects, after a
// backoff if the previous attempt failed. Calls made while disconnected wait for
// the reconnect within their own deadline. A connection attempt that fails
// (refused, TLS handshake refused, wrong server principal) fails the calls
// waiting for it at once with that error, rather than letting them run into
// their deadline; the next attempt waits for the backoff (initial, doubling up
// to the maximum, reset by a successful handshake).
//
// TLS errors are reported on the client as PermissionDenied when a certificate
// was refused by either side ("TLS handshake with 127.0.0.1:1234 failed:
// certificate verify failed (unable to get local issuer certificate)") and as
// NetworkError otherwise.
//
// Changes since the first draft of this header (rpc helper): ClientLoop's Impl
// is shared (the loop thread keeps it alive while it unwinds, so the last
// Channel may die on the loop thread); ChannelOptions::require_server_role.
#ifndef KDI_LIB_RPC_CHANNEL_H_
#define KDI_LIB_RPC_CHANNEL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "kdi/status.h"
#include "lib/rpc/frame.h"
#include "lib/rpc/tls.h"

namespace kdi::rpc {

// An I/O thread with a libevent base for client connections.
class ClientLoop {
 public:
  ClientLoop();
  ~ClientLoop();  // joins the thread; REQUIRES: no Channel still uses it
  // The process-wide shared loop number `index`, started on first use and
  // stopped when the last Channel using it is gone. Loop 0 is the default loop
  // of channels; a ChannelPool spreads its channels over loops 0..size-1.
  static std::shared_ptr<ClientLoop> Shared(size_t index = 0);

  class Impl;
  Impl* impl() { return impl_.get(); }

  ClientLoop(const ClientLoop&) = delete;
  ClientLoop& operator=(const ClientLoop&) = delete;

 private:
  std::shared_ptr<Impl> impl_;
};

struct ChannelOptions {
  std::string address;                    // "host:port"
  std::shared_ptr<TlsContext> tls;        // required, client context
  std::shared_ptr<ClientLoop> loop;       // null: ClientLoop::Shared()
  int64_t default_timeout_ms = 10000;
  int connect_timeout_ms = 3000;
  int reconnect_backoff_initial_ms = 20;
  int reconnect_backoff_max_ms = 2000;
  uint32_t max_body_bytes = kDefaultMaxBodyBytes;
  bool compress_requests = true;          // deflate large request bodies
  // If not empty, the server's certificate principal must equal this.
  std::string expected_server_principal;
  // The server's certificate must carry the role "server" (so that a client or
  // admin certificate cannot impersonate a server).
  bool require_server_role = true;
  // A blocking call (Call) made while no other blocking call of this channel
  // is in progress does its own socket I/O on the calling thread, on a
  // connection taken from a pool (BlockingCallPool), and polls briefly for
  // its reply before sleeping (blocking_connection.h says why: a point read
  // from one thread took ~50 us this way against 115-133 us through the loop
  // on the benchmark host). Concurrent blocking calls, and all asynchronous
  // ones, go through the loop thread, which batches their I/O.
  bool blocking_calls_on_caller = true;
};

using CallCallback = std::function<void(Status status, std::string reply)>;

class Channel {
 public:
  explicit Channel(ChannelOptions opts);
  ~Channel();  // fails outstanding calls with Aborted

  // Blocking call. timeout_ms < 0 uses default_timeout_ms. On OK, *reply holds
  // the reply payload; otherwise the status is the remote handler's status, or
  // TimedOut / NetworkError / PermissionDenied / ProtocolError from the
  // transport. REQUIRES: not called on the loop thread (it would deadlock; such
  // a call returns InvalidArgument instead).
  Status Call(uint16_t type, std::string_view body, std::string* reply, int64_t timeout_ms = -1);

  // Non-blocking call; done runs exactly once on the loop thread.
  void CallAsync(uint16_t type, std::string body, int64_t timeout_ms, CallCallback done);

  // Closes the connection (outstanding calls fail with Aborted); later calls
  // reconnect.
  void Close();

  const std::string& address() const;
  // The server's identity after a successful handshake (empty before).
  PeerIdentity server_identity() const;

  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace kdi::rpc

#endif  // KDI_LIB_RPC_CHANNEL_H_
