// See event_util.h.
#include "lib/rpc/event_util.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <event2/util.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace kdi::rpc {

void InitRpcProcess() {
  static std::once_flag once;
  std::call_once(once, [] {
    evthread_use_pthreads();
    struct sigaction old;
    if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_IGN);
    }
  });
}

Status ParseHostPort(const std::string& address, sockaddr_storage* out, socklen_t* len) {
  int n = sizeof(*out);
  memset(out, 0, sizeof(*out));
  if (evutil_parse_sockaddr_port(address.c_str(), reinterpret_cast<sockaddr*>(out), &n) == 0) {
    const sockaddr* sa = reinterpret_cast<const sockaddr*>(out);
    bool has_port = sa->sa_family == AF_INET
                        ? reinterpret_cast<const sockaddr_in*>(sa)->sin_port != 0
                        : reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port != 0;
    if (!has_port && address.find(':') == std::string::npos) {
      return Status::InvalidArgument("address '" + address + "' has no port (want HOST:PORT)");
    }
    *len = static_cast<socklen_t>(n);
    return Status::OK();
  }
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return Status::InvalidArgument("bad address '" + address + "' (want HOST:PORT)");
  }
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  for (char c : port) {
    if (c < '0' || c > '9') return Status::InvalidArgument("bad port in address '" + address + "'");
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    return Status::NetworkError("cannot resolve '" + host + "': " + gai_strerror(rc));
  }
  memcpy(out, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return Status::OK();
}

std::string SockaddrToString(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
    return std::string(buf) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "?";
}

bool IsCertificateRefusal(const std::string& text) {
  if (text.find("certificate verify failed") != std::string::npos) return true;
  if (text.find("alert") == std::string::npos) return false;
  return text.find("certificate") != std::string::npos ||
         text.find("unknown ca") != std::string::npos ||
         text.find("access denied") != std::string::npos;
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

LoopWakeup::~LoopWakeup() {
  DetachEvent();
  if (fd_ >= 0) close(fd_);
}

void LoopWakeup::DetachEvent() {
  if (ev_ != nullptr) event_free(ev_);
  ev_ = nullptr;
}

Status LoopWakeup::Init(event_base* base, void (*cb)(void*), void* arg) {
  cb_ = cb;
  arg_ = arg;
  fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd_ < 0) return ErrnoToStatus("eventfd", errno);
  ev_ = event_new(base, fd_, EV_READ | EV_PERSIST, &LoopWakeup::OnReadable, this);
  if (ev_ == nullptr || event_add(ev_, nullptr) != 0) {
    return Status::Internal("cannot add the wakeup event");
  }
  return Status::OK();
}

void LoopWakeup::Notify() {
  uint64_t one = 1;
  while (write(fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

void LoopWakeup::OnReadable(int fd, short, void* arg) {
  LoopWakeup* self = static_cast<LoopWakeup*>(arg);
  uint64_t n;
  while (read(fd, &n, sizeof(n)) < 0 && errno == EINTR) {
  }
  self->cb_(self->arg_);
}

}  // namespace kdi::rpc
