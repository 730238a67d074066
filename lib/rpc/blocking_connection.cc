// See blocking_connection.h. The socket is non-blocking; the calling thread
// waits with poll(2), so that every wait has the call's deadline.
#include "lib/rpc/blocking_connection.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>

#include "lib/rpc/event_util.h"
#include "lib/rpc/message_types.h"
#include "lib/rpc/tls_stream.h"
#include "lib/util/mono_clock.h"

namespace kdi::rpc {

namespace {

// Free space offered to each SSL_read, and OpenSSL's read-ahead buffer: one
// read(2) brings every record the socket holds.
constexpr size_t kReadChunk = 64 * 1024;
// The poll(2) events an OpenSSL call that failed with ssl_error waits for;
// 0 if it did not fail for want of the socket.
short EventsWanted(int ssl_error) {
  if (ssl_error == SSL_ERROR_WANT_READ) return POLLIN;
  if (ssl_error == SSL_ERROR_WANT_WRITE) return POLLOUT;
  return 0;
}

}  // namespace

BlockingConnection::BlockingConnection(const ChannelOptions& opts, int fd, SSL* ssl)
    : opts_(opts), fd_(fd), ssl_(ssl) {}

BlockingConnection::~BlockingConnection() {
  SSL_free(ssl_);
  close(fd_);
}

Status BlockingConnection::Connect(const ChannelOptions& opts, int64_t call_deadline_ms,
                                   std::unique_ptr<BlockingConnection>* out) {
  if (!opts.tls || opts.tls->is_server()) {
    return Status::InvalidArgument("channel to " + opts.address +
                                   ": a client TLS context is required");
  }
  sockaddr_storage ss;
  socklen_t len;
  RETURN_NOT_OK(ParseHostPort(opts.address, &ss, &len));
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoToStatus("socket for " + opts.address, errno);
  SetNoDelay(fd);
  SSL* ssl = SSL_new(opts.tls->ctx());
  if (ssl == nullptr) {
    close(fd);
    return Status::Internal("SSL_new: " + OpenSslErrorString());
  }
  std::unique_ptr<BlockingConnection> c(new BlockingConnection(opts, fd, ssl));
  SSL_set_fd(ssl, fd);
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_read_ahead(ssl, 1);
  SSL_set_default_read_buffer_len(ssl, kReadChunk);
  SSL_set_connect_state(ssl);

  const int64_t connect_deadline = MonoNowMs() + opts.connect_timeout_ms;
  const bool call_first = call_deadline_ms < connect_deadline;
  const int64_t deadline = std::min(call_deadline_ms, connect_deadline);
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS) {
      return Status::NetworkError("connecting to " + opts.address + ": " + strerror(errno));
    }
    Wait w = c->WaitFor(POLLOUT, deadline);
    int err = 0;
    if (w == Wait::kReady) {
      socklen_t elen = sizeof(err);
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0) err = errno;
    }
    if (w == Wait::kTimedOut) {
      if (call_first) return Status::TimedOut("connecting to " + opts.address);
      return Status::NetworkError("connecting to " + opts.address + " timed out after " +
                                  std::to_string(opts.connect_timeout_ms) + " ms");
    }
    if (w == Wait::kFailed && err == 0) err = errno;
    if (err != 0) {
      return Status::NetworkError("connecting to " + opts.address + ": " + strerror(err));
    }
  }
  RETURN_NOT_OK(c->Handshake(deadline, call_first));
  RETURN_NOT_OK(VerifyServerIdentity(ssl, opts, &c->server_identity_));
  *out = std::move(c);
  return Status::OK();
}

BlockingConnection::Wait BlockingConnection::WaitFor(short events, int64_t deadline_ms) {
  for (;;) {
    int64_t left = deadline_ms - MonoNowMs();
    if (left <= 0) return Wait::kTimedOut;
    pollfd p{fd_, events, 0};
    int n = poll(&p, 1, static_cast<int>(std::min<int64_t>(left, INT_MAX)));
    if (n > 0) return Wait::kReady;  // POLLERR/POLLHUP: the next call says what
    if (n == 0) continue;            // the loop re-checks the deadline
    if (errno != EINTR) return Wait::kFailed;
  }
}

namespace {

// How long a reader spins before it sleeps in poll(2), and how many threads of
// the process may spin at once (see the header).
constexpr int64_t kSpinNs = 50'000;
constexpr int kMaxSpinners = 1;
// After this many spins in a row that ended without a reply, a connection
// spins only on every kProbeEvery-th read (its calls take longer than a spin).
constexpr int kSpinMissesToBackOff = 8;
constexpr int kProbeEvery = 16;
std::atomic<int> g_spinners{0};

}  // namespace

