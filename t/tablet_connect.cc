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

Schema OneFamilySchema(const std::string& family) {
  Schema s;
  FamilyOptions f;
  f.name = family;
  Status st = s.AddFamily(f);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return s;
}

client::LoadTabletRequest LoadRequest(const std::string& table, const std::string& id,
                                      const std::string& start, const std::string& end,
                                      const Schema& schema) {
  client::LoadTabletRequest r;
  r.desc.tablet = {table, id};
  r.desc.start_row = start;
  r.desc.end_row = end;
  r.desc.dir = "tables/" + table + "/" + id;
  r.schema = schema;
  r.create_if_missing = true;
  return r;
}

}  // namespace kdi::test
