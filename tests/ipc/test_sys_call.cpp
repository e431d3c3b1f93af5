#include "forkpool/ipc/sys_call.hpp"

#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "common/leak_check.hpp"

namespace forkpool::testing {
namespace {

using SysCallTest = LeakCheckedTest;

TEST_F(SysCallTest, RetriesEintrUntilTheCallSucceeds) {
  int calls = 0;
  auto r = ipc::sys_call("fake", "thing", [&] {
    if (++calls < 4) {
      errno = EINTR;
      return -1;
    }
    return 42;
  });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(calls, 4);
}

TEST_F(SysCallTest, OtherErrorsAreReturnedAtOnceWithCallSubjectAndErrno) {
  int calls = 0;
  auto r = ipc::sys_call("open", "/nonexistent/forkpool", [&] {
    ++calls;
    return ::open("/nonexistent/forkpool", O_RDONLY | O_CLOEXEC);
  });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_EQ(r.error().call, "open");
  EXPECT_EQ(r.error().subject, "/nonexistent/forkpool");
  EXPECT_EQ(r.error().message(),
            std::string("open(/nonexistent/forkpool): ") + std::strerror(ENOENT));
}

TEST_F(SysCallTest, PointerResultsFailOnMapFailed) {
  auto r = ipc::sys_call("mmap", "zero length", [] {
    return ::mmap(nullptr, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, EINVAL);
}

TEST_F(SysCallTest, MessageWithoutSubjectHasNoParentheses) {
  ipc::SysError e{"fork", "", EAGAIN};
  EXPECT_EQ(e.message(), std::string("fork: ") + std::strerror(EAGAIN));
  EXPECT_EQ(ipc::sys_failure("poll", "fd 3", ETIMEDOUT).error().code, ETIMEDOUT);
}

}  // namespace
}  // namespace forkpool::testing
