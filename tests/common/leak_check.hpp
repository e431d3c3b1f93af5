#pragma once
// A fixture that fails a test which leaks an fd, a child process, or an entry in /dev/shm or
// /dev/mqueue. Derive test fixtures from it (or use TEST_F(LeakCheckedTest, ...)).

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace forkpool::testing {

// Where the sanitizers write their reports when the environment (TSAN_OPTIONS, ASAN_OPTIONS,
// UBSAN_OPTIONS, LSAN_OPTIONS) names a log_path: files "<log_path>.<pid>", opened at a process's
// first report. Absolute paths; empty when reports go to stderr.
std::vector<std::string> sanitizer_log_paths();

// Snapshot of what a process holds that a test must give back.
struct ResourceSnapshot {
  // "/proc/self/fd" entries with their targets, less a sanitizer's report file: ThreadSanitizer
  // opens it in the middle of a test, at its first report, and that is not the test's leak.
  std::set<std::string> fds;
  std::set<std::string> shm;        // names in /dev/shm
  std::set<std::string> mqueue;     // names in /dev/mqueue (only where it is mounted)

  static ResourceSnapshot take();
};

// Number of children of this process not yet reaped (running or zombie).
int unreaped_children();

// Lists what `after` holds that `before` did not, one item per line; empty when nothing leaked.
std::string leaked(const ResourceSnapshot& before, const ResourceSnapshot& after);

class LeakCheckedTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

 private:
  ResourceSnapshot before_;
};

}  // namespace forkpool::testing
