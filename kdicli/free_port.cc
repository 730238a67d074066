// See free_port.h.
#include "kdicli/free_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace kdi::cli {

Status KernelFreeLoopbackPort(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoToStatus("socket", errno);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    int e = errno;
    close(fd);
    return ErrnoToStatus("finding a free port", e);
  }
  *port = ntohs(a.sin_port);
  close(fd);
  return Status::OK();
}

Status PickFreeLoopbackPort(const std::set<int>& avoid, int* port,
                            const std::function<Status(int*)>& source) {
  for (int attempt = 0; attempt < kMaxPortAttempts; attempt++) {
    int p = 0;
    RETURN_NOT_OK(source(&p));
    if (avoid.count(p) == 0) {
      *port = p;
      return Status::OK();
    }
  }
  return Status::ResourceExhausted("finding a free port: " + std::to_string(kMaxPortAttempts) +
                                   " tries gave only ports the cluster already uses");
}

}  // namespace kdi::cli
