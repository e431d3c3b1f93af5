#include "forkpool/ipc/unique_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "common/leak_check.hpp"

namespace forkpool::testing {
namespace {

using UniqueFdTest = LeakCheckedTest;

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

int open_null() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

TEST_F(UniqueFdTest, ClosesOnDestruction) {
  int raw = open_null();
  ASSERT_GE(raw, 0);
  {
    ipc::UniqueFd fd(raw);
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(fd.get(), raw);
  }
  EXPECT_FALSE(is_open(raw));
}

TEST_F(UniqueFdTest, MoveEmptiesTheSourceAndKeepsTheFdOpen) {
  ipc::UniqueFd a(open_null());
  int raw = a.get();
  ipc::UniqueFd b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(b.get(), raw);
  EXPECT_TRUE(is_open(raw));

  ipc::UniqueFd c(open_null());
  int replaced = c.get();
  c = std::move(b);
  EXPECT_FALSE(b.valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(c.get(), raw);
  EXPECT_FALSE(is_open(replaced)) << "move-assignment must close the fd it replaces";
}

TEST_F(UniqueFdTest, ResetClosesAndReleaseGivesUp) {
  ipc::UniqueFd fd(open_null());
  int first = fd.get();
  fd.reset(open_null());
  EXPECT_NE(fd.get(), first);
  EXPECT_FALSE(is_open(first));
  int second = fd.release();
  EXPECT_FALSE(fd.valid());
  EXPECT_TRUE(is_open(second));
  ::close(second);
  ipc::UniqueFd empty;
  EXPECT_FALSE(empty);
  empty.reset();  // resetting an empty owner is harmless
}

}  // namespace
}  // namespace forkpool::testing
