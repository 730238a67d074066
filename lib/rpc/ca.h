// Certificate authority tooling for a KDI cluster, with the OpenSSL API.
//
// A CA directory holds ca.crt and ca.key (mode 0600). Issued identities are
// written as NAME.crt and NAME.key (0600) in the same directory unless another
// output directory is named. A certificate's subject is CN=NAME, OU=ROLE,
// O=KDI; the key is EC P-256.
//
// Thread-compatible: distinct calls on distinct directories may run concurrently.
#ifndef KDI_LIB_RPC_CA_H_
#define KDI_LIB_RPC_CA_H_

#include <string>

#include "kdi/status.h"
#include "lib/rpc/tls.h"

namespace kdi::rpc {

struct IssueOptions {
  Role role = Role::kClient;
  std::string name;             // principal: [A-Za-z0-9_.:-]{1,128}
  std::string out_dir;          // empty: the CA directory
  int validity_days = 3650;
  // For tests: issue a certificate that expired (notAfter in the past).
  bool already_expired = false;
  // Extra subjectAltName DNS/IP entries (e.g. "127.0.0.1", "localhost").
  std::string subject_alt_names;
};

// Creates DIR (if needed) with a new CA. AlreadyExists if DIR/ca.key exists.
Status CaInit(const std::string& dir, const std::string& ca_name = "KDI cluster CA",
              int validity_days = 3650);

// Issues a key and certificate signed by the CA in ca_dir.
Status CaIssue(const std::string& ca_dir, const IssueOptions& opts);

}  // namespace kdi::rpc

#endif  // KDI_LIB_RPC_CA_H_
