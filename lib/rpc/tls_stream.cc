// See tls_stream.h.
#include "lib/rpc/tls_stream.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace kdi::rpc {

namespace {

// Pieces smaller than this are copied into the coalescing tail (one TLS
// record, one write(2) for many small frames); larger ones are kept by move.
constexpr size_t kCopyMax = 16 * 1024;
// Free space offered to each SSL_read; OpenSSL's own read-ahead buffer.
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kSslReadBuffer = 64 * 1024;

}  // namespace

TlsStream::TlsStream(event_base* base, int fd, SSL* ssl, Callbacks* cb)
    : base_(base), fd_(fd), ssl_(ssl), cb_(cb) {
  evutil_make_socket_nonblocking(fd_);
  SSL_set_fd(ssl_, fd_);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One read(2) brings every record the socket holds (up to the buffer).
  SSL_set_read_ahead(ssl_, 1);
  SSL_set_default_read_buffer_len(ssl_, kSslReadBuffer);
  read_ev_ = event_new(base_, fd_, EV_READ | EV_PERSIST, &TlsStream::ReadCb, this);
  write_ev_ = event_new(base_, fd_, EV_WRITE | EV_PERSIST, &TlsStream::WriteCb, this);
}

TlsStream::~TlsStream() {
  if (destroyed_ != nullptr) *destroyed_ = true;
  event_free(read_ev_);
  event_free(write_ev_);
  SSL_free(ssl_);
  close(fd_);
}

template <typename F>
bool TlsStream::Call(F f) {
  bool dead = false;
  bool* outer = destroyed_;
  destroyed_ = &dead;
  f();
  if (dead) {
    if (outer != nullptr) *outer = true;
    return false;
  }
  destroyed_ = outer;
  return true;
}

bool TlsStream::StartAccept() {
  SSL_set_accept_state(ssl_);
  state_ = State::kHandshaking;
  event_add(read_ev_, nullptr);  // the client speaks first
  return true;
}

bool TlsStream::StartConnect(const sockaddr* addr, socklen_t len) {
  SSL_set_connect_state(ssl_);
  if (connect(fd_, addr, len) != 0 && errno != EINPROGRESS) {
    error_ = TlsStreamError();
    error_.text = evutil_socket_error_to_string(errno);
    state_ = State::kFailed;
    return false;
  }
  // Writable once connected (or failed); the handshake starts there.
  state_ = State::kTcpConnecting;
  WantWrite(true);
  return true;
}

void TlsStream::ReadCb(int, short, void* arg) { static_cast<TlsStream*>(arg)->OnReadable(); }
void TlsStream::WriteCb(int, short, void* arg) { static_cast<TlsStream*>(arg)->OnWritable(); }

void TlsStream::WantWrite(bool on) {
  if (on == write_ev_on_) return;
  write_ev_on_ = on;
  if (on) {
    event_add(write_ev_, nullptr);
  } else {
    event_del(write_ev_);
  }
}

void TlsStream::SetReading(bool on) {
  if (on == reading_) return;
  reading_ = on;
  if (state_ == State::kFailed) return;
  if (!on) {
    if (!write_wants_read_) event_del(read_ev_);
    return;
  }
  event_add(read_ev_, nullptr);
  // Records OpenSSL already read from the socket will not make it readable.
  if (state_ == State::kOpen && SSL_has_pending(ssl_)) event_active(read_ev_, EV_READ, 0);
}

TlsStreamError DescribeSslFailure(SSL* ssl, int ssl_error, int sys_errno, bool handshaking) {
  TlsStreamError error;
  std::string out;
  bool verify_failed = false;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
        ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      continue;  // a peer that just closes: an end of stream (dirty shutdown)
    }
    const char* reason = ERR_reason_error_string(e);
    char buf[256];
    if (reason == nullptr) {
      ERR_error_string_n(e, buf, sizeof(buf));
      reason = buf;
    }
    if (ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED) verify_failed = true;
    if (out.find(reason) != std::string::npos) continue;
    if (!out.empty()) out += "; ";
    out += reason;
  }
  if (verify_failed) {
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) out += std::string(" (") + X509_verify_cert_error_string(v) + ")";
  }
  if (!out.empty()) {
    error.tls = true;
    error.text = out;
    return error;
  }
  if (ssl_error == SSL_ERROR_SYSCALL && sys_errno != 0) {
    error.tls = handshaking;
    error.text = evutil_socket_error_to_string(sys_errno);
    return error;
  }
  error.eof = true;
  error.text = "connection closed by peer";
  return error;
}

void TlsStream::SetSslError(int ssl_error, int sys_errno) {
  error_ = DescribeSslFailure(ssl_, ssl_error, sys_errno, state_ == State::kHandshaking);
}

void TlsStream::Fail() {
  state_ = State::kFailed;
  event_del(read_ev_);
  WantWrite(false);
}

bool TlsStream::Handshake(bool* done) {
  *done = false;
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    *done = true;
    state_ = State::kOpen;
    WantWrite(out_bytes_ > 0);
    return true;
  }
  int e = errno;
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ) {
    WantWrite(false);
    return true;
  }
  if (err == SSL_ERROR_WANT_WRITE) {
    WantWrite(true);
    return true;
  }
  SetSslError(err, e);
  Fail();
  return false;
}

