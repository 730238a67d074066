// Certificate authority tooling; see ca.h.
//
// Every object is built with the OpenSSL 3 API; nothing is shelled out. Keys
// are written with open(O_CREAT | O_EXCL, 0600) plus fchmod (the umask cannot
// widen them), so an existing key is never overwritten.
#include "lib/rpc/ca.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

namespace kdi::rpc {

namespace {

struct Deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_NAME* p) const { X509_NAME_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Deleter>;

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Writes data to a new file with the given mode; AlreadyExists if it exists.
Status WriteNewFile(const std::string& path, const std::string& data, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return Status::AlreadyExists(path + " already exists");
    return ErrnoToStatus("creating " + path, errno);
  }
  // The umask may only narrow the mode; fchmod makes it exactly what we asked.
  if (fchmod(fd, mode) != 0) {
    int e = errno;
    close(fd);
    unlink(path.c_str());
    return ErrnoToStatus("chmod " + path, e);
  }
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      unlink(path.c_str());
      return ErrnoToStatus("writing " + path, e);
    }
    off += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    int e = errno;
    unlink(path.c_str());
    return ErrnoToStatus("syncing " + path, e);
  }
  return Status::OK();
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
}

Status KeyPem(EVP_PKEY* key, std::string* out) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return Status::Internal("encoding private key: " + OpenSslErrorString());
  *out = BioText(bio.get());
  return Status::OK();
}

Status CertPem(X509* cert, std::string* out) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
    return Status::Internal("encoding certificate: " + OpenSslErrorString());
  *out = BioText(bio.get());
  return Status::OK();
}

Status NewKey(Owned<EVP_PKEY>* key) {
  key->reset(EVP_EC_gen("P-256"));
  if (!*key) return Status::Internal("generating an EC P-256 key: " + OpenSslErrorString());
  return Status::OK();
}

Status AddText(X509_NAME* name, const char* field, const std::string& value) {
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                 0) != 1) {
    return Status::InvalidArgument(std::string("bad certificate ") + field + " '" + value +
                                   "': " + OpenSslErrorString());
  }
  return Status::OK();
}

Status AddExt(X509* issuer, X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) {
    return Status::InvalidArgument(std::string("certificate extension ") + OBJ_nid2sn(nid) +
                                   " = '" + value + "': " + OpenSslErrorString());
  }
  int rc = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (rc != 1) return Status::Internal("adding extension: " + OpenSslErrorString());
  return Status::OK();
}

// Fills the fields common to the CA and issued certificates.
Status InitCert(X509* cert, EVP_PKEY* key, int validity_days, bool expired) {
  X509_set_version(cert, 2);  // v3
  Owned<BIGNUM> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
    return Status::Internal("certificate serial: " + OpenSslErrorString());
  }
  if (expired) {
    X509_gmtime_adj(X509_getm_notBefore(cert), -2L * 86400);
    X509_gmtime_adj(X509_getm_notAfter(cert), -1L * 86400);
  } else {
    // A little slack for peers whose clock is behind ours.
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_time_adj_ex(X509_getm_notAfter(cert), validity_days, 0, nullptr);
  }
  if (X509_set_pubkey(cert, key) != 1) return Status::Internal("X509_set_pubkey failed");
  return Status::OK();
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 128 || name[0] == '.' || name[0] == '-') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// "127.0.0.1, localhost, DNS:x" -> "IP:127.0.0.1,DNS:localhost,DNS:x".
Status SanValue(const std::string& in, std::string* out) {
  out->clear();
  size_t pos = 0;
  while (pos <= in.size()) {
    size_t comma = in.find(',', pos);
    if (comma == std::string::npos) comma = in.size();
    std::string item = in.substr(pos, comma - pos);
    pos = comma + 1;
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item.empty()) continue;
    std::string kind;
    if (item.compare(0, 4, "DNS:") == 0) {
      kind = "DNS";
      item = item.substr(4);
    } else if (item.compare(0, 3, "IP:") == 0) {
      kind = "IP";
      item = item.substr(3);
    }
    unsigned char buf[16];
    bool is_ip = inet_pton(AF_INET, item.c_str(), buf) == 1 ||
                 inet_pton(AF_INET6, item.c_str(), buf) == 1;
    if (kind.empty()) kind = is_ip ? "IP" : "DNS";
    if (kind == "IP" && !is_ip) {
      return Status::InvalidArgument("subjectAltName '" + item + "' is not an IP address");
    }
    for (char c : item) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == ':' || c == '-' || c == '*';
      if (!ok || item.size() > 253) {
        return Status::InvalidArgument("subjectAltName '" + item + "' has bad characters");
      }
    }
    if (!out->empty()) *out += ",";
    *out += kind + ":" + item;
  }
  return Status::OK();
}

Status LoadCa(const std::string& dir, Owned<X509>* cert, Owned<EVP_PKEY>* key) {
  std::string crt_path = dir + "/ca.crt";
  std::string key_path = dir + "/ca.key";
  Owned<BIO> cb(BIO_new_file(crt_path.c_str(), "r"));
  if (!cb) return ErrnoToStatus("reading CA certificate " + crt_path, errno ? errno : ENOENT);
  cert->reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  if (!*cert) {
    return Status::InvalidArgument("CA certificate " + crt_path + " is not a PEM certificate (" +
                                   OpenSslErrorString() + ")");
  }
  Owned<BIO> kb(BIO_new_file(key_path.c_str(), "r"));
  if (!kb) return ErrnoToStatus("reading CA key " + key_path, errno ? errno : ENOENT);
  key->reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (!*key) {
    return Status::InvalidArgument("CA key " + key_path + " is not a PEM private key (" +
                                   OpenSslErrorString() + ")");
  }
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    return Status::InvalidArgument("CA key " + key_path + " does not match " + crt_path);
  }
  return Status::OK();
}

}  // namespace