BlockingConnection::Wait BlockingConnection::SpinThenWaitFor(short events, int64_t deadline_ms) {
  bool try_spin = spin_misses_ < kSpinMissesToBackOff || ++spin_skips_ % kProbeEvery == 0;
  if (try_spin && g_spinners.fetch_add(1, std::memory_order_acquire) < kMaxSpinners) {
    const int64_t until = MonoNowNs() + kSpinNs;
    bool ready = false;
    do {
      pollfd p{fd_, events, 0};
      if (poll(&p, 1, 0) > 0) {
        ready = true;
        break;
      }
    } while (MonoNowNs() < until && !aborted_.load(std::memory_order_relaxed));
    g_spinners.fetch_sub(1, std::memory_order_release);
    spin_misses_ = ready ? 0 : spin_misses_ + 1;
    if (ready) return Wait::kReady;
  } else if (try_spin) {
    g_spinners.fetch_sub(1, std::memory_order_release);
  }
  return WaitFor(events, deadline_ms);
}

Status BlockingConnection::Handshake(int64_t deadline_ms, bool deadline_is_the_calls) {
  const std::string& addr = opts_.address;
  for (;;) {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_);
    if (r == 1) return Status::OK();
    int e = errno;
    int err = SSL_get_error(ssl_, r);
    const short events = EventsWanted(err);
    if (events == 0) {
      TlsStreamError why = DescribeSslFailure(ssl_, err, e, /*handshaking=*/true);
      if (IsCertificateRefusal(why.text)) {
        return Status::PermissionDenied("TLS handshake with " + addr + " failed: " + why.text);
      }
      if (why.tls) return Status::NetworkError("TLS handshake with " + addr + " failed: " + why.text);
      return Status::NetworkError("connecting to " + addr + ": " + why.text);
    }
    Wait w = WaitFor(events, deadline_ms);
    if (w == Wait::kTimedOut) {
      if (deadline_is_the_calls) return Status::TimedOut("connecting to " + addr);
      return Status::NetworkError("connecting to " + addr + " timed out after " +
                                  std::to_string(opts_.connect_timeout_ms) + " ms");
    }
    if (w == Wait::kFailed) return ErrnoToStatus("waiting for " + addr, errno);
  }
}

Status VerifyServerIdentity(SSL* ssl, const ChannelOptions& opts, PeerIdentity* out) {
  PeerIdentity id;
  Status s = TlsContext::PeerFromSsl(ssl, &id);
  if (s.ok() && opts.require_server_role && id.role != Role::kServer) {
    s = Status::PermissionDenied("the peer's certificate ('" + id.principal + "', role " +
                                 RoleName(id.role) + ") is not a server certificate");
  }
  if (s.ok() && !opts.expected_server_principal.empty() &&
      id.principal != opts.expected_server_principal) {
    s = Status::PermissionDenied("the server presents principal '" + id.principal +
                                 "', expected '" + opts.expected_server_principal + "'");
  }
  if (!s.ok()) {
    return Status::PermissionDenied("TLS handshake with " + opts.address + " failed: " +
                                    s.message());
  }
  id.address = opts.address;
  *out = id;
  return Status::OK();
}

void BlockingConnection::Abort(const Status& why) {
  {
    std::lock_guard<std::mutex> l(abort_mu_);
    if (aborted_.load()) return;
    abort_status_ = why;
    aborted_.store(true);
  }
  // Wakes a poll(2) in progress; the socket stays open until the destructor,
  // so the descriptor is never reused under the calling thread.
  shutdown(fd_, SHUT_RDWR);
}

Status BlockingConnection::AbortStatus() {
  std::lock_guard<std::mutex> l(abort_mu_);
  return abort_status_;
}

Status BlockingConnection::Broken(Status s) {
  broken_ = true;
  if (aborted_.load()) return AbortStatus();
  return s;
}

Status BlockingConnection::Lost(int ssl_error, int sys_errno) {
  TlsStreamError why = DescribeSslFailure(ssl_, ssl_error, sys_errno, /*handshaking=*/false);
  // With TLS 1.3 the server checks our certificate after our side of the
  // handshake is done: its refusal arrives as an alert on the first read.
  if (!got_frame_ && IsCertificateRefusal(why.text)) {
    return Broken(Status::PermissionDenied("TLS handshake with " + opts_.address +
                                           " failed: the server refused our certificate: " +
                                           why.text));
  }
  return Broken(Status::NetworkError("connection to " + opts_.address + " lost: " + why.text));
}

Status BlockingConnection::WriteAll(std::string_view bytes, int64_t deadline_ms,
                                    bool* timed_out) {
  *timed_out = false;
  size_t off = 0;
  while (off < bytes.size()) {
    ERR_clear_error();
    size_t len = std::min<size_t>(bytes.size() - off, INT_MAX);
    int n = SSL_write(ssl_, bytes.data() + off, static_cast<int>(len));
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    int e = errno;
    int err = SSL_get_error(ssl_, n);
    const short events = EventsWanted(err);
    if (events == 0) return Lost(err, e);
    Wait w = WaitFor(events, deadline_ms);
    if (w == Wait::kTimedOut) {
      // Part of a frame may be written: the connection cannot carry another.
      *timed_out = true;
      broken_ = true;
      return Status::OK();
    }
    if (w == Wait::kFailed) return Broken(ErrnoToStatus("waiting for " + opts_.address, errno));
  }
  return Status::OK();
}

