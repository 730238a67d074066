// Test helpers that talk to the tabletds of a MiniCluster: a client TLS
// context for a principal's files, a typed TabletClient for one tabletd (with
// the harness's certificates), and LoadTablet requests.
//
// A TLS context that cannot be made (missing or bad files) is reported as a
// test failure (EXPECT) naming the certificate.
//
// Threading: the functions are thread-safe; the returned objects follow
// their own classes' rules.
#ifndef KDI_T_TABLET_CONNECT_H_
#define KDI_T_TABLET_CONNECT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "kdi/schema.h"
#include "lib/client/admin_protocol.h"
#include "lib/client/tablet_client.h"
#include "lib/rpc/tls.h"
#include "t/mini_cluster.h"

namespace kdi::test {

std::shared_ptr<rpc::TlsContext> ClientTlsContext(const TlsFiles& files);

std::unique_ptr<client::TabletClient> ConnectTabletd(const std::string& address,
                                                     const TlsFiles& files,
                                                     int64_t timeout_ms = 20000);

// A schema with one family of default options.
Schema OneFamilySchema(const std::string& family);

// LoadTablet of TABLE/ID over [start, end) in "tables/TABLE/ID", created if
// missing.
client::LoadTabletRequest LoadRequest(const std::string& table, const std::string& id,
                                      const std::string& start, const std::string& end,
                                      const Schema& schema);

}  // namespace kdi::test

#endif  // KDI_T_TABLET_CONNECT_H_
