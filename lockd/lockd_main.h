// LockdMain: the lockd program (flags, kdi.conf [lockd], daemonizing) around a
// LockdServer. Called by lockd/main.cc; returns the process exit code.
#ifndef KDI_LOCKD_LOCKD_MAIN_H_
#define KDI_LOCKD_LOCKD_MAIN_H_

namespace kdi::lockd {

int LockdMain(int argc, char** argv);

}  // namespace kdi::lockd

#endif  // KDI_LOCKD_LOCKD_MAIN_H_
