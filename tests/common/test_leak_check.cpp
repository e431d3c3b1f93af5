// Tests of the leak fixture itself: what it must count and what it must not.

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/leak_check.hpp"
#include "common/scoped_env.hpp"
#include "common/temp_dir.hpp"
#include "forkpool/ipc/unique_fd.hpp"

namespace forkpool::testing {
namespace {

ipc::UniqueFd create(const std::filesystem::path& path) {
  return ipc::UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
}

// ThreadSanitizer opens "<log_path>.<pid>" at its first report, which may come in the middle of
// a test; the test then fails for the report, not for a leaked fd.
TEST(LeakCheck, SanitizerReportFileOpenedDuringATestIsNotALeak) {
  TempDir dir;
  ScopedEnv options("TSAN_OPTIONS", "halt_on_error=0 log_path=" + (dir / "report").native());
  const auto before = ResourceSnapshot::take();
  auto report = create(dir / ("report." + std::to_string(::getpid())));
  ASSERT_TRUE(report);
  EXPECT_EQ(leaked(before, ResourceSnapshot::take()), "");
}

TEST(LeakCheck, OtherFileOpenedDuringATestIsALeak) {
  TempDir dir;
  ScopedEnv options("TSAN_OPTIONS", "log_path=" + (dir / "report").native());
  const auto before = ResourceSnapshot::take();
  auto other = create(dir / "reports");
  ASSERT_TRUE(other);
  EXPECT_NE(leaked(before, ResourceSnapshot::take()).find((dir / "reports").native()), std::string::npos);
}

TEST(LeakCheck, LogPathIsReadInTheSanitizersSyntax) {
  ScopedEnv tsan("TSAN_OPTIONS", "second_deadlock_stack=1,log_path=\"/tmp/a b/tsan\":exitcode=66");
  ScopedEnv asan("ASAN_OPTIONS", "log_path='relative/asan' detect_leaks=0");
  ScopedEnv ubsan("UBSAN_OPTIONS", "log_path=stderr");
  ScopedEnv lsan("LSAN_OPTIONS", "report_objects=1");
  const auto paths = sanitizer_log_paths();
  const auto relative = (std::filesystem::current_path() / "relative/asan").native();
  EXPECT_EQ(paths, (std::vector<std::string>{"/tmp/a b/tsan", relative}));
}

}  // namespace
}  // namespace forkpool::testing
