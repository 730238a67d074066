// The tabletd program: declares its options (tabletd(8) documents each one;
// every option is a flag and a kdi.conf [tabletd] key) and runs a TabletServer
// under the shared daemon runner (lib/util/daemon.h).
#ifndef KDI_TABLETD_TABLETD_MAIN_H_
#define KDI_TABLETD_TABLETD_MAIN_H_

namespace kdi::tabletd {

// Returns the process exit code (0 ok, 1 runtime failure, 2 usage).
int TabletdMain(int argc, char** argv);

}  // namespace kdi::tabletd

#endif  // KDI_TABLETD_TABLETD_MAIN_H_
