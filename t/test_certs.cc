#include "t/test_certs.h"

#include <cstdio>
#include <cstdlib>

#include "lib/rpc/ca.h"

namespace kdi::test {

namespace {
void Check(const Status& s, const std::string& what) {
  if (s.ok()) return;
  fprintf(stderr, "TestCerts: %s: %s\n", what.c_str(), s.ToString().c_str());
  abort();
}
}  // namespace

TestCerts::TestCerts(const std::string& dir) : ca_dir_(dir + "/certs") {
  Check(rpc::CaInit(ca_dir_, "KDI test CA"), "CaInit " + ca_dir_);
  rpc::IssueOptions o;
  o.role = rpc::Role::kServer;
  o.name = "server";
  o.subject_alt_names = "127.0.0.1,localhost";
  Check(rpc::CaIssue(ca_dir_, o), "issuing server");
  Issue("client", rpc::Role::kClient);
  Issue("admin", rpc::Role::kAdmin);
}

rpc::TlsOptions TestCerts::Options(const std::string& name) const {
  rpc::TlsOptions o;
  o.ca_file = ca_file();
  o.cert_file = ca_dir_ + "/" + name + ".crt";
  o.key_file = ca_dir_ + "/" + name + ".key";
  return o;
}

rpc::TlsOptions TestCerts::Issue(const std::string& name, rpc::Role role, bool expired) {
  rpc::IssueOptions o;
  o.role = role;
  o.name = name;
  o.already_expired = expired;
  if (role == rpc::Role::kServer) o.subject_alt_names = "127.0.0.1,localhost";
  Check(rpc::CaIssue(ca_dir_, o), "issuing " + name);
  return Options(name);
}

std::shared_ptr<rpc::TlsContext> TestCerts::ServerTls(const std::string& name) const {
  std::shared_ptr<rpc::TlsContext> ctx;
  Check(rpc::TlsContext::CreateServer(Options(name), &ctx), "server context " + name);
  return ctx;
}

std::shared_ptr<rpc::TlsContext> TestCerts::ClientTls(const std::string& name) const {
  std::shared_ptr<rpc::TlsContext> ctx;
  Check(rpc::TlsContext::CreateClient(Options(name), &ctx), "client context " + name);
  return ctx;
}

}  // namespace kdi::test
