// BlockingConnection: a mutual-TLS client connection that the calling thread
// drives itself, one call at a time, with no I/O thread in between, and that
// polls for its reply for a moment before it sleeps.
//
// Why: on the 2-core paravirtual hosts KDI is benchmarked on, an idle vCPU
// halts, and waking a thread that sleeps on a halted vCPU costs both sides:
// the writer's write(2) spends ~10 us sending the wake-up interrupt through
// the hypervisor, and the sleeper takes as long again to run (a two-thread
// condition-variable round trip takes ~50 us there, 12 us with both threads
// on one vCPU). A point read from one thread through a Channel's loop thread
// took 115-133 us at the median, most of it in such wake-ups; the same read
// on a connection of the caller's own, the caller polling the socket without
// sleeping for up to 50 us, takes ~50 us, and the tabletd's CPU per read
// halves (it no longer sends the wake-up). See doc/benchmarks.md.
//
// Spinning costs a CPU while it lasts, so at most one thread of the process
// spins at a time, for at most 50 us; a connection whose replies keep taking
// longer than that (synced writes, long scans) spins only on one read in 16.
// With many threads making calls the loop's batching is better (16 threads of
// point reads: ~25k reads/s this way against 40-53k through the loop), so a
// Channel uses a BlockingConnection only for a blocking call made while no
// other blocking call of that channel is in progress (channel.h).
//
// Contract: Connect() opens the TCP connection, runs the TLS handshake and
// checks the server's identity exactly as a Channel does, with the same
// errors. Call() sends one request frame and reads frames until the reply
// with the same request id; replies to earlier calls on this connection that
// timed out are dropped. A call that times out leaves the connection usable;
// any other transport failure (NetworkError, PermissionDenied, ProtocolError,
// the server's connection-closing error) leaves it broken() and it must be
// discarded. Abort() makes a Call in progress (or the next one) fail with the
// given status.
//
// Threading: one thread at a time uses a connection (Connect, Call,
// ReadyForReuse); Abort() may be called from any thread at any time.
#ifndef KDI_LIB_RPC_BLOCKING_CONNECTION_H_
#define KDI_LIB_RPC_BLOCKING_CONNECTION_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "kdi/status.h"
#include "lib/rpc/channel.h"
#include "lib/rpc/frame.h"
#include "lib/rpc/input_buffer.h"
#include "lib/rpc/tls.h"

namespace kdi::rpc {

// After a client handshake: the server's certificate identity, checked
// against opts (require_server_role, expected_server_principal); a refusal is
// PermissionDenied ("TLS handshake with ADDR failed: ..."). Shared with the
// loop's connections (channel.cc).
Status VerifyServerIdentity(SSL* ssl, const ChannelOptions& opts, PeerIdentity* out);

class BlockingConnection {
 public:
  // Connects to opts.address. Fails with TimedOut if call_deadline_ms (steady
  // clock, ms) passes first, with NetworkError if opts.connect_timeout_ms
  // passes first or the connection is refused, and with PermissionDenied if a
  // certificate is refused or the server is not the one expected.
  static Status Connect(const ChannelOptions& opts, int64_t call_deadline_ms,
                        std::unique_ptr<BlockingConnection>* out);
  ~BlockingConnection();  // closes the socket

  // Sends frame (a complete request frame carrying request id) and waits
  // until deadline_ms for the reply. On OK, *remote holds the server's status
  // and *payload the reply payload; otherwise the status is the transport's
  // failure. `what` names the call in a timeout message.
  Status Call(uint32_t id, std::string_view frame, int64_t deadline_ms, const std::string& what,
              int64_t timeout_ms, Status* remote, std::string* payload);

  // For a connection that sat idle: reads whatever arrived meanwhile (late
  // replies are dropped) and says whether the connection is still open (the
  // server may have closed it, or sent its closing error).
  bool ReadyForReuse();

  // Any thread: a Call in progress, and every later one, fails with why.
  void Abort(const Status& why);

  bool broken() const { return broken_; }
  const PeerIdentity& server_identity() const { return server_identity_; }

  BlockingConnection(const BlockingConnection&) = delete;
  BlockingConnection& operator=(const BlockingConnection&) = delete;

 private:
  BlockingConnection(const ChannelOptions& opts, int fd, SSL* ssl);

  enum class Wait { kReady, kTimedOut, kFailed };
  // Waits until the socket is ready for events (POLLIN/POLLOUT) or the
  // deadline passes.
  Wait WaitFor(short events, int64_t deadline_ms);
  // WaitFor, after polling without sleeping for up to 50 us when no other
  // thread of the process spins (see the top of this file).
  Wait SpinThenWaitFor(short events, int64_t deadline_ms);
  Status Handshake(int64_t deadline_ms, bool deadline_is_the_calls);
  Status WriteAll(std::string_view bytes, int64_t deadline_ms, bool* timed_out);
  // One SSL_read into the input (after waiting up to the deadline when
  // OpenSSL holds nothing). *timed_out when the deadline passed.
  Status ReadSome(int64_t deadline_ms, bool* timed_out);
  // A complete frame at the front of the input: *header and true.
  bool CompleteFrame(FrameHeader* header, Status* bad);
  // Status for an OpenSSL failure during a call.
  Status Lost(int ssl_error, int sys_errno);
  Status Broken(Status s);
  Status AbortStatus();

  const ChannelOptions opts_;
  int fd_;
  SSL* ssl_;
  PeerIdentity server_identity_;
  bool broken_ = false;
  bool got_frame_ = false;  // a frame arrived: the server accepted our certificate
  int spin_misses_ = 0;     // spins in a row that ended without input
  unsigned spin_skips_ = 0;

  InputBuffer in_;  // received, not yet parsed

  std::atomic<bool> aborted_{false};
  std::mutex abort_mu_;
  Status abort_status_;  // GUARDED_BY(abort_mu_)
};

}  // namespace kdi::rpc

#endif  // KDI_LIB_RPC_BLOCKING_CONNECTION_H_
