// Connections to a MiniCluster's daemons for tests (see t/tablet_connect.h).
#include "t/tablet_connect.h"

#include <gtest/gtest.h>

namespace kdi::test {

std::shared_ptr<rpc::TlsContext> ClientTlsContext(const TlsFiles& files) {
  rpc::TlsOptions o;
  o.ca_file = files.ca_file;
  o.cert_file = files.cert_file;
  o.key_file = files.key_file;
  std::shared_ptr<rpc::TlsContext> tls;
  Status s = rpc::TlsContext::CreateClient(o, &tls);
  EXPECT_TRUE(s.ok()) << "client TLS context for " << files.cert_file << ": " << s.ToString();
  return tls;
}

std::unique_ptr<client::TabletClient> ConnectTabletd(const std::string& address,
                                                     const TlsFiles& files,
                                                     int64_t timeout_ms) {
  return std::make_unique<client::TabletClient>(
      client::TabletClient::Options{address, ClientTlsContext(files), nullptr, timeout_ms});
}

}  // namespace kdi::test
