// Test-only fault points: masterd exits at a named step so that a test can
// check that the next master converges (doc/masterd.md lists the points).
//
//   MASTERD_FAULT("after-meta-assigning");
//
// When the configured point (--masterd_fault_point NAME) is reached the process
// logs "fault point NAME reached" and _exit(kFaultExitCode)s at once, without
// any cleanup, like kill -9. With "NAME:stop" it instead stops itself
// (SIGSTOP, like a long GC pause or a stopped VM exactly at that step) and
// carries on from there when it gets SIGCONT: the test for fencing of a
// master that lost its lock. The point fires once per process. When no point
// is configured the check is one relaxed atomic load. SetFaultPoint is called once at startup; FaultPoint may
// be called from any thread.
#ifndef KDI_MASTERD_FAULT_POINTS_H_
#define KDI_MASTERD_FAULT_POINTS_H_

#include <string>
#include <vector>

namespace kdi::masterd {

constexpr int kFaultExitCode = 86;

// Every fault point the code has (for --help and validation).
const std::vector<std::string>& KnownFaultPoints();
// "" disables. Returns false for an unknown name (or an unknown ":action").
bool SetFaultPoint(const std::string& name);
void FaultPoint(const char* name);

}  // namespace kdi::masterd

#define MASTERD_FAULT(name) ::kdi::masterd::FaultPoint(name)

#endif  // KDI_MASTERD_FAULT_POINTS_H_
