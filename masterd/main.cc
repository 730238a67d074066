// masterd: the KDI master. All logic lives in masterd_main.cc and the files it
// names.
#include "masterd/masterd_main.h"

int main(int argc, char** argv) { return kdi::masterd::MasterdMain(argc, argv); }
