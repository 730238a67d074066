// The masterd program: declares its options (man/masterd.8) and runs a
// MasterServer under the daemon runner (lib/util/daemon.h).
#ifndef KDI_MASTERD_MASTERD_MAIN_H_
#define KDI_MASTERD_MASTERD_MAIN_H_

namespace kdi::masterd {

int MasterdMain(int argc, char** argv);

}  // namespace kdi::masterd

#endif  // KDI_MASTERD_MASTERD_MAIN_H_
