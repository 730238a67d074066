// TlsStream: a non-blocking TLS connection over one socket, driven by a
// libevent base. It replaces bufferevent_openssl for the RPC server and client
// so that each request/reply costs as few system calls as possible:
//
//  - Reads: one persistent read event. On readiness the stream calls SSL_read
//    into its input buffer until OpenSSL has nothing buffered (the context
//    reads ahead, so one read(2) brings every record the socket holds), then
//    tells the owner once. No read(2) is spent just to see EAGAIN.
//  - Writes: Write()/WriteFrame() only append to the output (small pieces are
//    coalesced into one buffer, large ones are kept by move, never copied);
//    the owner calls Flush() once per loop pass, which hands the output to
//    SSL_write in as few calls as possible. The write event is added only when
//    SSL_write (or the handshake, or an SSL_read doing a key update) says
//    WANT_WRITE, and removed when the output has drained.
//
// Ownership: the stream owns the socket and the SSL (both freed by the
// destructor). The owner owns the stream and its Callbacks object.
//
// Threading: everything, including the destructor, runs on the thread of the
// event base. Callbacks run only from the stream's own event callbacks, never
// from inside a public method, and the owner may destroy the stream inside any
// callback. A public method that fails returns false and leaves the error in
// error(); the owner then closes the stream (no callback reports it).
#ifndef KDI_LIB_RPC_TLS_STREAM_H_
#define KDI_LIB_RPC_TLS_STREAM_H_

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "lib/rpc/input_buffer.h"

struct event;
struct event_base;
typedef struct ssl_st SSL;

namespace kdi::rpc {

// Why a stream ended.
struct TlsStreamError {
  bool eof = false;        // the peer closed (close_notify or a plain close)
  bool tls = false;        // OpenSSL reported a reason (text holds it)
  std::string text;        // "connection closed by peer", OpenSSL's reasons, errno text
};

// Describes why an OpenSSL call on ssl failed: ssl_error is SSL_get_error's
// answer and sys_errno the errno right after the call. Drains this thread's
// OpenSSL error queue. A system error counts as a TLS failure (tls = true)
// only during the handshake (handshaking). Shared by TlsStream and
// BlockingConnection so that both report a failure in the same words.
TlsStreamError DescribeSslFailure(SSL* ssl, int ssl_error, int sys_errno, bool handshaking);

class TlsStream {
 public:
  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // The handshake finished; the peer certificate may be read from ssl().
    virtual void OnTlsConnected() = 0;
    // New bytes were appended to the input.
    virtual void OnTlsInput() = 0;
    // The output drained after the stream had to wait for the socket.
    virtual void OnTlsDrained() = 0;
    // The connection ended or failed (after any input that came before was
    // delivered with OnTlsInput). The stream is dead; destroy it.
    virtual void OnTlsError(const TlsStreamError& error) = 0;
  };

  // Takes ownership of fd (non-blocking is set here) and ssl.
  TlsStream(event_base* base, int fd, SSL* ssl, Callbacks* cb);
  ~TlsStream();

  // Server side: starts the handshake as the accepting end.
  bool StartAccept();
  // Client side: starts a non-blocking connect to addr, then the handshake.
  bool StartConnect(const sockaddr* addr, socklen_t len);

  // Input: the bytes received and not yet consumed.
  std::string_view input() const { return in_.view(); }
  void Consume(size_t n);
  // Moves the front n bytes of the input into *out (replacing its contents).
  void TakeInput(size_t n, std::string* out);

  // Output. Appends bytes (copied) or a string (moved in if large).
  void Write(std::string_view bytes);
  void Write(std::string&& bytes);
  // Bytes appended and not yet accepted by SSL_write.
  size_t output_size() const { return out_bytes_; }
  // Writes what it can now. False on a fatal error (see error()).
  bool Flush();

  // Stops or resumes reading (backpressure). Resuming delivers input that
  // OpenSSL already buffered, in a later callback of this loop pass.
  void SetReading(bool on);

  // Shuts the socket's sending side down after what was written (FIN) and
  // returns a duplicate of the socket for the caller to drain and close, or -1.
  int DupFd() const;

  SSL* ssl() const { return ssl_; }
  int fd() const { return fd_; }
  bool connected() const { return state_ == State::kOpen; }
  const TlsStreamError& error() const { return error_; }

  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

 private:
  enum class State { kTcpConnecting, kHandshaking, kOpen, kFailed };

  static void ReadCb(int fd, short what, void* arg);
  static void WriteCb(int fd, short what, void* arg);
  void OnReadable();
  void OnWritable();
  // Advances the handshake; false on failure (error_ set).
  bool Handshake(bool* done);
  // Handshake, then OnTlsConnected and a first read pass; or OnTlsError.
  void HandshakeStep();
  // Reads and delivers input (OnTlsInput), then reports a failure or EOF.
  void ReadPass();
  void Fail();
  // Reads everything available into in_; false on failure or EOF (error_ set).
  bool ReadAvailable(bool* got);
  void WantWrite(bool on);
  // Fills error_ from an OpenSSL failure (drains this thread's error queue).
  void SetSslError(int ssl_error, int sys_errno);
  void SealTail();
  // Runs a callback; false if the stream was destroyed inside it.
  template <typename F>
  bool Call(F f);

  event_base* base_;
  int fd_;
  SSL* ssl_;
  Callbacks* cb_;
  event* read_ev_ = nullptr;
  event* write_ev_ = nullptr;
  State state_ = State::kHandshaking;
  bool reading_ = true;
  bool write_ev_on_ = false;
  bool read_wants_write_ = false;  // SSL_read said WANT_WRITE
  bool write_wants_read_ = false;  // SSL_write said WANT_READ
  bool* destroyed_ = nullptr;      // set by the destructor while a callback runs

  InputBuffer in_;

  // Output: sealed chunks (each handed to SSL_write as is, from off onwards)
  // and the open tail that small writes are coalesced into.
  struct Chunk {
    std::string data;
    size_t off = 0;
  };
  std::deque<Chunk> out_;
  std::string tail_;
  size_t out_bytes_ = 0;

  TlsStreamError error_;
};

}  // namespace kdi::rpc

#endif  // KDI_LIB_RPC_TLS_STREAM_H_
