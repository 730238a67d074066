// tabletd: the KDI tablet server. All logic lives in tabletd_main.cc and the
// files it names.
#include "tabletd/tabletd_main.h"

int main(int argc, char** argv) { return kdi::tabletd::TabletdMain(argc, argv); }
