// TLS contexts and peer identities; see tls.h.
#include "lib/rpc/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>

#include "lib/util/log.h"

namespace kdi::rpc {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kClient: return "client";
    case Role::kAdmin: return "admin";
    case Role::kServer: return "server";
    case Role::kNone: break;
  }
  return "none";
}

Role ParseRole(const std::string& name) {
  if (name == "client") return Role::kClient;
  if (name == "admin") return Role::kAdmin;
  if (name == "server") return Role::kServer;
  return Role::kNone;
}

std::string OpenSslErrorString() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    const char* reason = ERR_reason_error_string(e);
    char buf[256];
    if (reason == nullptr) {
      ERR_error_string_n(e, buf, sizeof(buf));
      reason = buf;
    }
    if (!out.empty()) out += "; ";
    out += reason;
  }
  return out;
}

namespace {

// The UTF-8 text of the first entry with nid in name, or "".
std::string NameEntry(X509_NAME* name, int nid) {
  if (name == nullptr) return "";
  int idx = X509_NAME_get_index_by_NID(name, nid, -1);
  if (idx < 0) return "";
  X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, idx);
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
  if (n < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), n);
  OPENSSL_free(utf8);
  return out;
}

void IdentityFromCert(X509* cert, PeerIdentity* id) {
  X509_NAME* subject = X509_get_subject_name(cert);
  id->principal = NameEntry(subject, NID_commonName);
  id->role = ParseRole(NameEntry(subject, NID_organizationalUnitName));
}

// Checks that path can be opened for reading, for an error that names the file
// and the errno rather than OpenSSL's "system lib".
Status CheckReadable(const std::string& what, const std::string& path) {
  if (path.empty()) return Status::InvalidArgument(what + " not configured");
  FILE* f = fopen(path.c_str(), "r");
  if (f == nullptr) return ErrnoToStatus(what + " " + path, errno);
  fclose(f);
  return Status::OK();
}

Status Create(const TlsOptions& opts, bool server, SSL_CTX** out, PeerIdentity* self) {
  ERR_clear_error();
  bool with_cert = server || !opts.cert_file.empty() || !opts.key_file.empty();
  RETURN_NOT_OK(CheckReadable("CA file", opts.ca_file));
  if (with_cert) {
    RETURN_NOT_OK(CheckReadable("certificate file", opts.cert_file));
    RETURN_NOT_OK(CheckReadable("key file", opts.key_file));
  }
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) return Status::Internal("SSL_CTX_new: " + OpenSslErrorString());
  auto fail = [&](Status s) {
    SSL_CTX_free(ctx);
    return s;
  };
  SSL_CTX_set_min_proto_version(ctx, opts.allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
  // Connections are long-lived and never resumed: skip session tickets.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (server) SSL_CTX_set_num_tickets(ctx, 0);
  // A peer that closes without close_notify is an end of stream, not an error:
  // the frames say whether anything was cut short.
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

  if (SSL_CTX_load_verify_locations(ctx, opts.ca_file.c_str(), nullptr) != 1) {
    return fail(Status::InvalidArgument("CA file " + opts.ca_file +
                                        ": not a PEM certificate (" + OpenSslErrorString() +
                                        ")"));
  }
  if (server) {
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(opts.ca_file.c_str());
    if (names == nullptr) {
      return fail(Status::InvalidArgument("CA file " + opts.ca_file + ": no CA names (" +
                                          OpenSslErrorString() + ")"));
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  SSL_CTX_set_verify_depth(ctx, 4);

  if (with_cert) {
    if (SSL_CTX_use_certificate_chain_file(ctx, opts.cert_file.c_str()) != 1) {
      return fail(Status::InvalidArgument("certificate file " + opts.cert_file +
                                          ": not a PEM certificate (" +
                                          OpenSslErrorString() + ")"));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, opts.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      std::string why = OpenSslErrorString();
      if (why.find("mismatch") != std::string::npos) {
        return fail(Status::InvalidArgument("key file " + opts.key_file +
                                            " does not match certificate " + opts.cert_file));
      }
      return fail(Status::InvalidArgument("key file " + opts.key_file +
                                          ": not a PEM private key (" + why + ")"));
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      return fail(Status::InvalidArgument("key file " + opts.key_file +
                                          " does not match certificate " + opts.cert_file +
                                          " (" + OpenSslErrorString() + ")"));
    }
    X509* cert = SSL_CTX_get0_certificate(ctx);
    IdentityFromCert(cert, self);
    if (self->principal.empty()) {
      return fail(Status::InvalidArgument("certificate file " + opts.cert_file +
                                          ": subject has no commonName"));
    }
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
      KDI_LOG(WARN, "tls") << "certificate " << opts.cert_file << " of '" << self->principal
                           << "' has expired; peers will refuse it";
    }
  }
  *out = ctx;
  return Status::OK();
}

}  // namespace

Status TlsContext::CreateServer(const TlsOptions& opts, std::shared_ptr<TlsContext>* out) {
  SSL_CTX* ctx = nullptr;
  PeerIdentity self;
  RETURN_NOT_OK_PREPEND(Create(opts, true, &ctx, &self), "server TLS context");
  out->reset(new TlsContext(ctx, true));
  (*out)->self_ = self;
  return Status::OK();
}

Status TlsContext::CreateClient(const TlsOptions& opts, std::shared_ptr<TlsContext>* out) {
  SSL_CTX* ctx = nullptr;
  PeerIdentity self;
  RETURN_NOT_OK_PREPEND(Create(opts, false, &ctx, &self), "client TLS context");
  out->reset(new TlsContext(ctx, false));
  (*out)->self_ = self;
  return Status::OK();
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Status TlsContext::PeerFromSsl(SSL* ssl, PeerIdentity* peer) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return Status::PermissionDenied("peer presented no certificate");
  long rc = SSL_get_verify_result(ssl);
  if (rc != X509_V_OK) {
    return Status::PermissionDenied(std::string("peer certificate did not verify: ") +
                                    X509_verify_cert_error_string(rc));
  }
  IdentityFromCert(cert, peer);
  if (peer->principal.empty()) {
    return Status::PermissionDenied("peer certificate has no commonName");
  }
  return Status::OK();
}

}  // namespace kdi::rpc
