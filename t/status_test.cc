#include "kdi/status.h"

#include <cerrno>

#include "t/test_util.h"

namespace kdi {

TEST(StatusTest, OkIsCheapAndEmpty) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(s.code(), Status::Code::kOk);
  EXPECT_TRUE(s.message().empty());
  EXPECT_EQ(sizeof(Status), sizeof(void*));
}

TEST(StatusTest, CodesAndMessages) {
  Status s = Status::NotFound("no such table: foo");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.ToString(), "NotFound: no such table: foo");
  Status copy = s;
  EXPECT_EQ(copy.ToString(), s.ToString());
  Status moved = std::move(copy);
  EXPECT_TRUE(moved.IsNotFound());
  EXPECT_EQ(s.CloneAndPrepend("opening").ToString(), "NotFound: opening: no such table: foo");
}

TEST(StatusTest, WireCodesRoundTrip) {
  for (int c = 1; c <= Status::kMaxCode; ++c) {
    Status s = Status::FromCode(c, "m");
    EXPECT_EQ(static_cast<int>(s.code()), c);
    EXPECT_STRNE(Status::CodeName(s.code()), "Unknown");
  }
  EXPECT_TRUE(Status::FromCode(0, "").ok());
  EXPECT_EQ(Status::FromCode(9999, "x").code(), Status::Code::kInternal);
  EXPECT_EQ(Status::FromCode(-3, "x").code(), Status::Code::kInternal);
}

TEST(StatusTest, ErrnoMapping) {
  EXPECT_TRUE(ErrnoToStatus("/x", ENOENT).IsNotFound());
  EXPECT_EQ(ErrnoToStatus("/x", ENOSPC).code(), Status::Code::kResourceExhausted);
  EXPECT_TRUE(ErrnoToStatus("/x", EACCES).IsPermissionDenied());
  EXPECT_TRUE(ErrnoToStatus("/x", EIO).IsIOError());
  EXPECT_NE(ErrnoToStatus("/data/t1", EIO).message().find("/data/t1"), std::string::npos);
}

Status ReturnsEarly(bool fail, int* reached) {
  RETURN_NOT_OK(fail ? Status::IOError("disk") : Status::OK());
  *reached = 1;
  return Status::OK();
}

Status Prepends() {
  RETURN_NOT_OK_PREPEND(Status::Corruption("bad page"), "tablet t/1");
  return Status::OK();
}

TEST(StatusTest, Macros) {
  int reached = 0;
  EXPECT_TRUE(ReturnsEarly(true, &reached).IsIOError());
  EXPECT_EQ(reached, 0);
  EXPECT_OK(ReturnsEarly(false, &reached));
  EXPECT_EQ(reached, 1);
  EXPECT_EQ(Prepends().ToString(), "Corruption: tablet t/1: bad page");
}

}  // namespace kdi
