#include "forkpool/ipc/signal_catcher.hpp"

#include <poll.h>
#include <pthread.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "common/leak_check.hpp"

namespace forkpool::ipc {
namespace {

using SignalCatcherTest = testing::LeakCheckedTest;

std::atomic<int> g_handled{0};
void count_signal(int) { g_handled.fetch_add(1); }

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

TEST_F(SignalCatcherTest, QueuesASignalInsteadOfRunningItsAction) {
  auto catcher = SignalCatcher::create({SIGUSR1});
  ASSERT_TRUE(catcher) << catcher.error().message();
  auto none = catcher->take();
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  // SIGUSR1's default action would end the test binary.
  ASSERT_EQ(::raise(SIGUSR1), 0);
  ASSERT_TRUE(readable(catcher->fd(), 5000));
  auto got = catcher->take();
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, SIGUSR1);
}

TEST_F(SignalCatcherTest, OnlyOneAtATime) {
  auto first = SignalCatcher::create({SIGUSR1});
  ASSERT_TRUE(first);
  auto second = SignalCatcher::create({SIGUSR2});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, EBUSY);
}

TEST_F(SignalCatcherTest, RestoresHandlerAndMaskAndDropsWhatIsQueued) {
  struct sigaction mine {}, old {};
  mine.sa_handler = count_signal;
  ASSERT_EQ(::sigaction(SIGUSR1, &mine, &old), 0);
  sigset_t mask_before;
  ::pthread_sigmask(SIG_SETMASK, nullptr, &mask_before);
  g_handled = 0;
  {
    auto catcher = SignalCatcher::create({SIGUSR1});
    ASSERT_TRUE(catcher);
    ASSERT_EQ(::raise(SIGUSR1), 0);  // queued, never taken
  }
  EXPECT_EQ(g_handled.load(), 0);
  sigset_t mask_after;
  ::pthread_sigmask(SIG_SETMASK, nullptr, &mask_after);
  EXPECT_EQ(sigismember(&mask_after, SIGUSR1), sigismember(&mask_before, SIGUSR1));
  ASSERT_EQ(::raise(SIGUSR1), 0);
  EXPECT_EQ(g_handled.load(), 1);
  ASSERT_EQ(::sigaction(SIGUSR1, &old, nullptr), 0);
}

// A signal that lands on a thread which does not block it (a pool thread made before the
// catcher) still reaches the catcher's fd.
TEST_F(SignalCatcherTest, ForwardsASignalDeliveredToAnotherThread) {
  std::atomic<bool> go{false};
  std::thread other([&] {
    while (!go.load()) std::this_thread::yield();
    ::pthread_kill(::pthread_self(), SIGUSR1);
  });
  {
    auto catcher = SignalCatcher::create({SIGUSR1});
    ASSERT_TRUE(catcher);
    go = true;
    other.join();
    ASSERT_TRUE(readable(catcher->fd(), 5000));
    auto got = catcher->take();
    ASSERT_TRUE(got);
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ(**got, SIGUSR1);
  }
}

}  // namespace
}  // namespace forkpool::ipc
