#include "forkpool/ipc/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <ctime>
#include <stdexcept>

#include "common/leak_check.hpp"
#include "forkpool/ipc/signal_catcher.hpp"
#include "forkpool/ipc/unique_fd.hpp"

namespace forkpool::ipc {
namespace {

using ChildProcessTest = testing::LeakCheckedTest;

struct Pipe {
  UniqueFd read, write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

TEST_F(ChildProcessTest, ReportsExitStatus) {
  auto child = ChildProcess::spawn([] { return 3; });
  ASSERT_TRUE(child) << child.error().message();
  EXPECT_GT(child->pid(), 0);
  auto info = child->wait();
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_TRUE(info->exited());
  EXPECT_EQ(info->exit_code(), 3);
  EXPECT_EQ(info->describe(), "exited with status 3");
  EXPECT_FALSE(child->valid());
}

TEST_F(ChildProcessTest, ThrowingBodyExitsWith70) {
  auto child = ChildProcess::spawn([]() -> int { throw std::runtime_error("boom"); });
  ASSERT_TRUE(child);
  auto info = child->wait();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->exit_code(), 70);
}

TEST_F(ChildProcessTest, SignalEndsChildAndNamesTheSignal) {
  auto child = ChildProcess::spawn([] {
    ::pause();
    return 0;
  });
  ASSERT_TRUE(child);
  ASSERT_TRUE(child->signal(SIGTERM));
  auto info = child->wait();
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->signaled());
  EXPECT_EQ(info->term_signal(), SIGTERM);
  EXPECT_EQ(info->describe(), "killed by SIGTERM");
}

TEST_F(ChildProcessTest, ReportsTheChildsCpuTime) {
  auto child = ChildProcess::spawn([] {
    timespec t{};
    do {
      ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    } while (t.tv_sec == 0 && t.tv_nsec < 30'000'000);
    return 0;
  });
  ASSERT_TRUE(child);
  auto info = child->wait();
  ASSERT_TRUE(info);
  double cpu_s = static_cast<double>(info->usage.ru_utime.tv_sec + info->usage.ru_stime.tv_sec) +
                 1e-6 * static_cast<double>(info->usage.ru_utime.tv_usec +
                                            info->usage.ru_stime.tv_usec);
  EXPECT_GE(cpu_s, 0.02);
}

TEST_F(ChildProcessTest, PidfdBecomesReadableWhenTheChildExits) {
  Pipe go = make_pipe();
  auto child = ChildProcess::spawn([&] {
    char c;
    return ::read(go.read.get(), &c, 1) == 1 ? 0 : 1;
  });
  ASSERT_TRUE(child);
  go.read.reset();
  EXPECT_FALSE(readable(child->pidfd(), 0));
  auto running = child->try_wait();
  ASSERT_TRUE(running);
  EXPECT_FALSE(running->has_value());

  ASSERT_EQ(::write(go.write.get(), "x", 1), 1);
  EXPECT_TRUE(readable(child->pidfd(), 10'000));
  auto done = child->try_wait();
  ASSERT_TRUE(done);
  ASSERT_TRUE(done->has_value());
  EXPECT_EQ((*done)->exit_code(), 0);
  EXPECT_FALSE(child->valid());
}

TEST_F(ChildProcessTest, DestructorKillsAndReaps) {
  pid_t pid = -1;
  {
    auto child = ChildProcess::spawn([] {
      for (;;) ::pause();
      return 0;
    });
    ASSERT_TRUE(child);
    pid = child->pid();
  }
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_EQ(testing::unreaped_children(), 0);
}

TEST_F(ChildProcessTest, MoveTransfersOwnership) {
  auto child = ChildProcess::spawn([] {
    ::pause();
    return 0;
  });
  ASSERT_TRUE(child);
  pid_t pid = child->pid();
  ChildProcess moved = std::move(*child);
  EXPECT_FALSE(child->valid());
  EXPECT_EQ(child->pidfd(), -1);
  EXPECT_EQ(moved.pid(), pid);
  ASSERT_TRUE(moved.signal(SIGKILL));
  auto info = moved.wait();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->term_signal(), SIGKILL);
}

// A grandchild must die when its parent does, even when that parent is killed outright.
// The helper process makes itself a subreaper so the orphaned grandchild comes to it and its
// fate can be read with waitpid.
TEST_F(ChildProcessTest, ChildDiesWithItsParent) {
  auto helper = ChildProcess::spawn([] {
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return 10;
    Pipe report = make_pipe();
    auto parent = ChildProcess::spawn([&] {
      // The grandchild reports from its body, so it has armed its death signal by then.
      auto grandchild = ChildProcess::spawn([&] {
        pid_t pid = ::getpid();
        if (::write(report.write.get(), &pid, sizeof pid) != sizeof pid) return 2;
        for (;;) ::pause();
      });
      if (!grandchild) return 1;
      for (;;) ::pause();
    });
    if (!parent) return 11;
    pid_t grandchild = -1;
    if (::read(report.read.get(), &grandchild, sizeof grandchild) != sizeof grandchild) return 12;
    if (!parent->signal(SIGKILL) || !parent->wait()) return 13;
    int status = 0;
    if (::waitpid(grandchild, &status, 0) != grandchild) return 14;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : 15;
  });
  ASSERT_TRUE(helper);
  auto info = helper->wait();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->exit_code(), 0) << info->describe();
}

// Every worker starts from the same signal state, whoever forks it: the parent's catcher
// undone (its mask and handlers as before it), SIGINT ignored, SIGTERM at its default action
// and not blocked, and SIGPIPE as the parent decided.
TEST_F(ChildProcessTest, ChildStartsWithTheWorkerSignalState) {
  struct sigaction pipe_before {};
  ::sigaction(SIGPIPE, nullptr, &pipe_before);
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t usr1, mask_before;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigaddset(&usr1, SIGTERM);  // blocked before the catcher: the worker unblocks SIGTERM anyway
  ::pthread_sigmask(SIG_BLOCK, &usr1, &mask_before);
  {
    auto catcher = SignalCatcher::create({SIGINT, SIGTERM});
    ASSERT_TRUE(catcher) << catcher.error().message();
    const int catcher_fd = catcher->fd();
    auto child = ChildProcess::spawn(
        [&] {
          struct sigaction a {};
          ::sigaction(SIGINT, nullptr, &a);
          if (a.sa_handler != SIG_IGN) return 1;
          ::sigaction(SIGTERM, nullptr, &a);
          if (a.sa_handler != SIG_DFL) return 2;
          ::sigaction(SIGPIPE, nullptr, &a);
          if (a.sa_handler != SIG_IGN) return 3;
          sigset_t mask;
          ::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
          if (sigismember(&mask, SIGTERM) || sigismember(&mask, SIGINT)) return 4;
          if (!sigismember(&mask, SIGUSR1)) return 5;  // the parent's own mask, before the catcher
          if (::fcntl(catcher_fd, F_GETFD) != -1) return 6;  // the catcher's signalfd is closed
          return 0;
        },
        &*catcher);
    ASSERT_TRUE(child) << child.error().message();
    auto info = child->wait();
    ASSERT_TRUE(info);
    EXPECT_EQ(info->exit_code(), 0) << info->describe();
  }
  ::pthread_sigmask(SIG_SETMASK, &mask_before, nullptr);
  ::sigaction(SIGPIPE, &pipe_before, nullptr);
}

TEST(SignalName, NamesCommonSignals) {
  EXPECT_EQ(signal_name(SIGKILL), "SIGKILL");
  EXPECT_EQ(signal_name(SIGSEGV), "SIGSEGV");
  EXPECT_EQ(signal_name(SIGABRT), "SIGABRT");
}

}  // namespace
}  // namespace forkpool::ipc
