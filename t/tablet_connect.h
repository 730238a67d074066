// Test helpers that connect to daemons of a MiniCluster with the harness's
// certificates: a client TLS context for a principal's files, and a typed
// TabletClient for one tabletd.
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

#include "lib/client/tablet_client.h"
#include "lib/rpc/tls.h"
#include "t/mini_cluster.h"

namespace kdi::test {

std::shared_ptr<rpc::TlsContext> ClientTlsContext(const TlsFiles& files);

std::unique_ptr<client::TabletClient> ConnectTabletd(const std::string& address,
                                                     const TlsFiles& files,
                                                     int64_t timeout_ms = 20000);

}  // namespace kdi::test

#endif  // KDI_T_TABLET_CONNECT_H_
