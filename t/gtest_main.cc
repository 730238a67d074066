// main() for every GoogleTest program of KDI.
#include <gtest/gtest.h>
#include <signal.h>

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a peer closing a socket must not kill the test
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
