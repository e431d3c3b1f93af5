// The conformance suite: every transport passes the same tests, unchanged.

#include <poll.h>
#include <sys/epoll.h>

#include <cerrno>
#include <csignal>
#include <chrono>
#include <string>
#include <thread>

#include "common/leak_check.hpp"
#include "forkpool/ipc/channel.hpp"
#include "forkpool/ipc/unique_fd.hpp"
#include "ipc/channel_test_support.hpp"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;
using ipc::Bytes;
using ipc::Deadline;

// A child stuck on a bug must not hang the suite: every blocking call has a generous deadline.
Deadline soon() { return Deadline::after(20s); }
Deadline expired() { return Deadline::at(Deadline::Clock::time_point::min()); }

class ChannelConformance : public LeakCheckedTest,
                           public ::testing::WithParamInterface<ipc::Transport> {
 protected:
  ipc::ChannelPair make_pair() {
    auto pair = ipc::make_channel_pair(GetParam());
    EXPECT_TRUE(pair.has_value()) << pair.error().message();
    return pair ? std::move(*pair) : ipc::ChannelPair{};
  }
};

TEST_P(ChannelConformance, ReportsItsTransport) {
  auto pair = make_pair();
  ASSERT_TRUE(pair.first && pair.second);
  EXPECT_EQ(pair.first->transport(), GetParam());
  EXPECT_EQ(pair.second->transport(), GetParam());
  EXPECT_GE(pair.first->wait_fd(), 0);
  EXPECT_GE(pair.second->wait_fd(), 0);
}

TEST_P(ChannelConformance, SmallMessagesBothWaysInOneProcess) {
  auto pair = make_pair();
  ASSERT_TRUE(pair.first);
  for (int round = 0; round < 50; ++round) {
    std::string a = "ping " + std::to_string(round), b = "pong " + std::to_string(round);
    ASSERT_TRUE(pair.first->send(as_bytes(a), soon()));
    ASSERT_TRUE(pair.second->send(as_bytes(b), soon()));
    Bytes got;
    auto r = pair.second->receive(got, soon());
    ASSERT_TRUE(r && *r);
    EXPECT_EQ(as_string(got), a);
    r = pair.first->receive(got, soon());
    ASSERT_TRUE(r && *r);
    EXPECT_EQ(as_string(got), b);
  }
}

TEST_P(ChannelConformance, OrderIsPreservedOverManyMessages) {
  auto pair = make_pair();
  ASSERT_TRUE(pair.first);
  constexpr int kCount = 3000;
  ForkedChild child([&] {
    pair.first.reset();
    for (int i = 0; i < kCount; ++i) {
      // Sizes vary so that messages straddle chunk and ring boundaries.
      Bytes msg = pattern(static_cast<std::size_t>(i % 700), static_cast<std::uint64_t>(i));
      if (!pair.second->send(msg, soon())) return 1;
    }
    return 0;
  });
  pair.second.reset();
  Bytes got;
  for (int i = 0; i < kCount; ++i) {
    auto r = pair.first->receive(got, soon());
    ASSERT_TRUE(r.has_value()) << r.error().message();
    ASSERT_TRUE(*r) << "end of stream after " << i << " messages";
    ASSERT_EQ(got, pattern(static_cast<std::size_t>(i % 700), static_cast<std::uint64_t>(i)))
        << "message " << i;
  }
  auto end = pair.first->receive(got, soon());
  ASSERT_TRUE(end.has_value()) << end.error().message();
  EXPECT_FALSE(*end);
  EXPECT_EQ(child.wait(), 0);
}

TEST_P(ChannelConformance, AllSizesArriveIntactBothWaysAcrossFork) {
  // Made before the fork: the child's wait for the next message must not include the time to
  // make 64 MiB of pattern, which under ThreadSanitizer on a loaded machine outlasted soon().
  const std::size_t sizes[] = {0, 1, 4096, std::size_t{1} << 20, std::size_t{64} << 20};
  std::vector<Bytes> messages;
  for (std::size_t size : sizes) messages.push_back(pattern(size, size + 7));
  auto pair = make_pair();
  ASSERT_TRUE(pair.first);
  // The child echoes every message until end of stream.
  ForkedChild child([&] {
    pair.first.reset();
    Bytes msg;
    for (;;) {
      auto r = pair.second->receive(msg, soon());
      if (!r) return 1;
      if (!*r) return 0;
      if (!pair.second->send(msg, soon())) return 2;
    }
  });
  pair.second.reset();
  Bytes got;
  for (const Bytes& sent : messages) {
    const std::size_t size = sent.size();
    auto s = pair.first->send(sent, soon());
    ASSERT_TRUE(s.has_value()) << size << " B: " << s.error().message();
    auto r = pair.first->receive(got, soon());
    ASSERT_TRUE(r.has_value()) << size << " B: " << r.error().message();
    ASSERT_TRUE(*r) << size << " B: end of stream";
    ASSERT_EQ(got.size(), size);
    EXPECT_TRUE(got == sent) << size << " B arrived altered";
  }
  pair.first.reset();  // end of stream for the child
  EXPECT_EQ(child.wait(), 0);
}

