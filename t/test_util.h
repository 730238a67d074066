// Helpers shared by every KDI test program: status assertions, temporary
// directories that clean themselves up, free loopback ports, test certificates.
// Used from the test's main thread unless said otherwise.
#ifndef KDI_T_TEST_UTIL_H_
#define KDI_T_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <string>

#include "kdi/status.h"

#define ASSERT_OK(expr)                                  \
  do {                                                   \
    ::kdi::Status _s = (expr);                           \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.ToString(); \
  } while (0)
#define EXPECT_OK(expr)                                  \
  do {                                                   \
    ::kdi::Status _s = (expr);                           \
    EXPECT_TRUE(_s.ok()) << #expr << ": " << _s.ToString(); \
  } while (0)

namespace kdi::test {

// A fresh directory under $TMPDIR (or /tmp), removed recursively on destruction
// unless KDI_KEEP_TEST_DIRS is set.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago: below the kernel's
// ephemeral range when it leaves room, and never one returned before by this
// process. Thread-safe.
int FreePort();

// Removes a directory tree; ignores errors.
void RemoveTree(const std::string& path);

// Directory of the build tree's top (for finding built programs), from the
// KDI_BUILD_DIR environment variable set by the test harness, else ".".
std::string BuildDir();

}  // namespace kdi::test

#endif  // KDI_T_TEST_UTIL_H_