void TlsStream::HandshakeStep() {
  bool done;
  if (!Handshake(&done)) {
    Call([this] { cb_->OnTlsError(error_); });
    return;
  }
  if (!done) return;
  if (!Call([this] { cb_->OnTlsConnected(); })) return;
  // Data may have come with the handshake's last flight and already sit in
  // OpenSSL's buffer: the socket will not say so again.
  if (state_ == State::kOpen) ReadPass();
}

void TlsStream::OnReadable() {
  switch (state_) {
    case State::kTcpConnecting:
    case State::kFailed:
      return;
    case State::kHandshaking:
      HandshakeStep();
      return;
    case State::kOpen:
      break;
  }
  if (write_wants_read_) {
    write_wants_read_ = false;
    if (!reading_) event_del(read_ev_);
    if (!Flush()) {
      Call([this] { cb_->OnTlsError(error_); });
      return;
    }
  }
  if (reading_) ReadPass();
}

void TlsStream::ReadPass() {
  bool got = false;
  bool ok = ReadAvailable(&got);
  // Failed before the input is delivered: the owner's Flush() in OnTlsInput
  // then reports the end instead of writing to a dead connection.
  if (!ok) Fail();
  if (got && !Call([this] { cb_->OnTlsInput(); })) return;
  if (!ok) Call([this] { cb_->OnTlsError(error_); });
}

bool TlsStream::ReadAvailable(bool* got) {
  for (;;) {
    if (!reading_) return true;
    size_t room;
    char* space = in_.Space(kReadChunk, &room);
    ERR_clear_error();
    int n = SSL_read(ssl_, space, static_cast<int>(std::min<size_t>(room, INT_MAX)));
    if (n > 0) {
      in_.Commit(static_cast<size_t>(n));
      *got = true;
      // Stop when OpenSSL holds nothing more: a read(2) now would only say
      // EAGAIN (the level-triggered read event fires again for new data).
      if (SSL_has_pending(ssl_)) continue;
      return true;
    }
    int e = errno;
    int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ) return true;
    if (err == SSL_ERROR_WANT_WRITE) {
      // A post-handshake message (key update) must be answered first.
      read_wants_write_ = true;
      WantWrite(true);
      return true;
    }
    SetSslError(err, e);
    return false;
  }
}

void TlsStream::Consume(size_t n) { in_.Consume(n); }

void TlsStream::TakeInput(size_t n, std::string* out) { in_.Take(n, out); }

void TlsStream::Write(std::string_view bytes) {
  if (bytes.empty()) return;
  tail_.append(bytes.data(), bytes.size());
  out_bytes_ += bytes.size();
}

void TlsStream::Write(std::string&& bytes) {
  if (bytes.size() < kCopyMax) {
    Write(std::string_view(bytes));
    return;
  }
  SealTail();
  out_bytes_ += bytes.size();
  out_.push_back(Chunk{std::move(bytes), 0});
}

void TlsStream::SealTail() {
  if (tail_.empty()) return;
  out_.push_back(Chunk{std::move(tail_), 0});
  tail_ = std::string();
}

bool TlsStream::Flush() {
  if (state_ == State::kFailed) return false;
  if (state_ != State::kOpen) return true;  // written once the handshake is done
  if (write_wants_read_) return true;       // retried when readable
  SealTail();
  while (!out_.empty()) {
    Chunk& c = out_.front();
    size_t len = std::min<size_t>(c.data.size() - c.off, INT_MAX);
    ERR_clear_error();
    int n = SSL_write(ssl_, c.data.data() + c.off, static_cast<int>(len));
    if (n > 0) {
      c.off += n;
      out_bytes_ -= n;
      if (c.off == c.data.size()) out_.pop_front();
      continue;
    }
    int e = errno;
    int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_WRITE) {
      WantWrite(true);
      return true;
    }
    if (err == SSL_ERROR_WANT_READ) {
      write_wants_read_ = true;
      if (!reading_) event_add(read_ev_, nullptr);
      return true;
    }
    SetSslError(err, e);
    Fail();
    return false;
  }
  if (!read_wants_write_) WantWrite(false);
  return true;
}

void TlsStream::OnWritable() {
  switch (state_) {
    case State::kFailed:
      return;
    case State::kTcpConnecting: {
      int err = 0;
      socklen_t len = sizeof(err);
      if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err != 0) {
        error_ = TlsStreamError();
        error_.text = evutil_socket_error_to_string(err);
        Fail();
        Call([this] { cb_->OnTlsError(error_); });
        return;
      }
      state_ = State::kHandshaking;
      event_add(read_ev_, nullptr);
      HandshakeStep();
      return;
    }
    case State::kHandshaking:
      HandshakeStep();
      return;
    case State::kOpen:
      break;
  }
  if (read_wants_write_) {
    read_wants_write_ = false;
    if (reading_) {
      ReadPass();
      return;  // the stream may be gone; a later pass writes the rest
    }
  }
  bool had_output = out_bytes_ > 0;
  if (!Flush()) {
    Call([this] { cb_->OnTlsError(error_); });
    return;
  }
  if (out_bytes_ == 0) {
    WantWrite(false);
    if (had_output) Call([this] { cb_->OnTlsDrained(); });
  }
}

int TlsStream::DupFd() const { return dup(fd_); }

}  // namespace kdi::rpc
