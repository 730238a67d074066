// Ports for the daemons of a local cluster (kdicli local-cluster).
//
// PickFreeLoopbackPort asks source for a free port on 127.0.0.1 (by default
// the kernel's choice: bind to port 0) until it gets one that is not in
// avoid, the ports already given to the cluster's other daemons: two binds
// to port 0 in a row may return the same port, and two daemons of one
// cluster on one port made one of them fail to start ("Address already in
// use"; seen with the test harness's equivalent). Fails with
// ResourceExhausted after kMaxPortAttempts answers that were all taken, or
// with source's error.
//
// Thread-compatible; no state.
#ifndef KDI_KDICLI_FREE_PORT_H_
#define KDI_KDICLI_FREE_PORT_H_

#include <functional>
#include <set>

#include "kdi/status.h"

namespace kdi::cli {

constexpr int kMaxPortAttempts = 64;

// A port on 127.0.0.1 that the kernel found free just now.
Status KernelFreeLoopbackPort(int* port);

Status PickFreeLoopbackPort(const std::set<int>& avoid, int* port,
                            const std::function<Status(int*)>& source = KernelFreeLoopbackPort);

}  // namespace kdi::cli

#endif  // KDI_KDICLI_FREE_PORT_H_
