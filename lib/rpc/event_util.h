// Small helpers shared by the RPC server and client around libevent and
// sockets: one-time process setup, address parsing and formatting, and the text
// of a bufferevent_openssl error.
//
// Thread-safe; BevErrorText must run on the thread that owns the bufferevent.
#ifndef KDI_LIB_RPC_EVENT_UTIL_H_
#define KDI_LIB_RPC_EVENT_UTIL_H_

#include <sys/socket.h>

#include <string>

#include "kdi/status.h"

struct bufferevent;
struct evbuffer;
struct event;
struct event_base;

namespace kdi::rpc {

// Once per process: evthread_use_pthreads() (so event_active may be called from
// any thread) and SIGPIPE ignored if it still has the default action (OpenSSL
// writes to sockets with write(2); a dead peer must be an error, not a signal).
void InitRpcProcess();

// "host:port" (IPv4, [IPv6] or a name resolved with getaddrinfo, which may
// block) -> socket address.
Status ParseHostPort(const std::string& address, sockaddr_storage* out, socklen_t* len);

// "127.0.0.1:1234" / "[::1]:1234".
std::string SockaddrToString(const sockaddr* sa);

// Text of the failure that made a bufferevent report BEV_EVENT_ERROR/EOF:
// OpenSSL's reasons (drained from the bufferevent), the peer's TLS alert, or the
// socket error. *tls_error (if given) says whether OpenSSL reported anything.
std::string BevErrorText(bufferevent* bev, short what, bool* tls_error = nullptr);

// True if an error text is a TLS alert or local verification failure about a
// certificate (the peer refused ours, or we refused theirs).
bool IsCertificateRefusal(const std::string& text);

// Moves a complete frame into an output buffer: large frames are handed over
// by reference (no copy; the string is freed when written), small ones copied.
void AddFrame(evbuffer* out, std::string&& frame);

// Settings every KDI bufferevent_openssl gets: dirty shutdown allowed (a peer
// that just closes is an end of stream) and larger single reads and writes than
// libevent's 16 KiB, so a big body takes fewer loop iterations.
void TuneBufferevent(bufferevent* bev);

// Sets TCP_NODELAY (request/response traffic must not wait for Nagle).
void SetNoDelay(int fd);

// Wakes an event loop from other threads through an eventfd (as memcached's
// notify pipe): Notify() is one write(2) and takes no lock at all, so threads
// handing work to the loop never contend with it. The loop side drains the
// eventfd and runs the callback. Init and DetachEvent run on the loop's owner
// while the loop is not running. Notify may be called from any thread until
// the destructor, even after DetachEvent (it then wakes nobody): the eventfd
// lives as long as the object, so a caller that notifies after releasing its
// own lock never writes to a closed descriptor.
class LoopWakeup {
 public:
  LoopWakeup() = default;
  ~LoopWakeup();
  Status Init(event_base* base, void (*cb)(void*), void* arg);
  void Notify();
  // Frees the event (before the base is freed); the eventfd stays open.
  void DetachEvent();

  LoopWakeup(const LoopWakeup&) = delete;
  LoopWakeup& operator=(const LoopWakeup&) = delete;

 private:
  static void OnReadable(int fd, short what, void* arg);
  int fd_ = -1;
  event* ev_ = nullptr;
  void (*cb_)(void*) = nullptr;
  void* arg_ = nullptr;
};

}  // namespace kdi::rpc

#endif  // KDI_LIB_RPC_EVENT_UTIL_H_