TEST_P(ChannelConformance, OneEndSendsAndReceivesFromTwoThreadsAtOnce) {
  auto pair = make_pair();
  ASSERT_TRUE(pair.first);
  ForkedChild child([&] {  // echoes until end of stream
    pair.first.reset();
    Bytes msg;
    for (;;) {
      auto r = pair.second->receive(msg, soon());
      if (!r) return 1;
      if (!*r) return 0;
      if (!pair.second->send(msg, soon())) return 2;
    }
  });
  pair.second.reset();
  // Far more than any transport buffers: sender and receiver must run at the same time.
  constexpr int kCount = 300;
  constexpr std::size_t kSize = 100'000;
  bool send_ok = true;
  std::thread sender([&] {
    for (int i = 0; i < kCount && send_ok; ++i)
      send_ok = pair.first->send(pattern(kSize, i), soon()).has_value();
  });
  Bytes got;
  for (int i = 0; i < kCount; ++i) {
    auto r = pair.first->receive(got, soon());
    if (!r || !*r || got != pattern(kSize, i)) {
      ADD_FAILURE() << "echo " << i << " missing or altered";
      break;
    }
  }
  sender.join();
  EXPECT_TRUE(send_ok);
  pair.first.reset();
  EXPECT_EQ(child.wait(), 0);
}

TEST_P(ChannelConformance, PeerThatExitsIsEndOfStreamNotAHang) {
  auto pair = make_pair();
  ASSERT_TRUE(pair.first);
  ForkedChild child([&] {
    pair.first.reset();
    for (int i = 0; i < 3; ++i)
      if (!pair.second->send(pattern(100, i), soon())) return 1;
    return 0;  // ForkedChild _exit()s: its end is never destroyed, the kernel closes what it held
  });
  pair.second.reset();
  EXPECT_EQ(child.wait(), 0);
  Bytes got;
  for (int i = 0; i < 3; ++i) {
    auto r = pair.first->receive(got, soon());
    ASSERT_TRUE(r && *r) << "message " << i << " sent before the exit was lost";
    EXPECT_EQ(got, pattern(100, i));
  }
  auto end = pair.first->receive(got, soon());
  if (end) {
    EXPECT_FALSE(*end);
  } else {
    EXPECT_NE(end.error().code, ETIMEDOUT) << "the peer's exit went unnoticed";
  }
  // Sending to the departed peer fails (at once, or once the transport is full), never hangs.
  Bytes chunk = pattern(64 << 10, 1);
  bool failed = false;
  for (int i = 0; i < 2048 && !failed; ++i) {
    auto s = pair.first->send(chunk, soon());
    if (!s) {
      failed = true;
      EXPECT_NE(s.error().code, ETIMEDOUT) << s.error().message();
    }
  }
  EXPECT_TRUE(failed) << "128 MiB went to a peer that has exited";
}

// A send to a peer that has gone fails; it never kills the sender, whatever the process set
// SIGPIPE to: the channel does not decide SIGPIPE for the process (forkpool's main does, and a
// program using the library may leave it at its default, which ends the process).
TEST_P(ChannelConformance, SendToAGonePeerFailsWithSigpipeAtItsDefault) {
  ForkedChild sender([&] {
    auto pair = ipc::make_channel_pair(GetParam());
    if (!pair) return 2;
    ::signal(SIGPIPE, SIG_DFL);  // after the channel is made: making one must not change it
    pair->second.reset();
    Bytes chunk = pattern(64 << 10, 1);
    int code = 4;  // 128 MiB went to a peer that is gone
    for (int i = 0; i < 2048 && code == 4; ++i)
      if (auto s = pair->first->send(chunk, soon()); !s) code = s.error().code == ETIMEDOUT ? 3 : 0;
    pair->first.reset();
    return code;
  });
  EXPECT_EQ(sender.wait(), 0) << "128 + " << SIGPIPE << " is SIGPIPE";
}

