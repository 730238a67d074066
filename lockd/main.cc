// lockd: the KDI lock service. See lockd(8).
#include "lockd/lockd_main.h"

int main(int argc, char** argv) { return kdi::lockd::LockdMain(argc, argv); }
