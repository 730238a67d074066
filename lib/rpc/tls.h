// TLS contexts for KDI connections: mutual TLS, TLS 1.3 only by default, every
// peer certificate must chain to the cluster CA.
//
// A peer's identity is its certificate: the subject commonName is the principal,
// the subject organizationalUnitName is its role ("server", "admin" or "client").
// Certificates are made by lib/rpc/ca.h (`kdicli ca`).
//
// A TlsContext is immutable after creation and may be shared by any number of
// connections and threads.
//
// Verification: a server context requires a client certificate
// (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT); a client context verifies
// the server's certificate against the CA. Host names are not checked: the
// identity that matters is the principal, which Channel checks against
// ChannelOptions::expected_server_principal and the server role.
//
// Changes since the first draft of this header (rpc helper):
//  - CreateClient accepts an empty cert_file/key_file and then presents no
//    certificate (every KDI server refuses it; used by tests and diagnostics).
//  - OpenSslErrorString() drains OpenSSL's thread-local error queue into text.
#ifndef KDI_LIB_RPC_TLS_H_
#define KDI_LIB_RPC_TLS_H_

#include <memory>
#include <string>

#include "kdi/status.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace kdi::rpc {

enum class Role { kNone = 0, kClient = 1, kAdmin = 2, kServer = 3 };
const char* RoleName(Role role);
// "client" | "admin" | "server" -> Role; anything else -> kNone.
Role ParseRole(const std::string& name);

struct PeerIdentity {
  std::string principal;  // certificate commonName
  Role role = Role::kNone;
  std::string address;    // "host:port" of the remote end
};

struct TlsOptions {
  std::string ca_file;    // PEM of the cluster CA
  std::string cert_file;  // PEM certificate of this process (client: may be empty)
  std::string key_file;   // PEM private key of this process (client: may be empty)
  bool allow_tls12 = false;
};

class TlsContext {
 public:
  static Status CreateServer(const TlsOptions& opts, std::shared_ptr<TlsContext>* out);
  static Status CreateClient(const TlsOptions& opts, std::shared_ptr<TlsContext>* out);
  ~TlsContext();

  SSL_CTX* ctx() const { return ctx_; }
  bool is_server() const { return server_; }
  // The identity this context presents (from its own certificate).
  const PeerIdentity& self() const { return self_; }

  // Reads the verified peer certificate of an established connection
  // (principal and role; the address is left as is). PermissionDenied if the
  // peer presented no certificate or it did not verify.
  static Status PeerFromSsl(SSL* ssl, PeerIdentity* peer);

  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

 private:
  TlsContext(SSL_CTX* ctx, bool server) : ctx_(ctx), server_(server) {}
  SSL_CTX* ctx_;
  bool server_;
  PeerIdentity self_;
};

// Drains this thread's OpenSSL error queue into "reason; reason" (empty if the
// queue is empty).
std::string OpenSslErrorString();

}  // namespace kdi::rpc

#endif  // KDI_LIB_RPC_TLS_H_
