#include "t/test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <random>
#include <set>

namespace kdi::test {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/kdi-test-XXXXXX";
  char* p = mkdtemp(tmpl.data());
  if (p == nullptr) abort();
  path_ = p;
}

TempDir::~TempDir() {
  if (std::getenv("KDI_KEEP_TEST_DIRS") == nullptr) RemoveTree(path_);
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

namespace {

// Whether port can be bound on 127.0.0.1 now.
bool Bindable(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// The first port of the kernel's ephemeral range (connect and bind to port 0
// take their ports from there).
int EphemeralLow() {
  FILE* f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
  int low = 32768, high = 60999;
  if (f != nullptr) {
    if (fscanf(f, "%d %d", &low, &high) != 2) low = 32768;
    fclose(f);
  }
  return low;
}

}  // namespace

int FreePort() {
  // Below the ephemeral range, so that no connection's own end takes the port
  // before the daemon it is meant for binds it, and never one this process
  // handed out before. (bind to port 0 once gave a masterd and a tabletd of
  // one mini cluster the same port; t/masterd_split_fault_test failed.)
  static std::mutex mu;
  static std::set<int>* given = new std::set<int>;
  static std::mt19937 rng(static_cast<uint32_t>(getpid()) * 2654435761u ^
                          static_cast<uint32_t>(time(nullptr)));
  std::lock_guard<std::mutex> l(mu);
  const int low = 10000;
  const int high = EphemeralLow() - 1;
  if (high - low >= 1000) {
    std::uniform_int_distribution<int> pick(low, high);
    for (int attempt = 0; attempt < 200; attempt++) {
      int port = pick(rng);
      if (given->count(port) == 0 && Bindable(port)) {
        given->insert(port);
        return port;
      }
    }
  }
  // Fallback: a port the kernel picks.
  for (int attempt = 0; attempt < 100; attempt++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int port = -1;
    socklen_t len = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    if (port > 0 && given->insert(port).second) return port;
  }
  return -1;
}

std::string BuildDir() {
  const char* d = std::getenv("KDI_BUILD_DIR");
  return d && *d ? d : ".";
}

}  // namespace kdi::test
