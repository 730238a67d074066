// A blocking TLS client made with raw OpenSSL, for tests that must misbehave
// as no Channel does (malformed frames, a reader that stops, a close in the
// middle of a frame). Connects to 127.0.0.1:port with the given identity and
// verifies the server against the CA; reads time out after timeout_s seconds.
// One thread at a time.
#ifndef KDI_T_RAW_TLS_CLIENT_H_
#define KDI_T_RAW_TLS_CLIENT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "lib/rpc/tls.h"

namespace kdi::rpc {

class RawTlsClient {
 public:
  RawTlsClient(const TlsOptions& o, int port, int timeout_s = 5) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx_, o.ca_file.c_str(), nullptr);
    SSL_CTX_use_certificate_chain_file(ctx_, o.cert_file.c_str());
    SSL_CTX_use_PrivateKey_file(ctx_, o.key_file.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{timeout_s, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    ok_ = SSL_connect(ssl_) == 1;
  }
  ~RawTlsClient() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) close(fd_);
    SSL_CTX_free(ctx_);
  }
  RawTlsClient(const RawTlsClient&) = delete;
  RawTlsClient& operator=(const RawTlsClient&) = delete;

  bool ok() const { return ok_; }
  bool Send(const std::string& bytes) {
    return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) ==
           static_cast<int>(bytes.size());
  }
  // Everything until the server closes (or the read timeout).
  std::string ReadAll() {
    std::string got;
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl_, buf, sizeof(buf))) > 0) got.append(buf, n);
    return got;
  }
  // Reads and discards up to n bytes; returns how many came.
  size_t Drain(size_t n) {
    std::vector<char> buf(256 * 1024);
    size_t got = 0;
    while (got < n) {
      int r = SSL_read(ssl_, buf.data(), static_cast<int>(std::min(buf.size(), n - got)));
      if (r <= 0) break;
      got += r;
    }
    return got;
  }
  // Closes the socket under the TLS session (no close_notify).
  void CloseSocket() {
    close(fd_);
    fd_ = -1;
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool ok_ = false;
};

}  // namespace kdi::rpc

#endif  // KDI_T_RAW_TLS_CLIENT_H_