Status CaInit(const std::string& dir, const std::string& ca_name, int validity_days) {
  if (dir.empty()) return Status::InvalidArgument("CA directory not given");
  if (ca_name.empty() || ca_name.size() > 64) {
    return Status::InvalidArgument("CA name must be 1 to 64 characters");
  }
  if (validity_days <= 0) return Status::InvalidArgument("CA validity must be positive");
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoToStatus("creating CA directory " + dir, errno);
  }
  std::string key_path = dir + "/ca.key";
  std::string crt_path = dir + "/ca.crt";
  if (FileExists(key_path) || FileExists(crt_path)) {
    return Status::AlreadyExists("a CA already exists in " + dir + " (" + key_path +
                                 "); refusing to overwrite it");
  }
  ERR_clear_error();
  Owned<EVP_PKEY> key;
  RETURN_NOT_OK(NewKey(&key));
  Owned<X509> cert(X509_new());
  if (!cert) return Status::Internal("X509_new failed");
  RETURN_NOT_OK(InitCert(cert.get(), key.get(), validity_days, false));
  X509_NAME* name = X509_get_subject_name(cert.get());
  RETURN_NOT_OK(AddText(name, "O", "KDI"));
  RETURN_NOT_OK(AddText(name, "CN", ca_name));
  X509_set_issuer_name(cert.get(), name);
  RETURN_NOT_OK(AddExt(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  RETURN_NOT_OK(AddExt(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  RETURN_NOT_OK(AddExt(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
    return Status::Internal("signing the CA certificate: " + OpenSslErrorString());
  }
  std::string key_pem, crt_pem;
  RETURN_NOT_OK(KeyPem(key.get(), &key_pem));
  RETURN_NOT_OK(CertPem(cert.get(), &crt_pem));
  RETURN_NOT_OK(WriteNewFile(key_path, key_pem, 0600));
  Status s = WriteNewFile(crt_path, crt_pem, 0644);
  if (!s.ok()) unlink(key_path.c_str());
  return s;
}

Status CaIssue(const std::string& ca_dir, const IssueOptions& opts) {
  if (!ValidName(opts.name)) {
    return Status::InvalidArgument("bad certificate name '" + opts.name +
                                   "': use 1 to 128 of [A-Za-z0-9_.:-], not starting with . or -");
  }
  if (opts.name == "ca") return Status::InvalidArgument("the name 'ca' is reserved for the CA");
  if (opts.role == Role::kNone) {
    return Status::InvalidArgument("a certificate needs a role: server, admin or client");
  }
  if (opts.validity_days <= 0) return Status::InvalidArgument("validity must be positive");
  std::string san;
  RETURN_NOT_OK(SanValue(opts.subject_alt_names, &san));
  std::string out_dir = opts.out_dir.empty() ? ca_dir : opts.out_dir;
  std::string key_path = out_dir + "/" + opts.name + ".key";
  std::string crt_path = out_dir + "/" + opts.name + ".crt";
  if (FileExists(key_path) || FileExists(crt_path)) {
    return Status::AlreadyExists("a certificate for '" + opts.name + "' already exists in " +
                                 out_dir);
  }
  ERR_clear_error();
  Owned<X509> ca_cert;
  Owned<EVP_PKEY> ca_key;
  RETURN_NOT_OK(LoadCa(ca_dir, &ca_cert, &ca_key));

  Owned<EVP_PKEY> key;
  RETURN_NOT_OK(NewKey(&key));
  Owned<X509> cert(X509_new());
  if (!cert) return Status::Internal("X509_new failed");
  RETURN_NOT_OK(InitCert(cert.get(), key.get(), opts.validity_days, opts.already_expired));
  X509_NAME* name = X509_get_subject_name(cert.get());
  RETURN_NOT_OK(AddText(name, "O", "KDI"));
  RETURN_NOT_OK(AddText(name, "OU", RoleName(opts.role)));
  RETURN_NOT_OK(AddText(name, "CN", opts.name));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  RETURN_NOT_OK(AddExt(ca_cert.get(), cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_NOT_OK(
      AddExt(ca_cert.get(), cert.get(), NID_key_usage, "critical,digitalSignature"));
  RETURN_NOT_OK(AddExt(ca_cert.get(), cert.get(), NID_ext_key_usage, "serverAuth,clientAuth"));
  RETURN_NOT_OK(AddExt(ca_cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  RETURN_NOT_OK(
      AddExt(ca_cert.get(), cert.get(), NID_authority_key_identifier, "keyid:always"));
  if (!san.empty()) {
    RETURN_NOT_OK(AddExt(ca_cert.get(), cert.get(), NID_subject_alt_name, san));
  }
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) <= 0) {
    return Status::Internal("signing the certificate: " + OpenSslErrorString());
  }
  std::string key_pem, crt_pem;
  RETURN_NOT_OK(KeyPem(key.get(), &key_pem));
  RETURN_NOT_OK(CertPem(cert.get(), &crt_pem));
  if (mkdir(out_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoToStatus("creating " + out_dir, errno);
  }
  RETURN_NOT_OK(WriteNewFile(key_path, key_pem, 0600));
  Status s = WriteNewFile(crt_path, crt_pem, 0644);
  if (!s.ok()) unlink(key_path.c_str());
  return s;
}

}  // namespace kdi::rpc
