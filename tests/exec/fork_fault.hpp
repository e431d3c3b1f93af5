#pragma once
// fork() that fails on demand, for tests of what the process pool does when it cannot start a
// worker (the process limit, RLIMIT_NPROC, does not hold for root, so it cannot be relied on).
//
// The library forkpool_fork_fault defines fork() itself, in front of libc's: linked into a test
// binary it serves that binary; put in front of the forkpool CLI with LD_PRELOAD it serves the
// CLI, armed there by FORKPOOL_TEST_FAIL_FORKS_AFTER=N (N forks succeed, then every fork fails
// with EAGAIN). Disarmed, it is libc's fork(). Any thread; the count is per process.

#include <cerrno>

extern "C" {
// After `forks` more successful forks, every fork() fails with `error`; a negative count
// disarms it.
void forkpool_test_fail_forks_after(long forks, int error);
}

namespace forkpool::testing {

inline void fail_forks_after(long forks, int error = EAGAIN) {
  forkpool_test_fail_forks_after(forks, error);
}
inline void stop_failing_forks() { forkpool_test_fail_forks_after(-1, 0); }

// Whether an armed fork() really fails in this build. A sanitizer runtime that intercepts
// fork() comes before this library, and tests must then skip rather than fork for real.
bool fork_faults_work();

}  // namespace forkpool::testing