Status BlockingConnection::ReadSome(int64_t deadline_ms, bool* timed_out) {
  *timed_out = false;
  size_t room;
  char* space = in_.Space(kReadChunk, &room);
  // Only wait when OpenSSL holds nothing: its read-ahead may already have the
  // records, and the socket would not say so.
  bool waited = false;
  for (;;) {
    if (!waited && !SSL_has_pending(ssl_)) {
      Wait w = SpinThenWaitFor(POLLIN, deadline_ms);
      if (w == Wait::kTimedOut) {
        *timed_out = true;
        return Status::OK();
      }
      if (w == Wait::kFailed) return Broken(ErrnoToStatus("waiting for " + opts_.address, errno));
      waited = true;
    }
    ERR_clear_error();
    int n = SSL_read(ssl_, space, static_cast<int>(std::min<size_t>(room, INT_MAX)));
    if (n > 0) {
      in_.Commit(static_cast<size_t>(n));
      return Status::OK();
    }
    int e = errno;
    int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      // Not a whole record yet (or a post-handshake message was consumed):
      // wait again. WANT_WRITE (a key update to answer) is rare enough to
      // wait for readability and retry.
      waited = false;
      if (aborted_.load()) return Broken(AbortStatus());
      continue;
    }
    return Lost(err, e);
  }
}

bool BlockingConnection::CompleteFrame(FrameHeader* header, Status* bad) {
  *bad = Status::OK();
  const size_t have = in_.size();
  if (have < kFrameHeaderSize) return false;
  Status s = DecodeFrameHeader(in_.view().data(), opts_.max_body_bytes, header);
  if (s.ok() && !header->is_reply() && header->type != kMsgServerError) {
    s = Status::ProtocolError("the server sent a request frame");
  }
  if (!s.ok()) {
    *bad = Broken(s.CloneAndPrepend("bad frame from " + opts_.address));
    return false;
  }
  return have - kFrameHeaderSize >= header->body_length;
}

Status BlockingConnection::Call(uint32_t id, std::string_view frame, int64_t deadline_ms,
                                const std::string& what, int64_t timeout_ms, Status* remote,
                                std::string* payload) {
  auto timed_out_status = [&] {
    return Status::TimedOut(what + " to " + opts_.address + " timed out after " +
                            std::to_string(timeout_ms) + " ms");
  };
  if (aborted_.load()) return Broken(AbortStatus());
  if (broken_) return Status::Internal("call on a broken connection to " + opts_.address);
  bool timed_out;
  RETURN_NOT_OK(WriteAll(frame, deadline_ms, &timed_out));
  if (timed_out) return timed_out_status();
  for (;;) {
    FrameHeader h;
    Status bad;
    while (!CompleteFrame(&h, &bad)) {
      if (!bad.ok()) return bad;
      RETURN_NOT_OK(ReadSome(deadline_ms, &timed_out));
      if (timed_out) return timed_out_status();  // a late reply is dropped later
    }
    got_frame_ = true;
    const bool closing = h.type == kMsgServerError && h.request_id == 0;
    if (!closing && h.request_id != id) {  // a late reply to a call that timed out
      in_.Consume(kFrameHeaderSize + h.body_length);
      continue;
    }
    // Consumed now (this call returns below); the bytes stay where they are
    // until the next Space().
    std::string_view raw = in_.view().substr(kFrameHeaderSize, h.body_length);
    in_.Consume(kFrameHeaderSize + h.body_length);
    std::string inflated;
    if (h.flags & kFlagCompressed) {
      Status s = DecodeFrameBody(h, raw, opts_.max_body_bytes, &inflated);
      if (!s.ok()) return Broken(s.CloneAndPrepend("bad reply from " + opts_.address));
      raw = inflated;
    }
    std::string_view rest;
    Status s = DecodeReplyBody(raw, remote, &rest);
    if (!s.ok()) return Broken(s.CloneAndPrepend("bad reply from " + opts_.address));
    if (closing) {
      return Broken(remote->CloneAndPrepend("server " + opts_.address + " closed the connection"));
    }
    payload->assign(rest.data(), rest.size());
    return Status::OK();
  }
}

bool BlockingConnection::ReadyForReuse() {
  if (broken_ || aborted_.load()) return false;
  for (;;) {
    FrameHeader h;
    Status bad;
    while (CompleteFrame(&h, &bad)) {
      // No call is in progress: every frame is a late reply, unless the
      // server says it closes the connection.
      if (h.type == kMsgServerError && h.request_id == 0) {
        broken_ = true;
        return false;
      }
      in_.Consume(kFrameHeaderSize + h.body_length);
    }
    if (!bad.ok()) return false;
    if (!SSL_has_pending(ssl_)) {
      pollfd p{fd_, POLLIN, 0};
      int n = poll(&p, 1, 0);
      if (n == 0) return true;  // nothing arrived: still open
      if (n < 0) return errno == EINTR;
    }
    bool timed_out;
    // The socket is readable: read now (a zero deadline never waits again).
    Status s = ReadSome(MonoNowMs() + 1, &timed_out);
    if (!s.ok()) return false;
    if (timed_out) return true;
  }
}

}  // namespace kdi::rpc
