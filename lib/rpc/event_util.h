// Small helpers shared by the RPC server and client around libevent and
// sockets: one-time process setup, address parsing and formatting, the
// classification of TLS error texts, and the loop wakeup.
//
// Thread-safe except where a class says otherwise.
#ifndef KDI_LIB_RPC_EVENT_UTIL_H_
#define KDI_LIB_RPC_EVENT_UTIL_H_

#include <sys/socket.h>

#include <string>

#include "kdi/status.h"

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

// True if an error text is a TLS alert or local verification failure about a
// certificate (the peer refused ours, or we refused theirs).
bool IsCertificateRefusal(const std::string& text);

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