TEST_P(ChannelConformance, KilledPeerWakesABlockedReceive) {
  auto pair = make_pair();
  ASSERT_TRUE(pair.first);
  ForkedChild child([&] {
    pair.first.reset();
    ::usleep(50'000);  // let the parent block in receive()
    ::raise(SIGKILL);
    return 0;
  });
  pair.second.reset();
  Bytes got;
  auto end = pair.first->receive(got, soon());
  if (end) {
    EXPECT_FALSE(*end);
  } else {
    EXPECT_NE(end.error().code, ETIMEDOUT) << "the peer's death went unnoticed";
  }
  EXPECT_EQ(child.wait(), 128 + SIGKILL);
}

TEST_P(ChannelConformance, ReceiveDeadlineExpires) {
  auto pair = make_pair();
  ASSERT_TRUE(pair.first);
  Bytes got;
  auto r = pair.first->receive(got, Deadline::after(30ms));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ETIMEDOUT);
  r = pair.first->receive(got, expired());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ETIMEDOUT);
  // The channel still works after timeouts.
  ASSERT_TRUE(pair.second->send(as_bytes(std::string("after")), soon()));
  r = pair.first->receive(got, soon());
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(as_string(got), "after");
}

TEST_P(ChannelConformance, SendIntoFullChannelWithNoReaderTimesOut) {
  auto pair = make_pair();
  ASSERT_TRUE(pair.first);
  Bytes chunk = pattern(64 << 10, 3);
  bool timed_out = false;
  for (int i = 0; i < 1024 && !timed_out; ++i) {
    auto s = pair.first->send(chunk, Deadline::after(30ms));
    if (!s) {
      EXPECT_EQ(s.error().code, ETIMEDOUT) << s.error().message();
      timed_out = true;
    }
  }
  EXPECT_TRUE(timed_out) << "64 MiB fit into a channel nobody reads";
}

// Waits on `fd` through an epoll instance, as the event loop does: 1 when readable.
int epoll_readable(int fd, std::chrono::milliseconds limit) {
  ipc::UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  epoll_event ev{};
  ev.events = EPOLLIN;
  if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return -1;
  epoll_event out{};
  return ::epoll_wait(ep.get(), &out, 1, static_cast<int>(limit.count()));
}

// The event loop's way to receive: wait for wait_fd(), then try with an expired deadline;
// a wake-up that brings only part of a message (allowed) means waiting again. Fails the test
// when wait_fd() stays quiet for 20 s.
ipc::Result<bool> receive_when_woken(ipc::Channel& ch, Bytes& out) {
  for (;;) {
    if (epoll_readable(ch.wait_fd(), 20s) != 1) {
      ADD_FAILURE() << "wait_fd() did not become readable";
      return ipc::sys_failure("epoll_wait", "wait_fd", ETIMEDOUT);
    }
    auto r = ch.receive(out, expired());
    if (r || r.error().code != ETIMEDOUT) return r;
  }
}

TEST_P(ChannelConformance, WaitFdWakesForNextMessageAndForEndOfStream) {
  auto pair = make_pair();
  ASSERT_TRUE(pair.first);
  // The child sends once the parent is waiting, then stays alive until told to go, so that
  // the first wake-up can only come from the message.
  ForkedChild child([&] {
    pair.first.reset();
    Bytes msg;
    auto go = pair.second->receive(msg, soon());
    if (!go || !*go) return 1;
    ::usleep(20'000);
    if (!pair.second->send(as_bytes(std::string("wake")), soon())) return 2;
    auto bye = pair.second->receive(msg, soon());
    if (!bye || !*bye) return 3;
    ::usleep(20'000);
    return 0;
  });
  pair.second.reset();
  Bytes got;
  auto r = pair.first->receive(got, expired());
  ASSERT_FALSE(r.has_value());
  ASSERT_EQ(r.error().code, ETIMEDOUT);
  ASSERT_TRUE(pair.first->send(as_bytes(std::string("go")), soon()));
  r = receive_when_woken(*pair.first, got);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_TRUE(*r);
  EXPECT_EQ(as_string(got), "wake");
  r = pair.first->receive(got, expired());
  ASSERT_FALSE(r.has_value());
  ASSERT_EQ(r.error().code, ETIMEDOUT);

  ASSERT_TRUE(pair.first->send(as_bytes(std::string("bye")), soon()));
  auto end = receive_when_woken(*pair.first, got);
  if (end) {
    EXPECT_FALSE(*end);
  } else {
    EXPECT_NE(end.error().code, ETIMEDOUT) << "woken, but the end of stream was not seen";
  }
  EXPECT_EQ(child.wait(), 0);
}

INSTANTIATE_TEST_SUITE_P(AllTransports, ChannelConformance, ::testing::ValuesIn(ipc::kAllTransports),
                         [](const auto& info) { return std::string(ipc::to_string(info.param)); });

}  // namespace
}  // namespace forkpool::testing
