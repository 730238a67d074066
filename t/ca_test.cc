// CA tooling: a CA and identities made with the OpenSSL API, key files 0600,
// no overwriting, bad names refused.
#include "lib/rpc/ca.h"

#include <sys/stat.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>

#include "t/test_util.h"

namespace kdi::rpc {
namespace {

int Mode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return st.st_mode & 0777;
}

X509* LoadCert(const std::string& path) {
  FILE* f = fopen(path.c_str(), "r");
  if (f == nullptr) return nullptr;
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  fclose(f);
  return x;
}

std::string Field(X509* x, int nid) {
  char buf[256] = "";
  X509_NAME_get_text_by_NID(X509_get_subject_name(x), nid, buf, sizeof(buf));
  return buf;
}

TEST(CaTest, InitAndIssue) {
  test::TempDir tmp;
  std::string ca = tmp.Join("ca");
  ASSERT_OK(CaInit(ca, "Test CA"));
  EXPECT_EQ(Mode(ca + "/ca.key"), 0600);
  EXPECT_EQ(Mode(ca), 0700);

  IssueOptions o;
  o.role = Role::kServer;
  o.name = "tabletd-1";
  o.subject_alt_names = "127.0.0.1, localhost";
  ASSERT_OK(CaIssue(ca, o));
  EXPECT_EQ(Mode(ca + "/tabletd-1.key"), 0600);

  X509* cert = LoadCert(ca + "/tabletd-1.crt");
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(Field(cert, NID_commonName), "tabletd-1");
  EXPECT_EQ(Field(cert, NID_organizationalUnitName), "server");
  EXPECT_EQ(Field(cert, NID_organizationName), "KDI");
  EXPECT_EQ(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_host(cert, "localhost", 0, 0, nullptr), 1);
  EVP_PKEY* key = X509_get0_pubkey(cert);
  EXPECT_EQ(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(key), 256);
  EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(cert)), 0);

  // It chains to the CA.
  X509* ca_cert = LoadCert(ca + "/ca.crt");
  ASSERT_NE(ca_cert, nullptr);
  EXPECT_EQ(X509_check_issued(ca_cert, cert), X509_V_OK);
  EXPECT_EQ(X509_verify(cert, X509_get0_pubkey(ca_cert)), 1);
  EXPECT_EQ(X509_check_ca(ca_cert), 1);
  EXPECT_EQ(X509_check_ca(cert), 0);
  X509_free(ca_cert);
  X509_free(cert);

  // Into another directory, with a client role.
  o = IssueOptions();
  o.role = Role::kAdmin;
  o.name = "ops";
  o.out_dir = tmp.Join("ops");
  ASSERT_OK(CaIssue(ca, o));
  EXPECT_EQ(Mode(tmp.Join("ops/ops.key")), 0600);
  cert = LoadCert(tmp.Join("ops/ops.crt"));
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(Field(cert, NID_organizationalUnitName), "admin");
  X509_free(cert);
}

TEST(CaTest, KeyModeIgnoresUmask) {
  test::TempDir tmp;
  mode_t old = umask(0);
  Status s = CaInit(tmp.Join("ca"));
  umask(old);
  ASSERT_OK(s);
  EXPECT_EQ(Mode(tmp.Join("ca/ca.key")), 0600);
}

TEST(CaTest, RefusesToOverwrite) {
  test::TempDir tmp;
  std::string ca = tmp.Join("ca");
  ASSERT_OK(CaInit(ca));
  Status s = CaInit(ca);
  EXPECT_TRUE(s.IsAlreadyExists()) << s.ToString();
  IssueOptions o;
  o.name = "c1";
  ASSERT_OK(CaIssue(ca, o));
  s = CaIssue(ca, o);
  EXPECT_TRUE(s.IsAlreadyExists()) << s.ToString();
}

TEST(CaTest, BadInputRefused) {
  test::TempDir tmp;
  std::string ca = tmp.Join("ca");
  ASSERT_OK(CaInit(ca));
  for (const char* name : {"", "a/b", "../x", ".hidden", "-flag", "sp ace", "ca", "é"}) {
    IssueOptions o;
    o.name = name;
    Status s = CaIssue(ca, o);
    EXPECT_TRUE(s.IsInvalidArgument()) << "'" << name << "': " << s.ToString();
  }
  IssueOptions o;
  o.name = std::string(129, 'a');
  EXPECT_TRUE(CaIssue(ca, o).IsInvalidArgument());
  o.name = "ok";
  o.role = Role::kNone;
  EXPECT_TRUE(CaIssue(ca, o).IsInvalidArgument());
  o.role = Role::kClient;
  o.subject_alt_names = "IP:not-an-ip";
  EXPECT_TRUE(CaIssue(ca, o).IsInvalidArgument());
  o.subject_alt_names = "bad,@section";
  EXPECT_TRUE(CaIssue(ca, o).IsInvalidArgument());
  // No CA there.
  o.subject_alt_names.clear();
  Status s = CaIssue(tmp.Join("nothing"), o);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find("ca.crt"), std::string::npos) << s.ToString();
}

TEST(CaTest, ExpiredForTests) {
  test::TempDir tmp;
  std::string ca = tmp.Join("ca");
  ASSERT_OK(CaInit(ca));
  IssueOptions o;
  o.name = "old";
  o.already_expired = true;
  ASSERT_OK(CaIssue(ca, o));
  X509* cert = LoadCert(ca + "/old.crt");
  ASSERT_NE(cert, nullptr);
  EXPECT_LT(X509_cmp_current_time(X509_get0_notAfter(cert)), 0);
  X509_free(cert);
}

}  // namespace
}  // namespace kdi::rpc
