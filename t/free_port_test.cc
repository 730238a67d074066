// kdicli local-cluster's port choice (kdicli/free_port.h): never a port that
// another daemon of the cluster already has, even when the kernel offers the
// same port twice; a clear error when no other port comes.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "kdicli/free_port.h"

namespace kdi::cli {
namespace {

TEST(FreePortTest, SkipsPortsTheClusterAlreadyUses) {
  std::vector<int> offers = {40000, 40000, 40000, 40001};
  size_t next = 0;
  auto source = [&](int* p) {
    *p = offers[next++];
    return Status::OK();
  };
  int port = 0;
  ASSERT_TRUE(PickFreeLoopbackPort({40000}, &port, source).ok());
  EXPECT_EQ(port, 40001);
  EXPECT_EQ(next, 4u);
}

TEST(FreePortTest, FailsClearlyWhenEveryOfferIsTaken) {
  int calls = 0;
  auto source = [&](int* p) {
    calls++;
    *p = 40000;
    return Status::OK();
  };
  int port = 0;
  Status s = PickFreeLoopbackPort({40000}, &port, source);
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("free port"), std::string::npos) << s.ToString();
  EXPECT_EQ(calls, kMaxPortAttempts);
}

TEST(FreePortTest, PassesTheSourcesErrorOn) {
  auto source = [](int*) { return Status::IOError("no sockets left"); };
  int port = 0;
  Status s = PickFreeLoopbackPort({}, &port, source);
  EXPECT_EQ(s.code(), Status::Code::kIOError) << s.ToString();
}

TEST(FreePortTest, TheKernelsChoiceIsALoopbackPortThatCanBeBound) {
  std::set<int> given;
  for (int i = 0; i < 20; i++) {
    int port = 0;
    ASSERT_TRUE(PickFreeLoopbackPort(given, &port).ok());
    EXPECT_GT(port, 0);
    EXPECT_LT(port, 65536);
    EXPECT_TRUE(given.insert(port).second) << "port " << port << " given twice";
  }
}

}  // namespace
}  // namespace kdi::cli
