#include "fork_fault.hpp"

#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

namespace {

std::atomic<long> forks_left{-1};  // negative: never fail
std::atomic<int> fork_error{EAGAIN};

using ForkFn = pid_t (*)();

ForkFn libc_fork() {
  static ForkFn next = reinterpret_cast<ForkFn>(::dlsym(RTLD_NEXT, "fork"));
  return next;
}

__attribute__((constructor)) void arm_from_environment() {
  if (const char* after = std::getenv("FORKPOOL_TEST_FAIL_FORKS_AFTER"))
    forks_left = std::strtol(after, nullptr, 10);
}

}  // namespace

extern "C" {

void forkpool_test_fail_forks_after(long forks, int error) {
  fork_error = error;
  forks_left = forks;
}

pid_t fork() {
  long left = forks_left.load();
  while (left > 0 && !forks_left.compare_exchange_weak(left, left - 1)) {
  }
  if (left == 0) {
    errno = fork_error.load();
    return -1;
  }
  ForkFn next = libc_fork();
  if (!next) {
    errno = ENOSYS;
    return -1;
  }
  return next();
}

}  // extern "C"

namespace forkpool::testing {

bool fork_faults_work() {
  fail_forks_after(0);
  pid_t pid = ::fork();
  stop_failing_forks();
  if (pid == 0) ::_exit(0);
  if (pid < 0) return true;
  ::waitpid(pid, nullptr, 0);
  return false;
}

}  // namespace forkpool::testing
