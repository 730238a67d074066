// kdicli: the command line of a KDI cluster. Everything is in kdicli/command.cc
// and one file per command group.
#include "kdicli/command.h"

int main(int argc, char** argv) { return kdi::cli::KdicliMain(argc, argv); }
