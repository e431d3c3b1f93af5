#include "forkpool/ipc/sys_call.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/leak_check.hpp"
#include "forkpool/ipc/unique_fd.hpp"

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

TEST_F(SysCallTest, ExpectedErrnoIsAnEmptyAnswerNotAnError) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  ipc::UniqueFd read_end(fds[0]), write_end(fds[1]);
  char c;
  // Nothing to read: EAGAIN is the expected answer.
  auto empty = ipc::sys_call_expecting({EAGAIN}, "read", "pipe", [&] { return ::read(fds[0], &c, 1); });
  ASSERT_TRUE(empty.has_value()) << empty.error().message();
  EXPECT_FALSE(empty->has_value());
  // A value is passed through.
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  auto one = ipc::sys_call_expecting({EAGAIN}, "read", "pipe", [&] { return ::read(fds[0], &c, 1); });
  ASSERT_TRUE(one.has_value() && one->has_value());
  EXPECT_EQ(**one, 1);
  // An errno that is not expected is still an error.
  auto bad = ipc::sys_call_expecting({EAGAIN}, "read", "closed fd", [&] { return ::read(-1, &c, 1); });
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, EBADF);
  EXPECT_EQ(bad.error().subject, "closed fd");
}

TEST_F(SysCallTest, ExpectedFormRetriesEintrAndAcceptsSeveralErrnos) {
  int calls = 0;
  auto r = ipc::sys_call_expecting({EAGAIN, ENOENT}, "fake", "thing", [&] {
    errno = ++calls < 3 ? EINTR : ENOENT;
    return -1;
  });
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(calls, 3);
}

TEST_F(SysCallTest, SubjectMayBeMadeOnlyWhenTheCallFails) {
  int made = 0;
  auto subject = [&] {
    ++made;
    return std::string("fd 42");
  };
  auto ok = ipc::sys_call("getpid", subject, [] { return 7; });
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(made, 0);
  auto failed = ipc::sys_call("close", subject, [] {
    errno = EBADF;
    return -1;
  });
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(made, 1);
  EXPECT_EQ(failed.error().subject, "fd 42");
}

TEST_F(SysCallTest, TooManyOpenFilesNamesTheLimitAndWhatToDo) {
  auto e = ipc::sys_failure("pipe2", "", EMFILE).error();
  EXPECT_NE(e.message().find("RLIMIT_NOFILE"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("ulimit -n"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("pipe2: Too many open files"), std::string::npos) << e.message();
  // Errors the layer has nothing to add to keep the plain form.
  EXPECT_EQ(ipc::sys_failure("poll", "fd 3", ETIMEDOUT).error().hint, "");
}

TEST_F(SysCallTest, MessageWithoutSubjectHasNoParentheses) {
  ipc::SysError e{"fork", "", EAGAIN};
  EXPECT_EQ(e.message(), std::string("fork: ") + std::strerror(EAGAIN));
  EXPECT_EQ(ipc::sys_failure("poll", "fd 3", ETIMEDOUT).error().code, ETIMEDOUT);
}

}  // namespace
}  // namespace forkpool::testing
