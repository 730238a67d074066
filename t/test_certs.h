// Test certificates: a throwaway cluster CA and identities in a test's TempDir,
// for every test that starts an RPC server or a daemon.
//
//   kdi::test::TempDir tmp;
//   kdi::test::TestCerts certs(tmp.path());
//   ServerOptions so; so.tls = certs.ServerTls();
//   ChannelOptions co; co.tls = certs.ClientTls();
//   // daemon flags: certs.Options("server").cert_file / .key_file / .ca_file
//
// The constructor makes DIR/certs with ca.crt/ca.key and three identities:
// "server" (role server, subjectAltName 127.0.0.1 and localhost), "client"
// (role client) and "admin" (role admin). Issue() adds more. Any failure aborts
// the test program with a message (it means the test machine is broken).
// Not thread-safe; use from the test's main thread.
#ifndef KDI_T_TEST_CERTS_H_
#define KDI_T_TEST_CERTS_H_

#include <memory>
#include <string>

#include "lib/rpc/tls.h"

namespace kdi::test {

class TestCerts {
 public:
  explicit TestCerts(const std::string& dir);

  // The CA directory (DIR/certs) and its certificate.
  const std::string& ca_dir() const { return ca_dir_; }
  std::string ca_file() const { return ca_dir_ + "/ca.crt"; }

  // ca_file, cert_file and key_file of an issued identity.
  rpc::TlsOptions Options(const std::string& name) const;

  // Issues another identity signed by this CA and returns its options.
  rpc::TlsOptions Issue(const std::string& name, rpc::Role role, bool expired = false);

  std::shared_ptr<rpc::TlsContext> ServerTls(const std::string& name = "server") const;
  std::shared_ptr<rpc::TlsContext> ClientTls(const std::string& name = "client") const;
  std::shared_ptr<rpc::TlsContext> AdminTls() const { return ClientTls("admin"); }

 private:
  std::string ca_dir_;
};

}  // namespace kdi::test

#endif  // KDI_T_TEST_CERTS_H_
