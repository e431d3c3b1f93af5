#include "forkpool/ipc/event_loop.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <stdexcept>

#include "common/leak_check.hpp"
#include "forkpool/ipc/signal_catcher.hpp"

namespace forkpool::ipc {
namespace {

using namespace std::chrono_literals;
using EventLoopTest = testing::LeakCheckedTest;

struct Pipe {
  UniqueFd read, write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

EventLoop make_loop() {
  auto loop = EventLoop::create();
  if (!loop) throw std::runtime_error(loop.error().message());
  return std::move(*loop);
}

TEST_F(EventLoopTest, CallsBackWhenAnFdBecomesReadable) {
  EventLoop loop = make_loop();
  Pipe p = make_pipe();
  std::string got;
  ASSERT_TRUE(loop.add(p.read.get(), [&](std::uint32_t events) {
    EXPECT_TRUE(events & EPOLLIN);
    char buf[16];
    ssize_t n = ::read(p.read.get(), buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<std::size_t>(n));
  }));

  auto idle = loop.run_once(Deadline::after(1ms));
  ASSERT_TRUE(idle);
  EXPECT_EQ(*idle, 0u);

  ASSERT_EQ(::write(p.write.get(), "hi", 2), 2);
  auto ran = loop.run_once(Deadline::after(5s));
  ASSERT_TRUE(ran);
  EXPECT_EQ(*ran, 1u);
  EXPECT_EQ(got, "hi");

  ASSERT_TRUE(loop.remove(p.read.get()));
  ASSERT_EQ(::write(p.write.get(), "x", 1), 1);
  auto after_remove = loop.run_once(Deadline::after(1ms));
  ASSERT_TRUE(after_remove);
  EXPECT_EQ(*after_remove, 0u);
  EXPECT_FALSE(loop.remove(p.read.get()));
}

TEST_F(EventLoopTest, RejectsAnFdRegisteredTwice) {
  EventLoop loop = make_loop();
  Pipe p = make_pipe();
  ASSERT_TRUE(loop.add(p.read.get(), [](std::uint32_t) {}));
  auto again = loop.add(p.read.get(), [](std::uint32_t) {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, EEXIST);
}

TEST_F(EventLoopTest, SourceRemovedByAnEarlierCallbackIsNotCalled) {
  EventLoop loop = make_loop();
  Pipe a = make_pipe(), b = make_pipe();
  int calls = 0;
  ASSERT_TRUE(loop.add(a.read.get(), [&](std::uint32_t) {
    ++calls;
    (void)loop.remove(b.read.get());
    (void)loop.remove(a.read.get());
  }));
  ASSERT_TRUE(loop.add(b.read.get(), [&](std::uint32_t) {
    ++calls;
    (void)loop.remove(a.read.get());
    (void)loop.remove(b.read.get());
  }));
  ASSERT_EQ(::write(a.write.get(), "a", 1), 1);
  ASSERT_EQ(::write(b.write.get(), "b", 1), 1);
  ASSERT_TRUE(loop.run());  // returns once nothing is registered
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(loop.size(), 0u);
}

TEST_F(EventLoopTest, OneShotTimerFiresOnceAndRemovesItself) {
  EventLoop loop = make_loop();
  int fired = 0;
  ASSERT_TRUE(loop.add_timer(1ms, [&] { ++fired; }));
  ASSERT_TRUE(loop.run());
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(loop.size(), 0u);
}

TEST_F(EventLoopTest, RepeatingTimerFiresUntilCancelled) {
  EventLoop loop = make_loop();
  int fired = 0;
  EventLoop::TimerId id;
  auto timer = loop.add_timer(0ms, [&] {
    if (++fired == 3) {
      ASSERT_TRUE(loop.cancel_timer(id));
    }
  }, 1ms);
  ASSERT_TRUE(timer);
  id = *timer;
  ASSERT_TRUE(loop.run());
  EXPECT_EQ(fired, 3);
}

TEST_F(EventLoopTest, StopEndsRun) {
  EventLoop loop = make_loop();
  Pipe p = make_pipe();
  ASSERT_EQ(::write(p.write.get(), "x", 1), 1);
  int calls = 0;
  ASSERT_TRUE(loop.add(p.read.get(), [&](std::uint32_t) {
    ++calls;
    loop.stop();  // level-triggered: it would be called forever otherwise
  }));
  ASSERT_TRUE(loop.run());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(loop.stopped());
}

TEST_F(EventLoopTest, DeliversSignalsThroughASignalfd) {
  EventLoop loop = make_loop();
  auto catcher = SignalCatcher::create({SIGUSR1, SIGUSR2});
  ASSERT_TRUE(catcher) << catcher.error().message();
  std::vector<int> caught;
  ASSERT_TRUE(loop.add(catcher->fd(), [&](std::uint32_t) {
    while (auto s = catcher->take()) {
      if (!*s) break;
      caught.push_back(**s);
    }
    loop.stop();
  }));
  ASSERT_EQ(::raise(SIGUSR2), 0);
  ASSERT_TRUE(loop.run());
  ASSERT_EQ(caught.size(), 1u);
  EXPECT_EQ(caught[0], SIGUSR2);
  ASSERT_TRUE(loop.remove(catcher->fd()));
}

}  // namespace
}  // namespace forkpool::ipc
