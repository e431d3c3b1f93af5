// The shm transport's own tests: wrap-around of small rings, both waiting modes, options.

#include <poll.h>

#include <cerrno>
#include <chrono>
#include <vector>

#include "common/leak_check.hpp"
#include "forkpool/ipc/channel.hpp"
#include "forkpool/ipc/fault_injection.hpp"
#include "ipc/channel_test_support.hpp"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;
using ipc::Bytes;
using ipc::Deadline;

using ShmChannelTest = LeakCheckedTest;

constexpr std::size_t kRing = 4096;

ipc::ChannelPair shm_pair(ipc::ChannelOptions options) {
  auto pair = ipc::make_channel_pair(ipc::Transport::shm, options);
  EXPECT_TRUE(pair.has_value()) << pair.error().message();
  return pair ? std::move(*pair) : ipc::ChannelPair{};
}

// Sizes that land the 8-byte length and the payload across the ring's end in every way.
std::vector<std::size_t> awkward_sizes() {
  std::vector<std::size_t> out;
  for (int round = 0; round < 40; ++round)
    for (std::size_t s : {kRing - 1, kRing, kRing + 1, std::size_t{1}, std::size_t{0},
                          kRing - 8, kRing - 9, kRing - 7, std::size_t{7}, 3 * kRing + 5,
                          kRing / 2 + 3})
      out.push_back(s);
  return out;
}

// The child echoes everything back; the parent sends `sizes` and checks each echo.
void echo_through(ipc::ChannelPair pair, const std::vector<std::size_t>& sizes) {
  ForkedChild child([&] {
    pair.first.reset();
    Bytes msg;
    for (;;) {
      auto r = pair.second->receive(msg, Deadline::after(20s));
      if (!r) return 1;
      if (!*r) return 0;
      if (!pair.second->send(msg, Deadline::after(20s))) return 2;
    }
  });
  pair.second.reset();
  Bytes got;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    Bytes sent = pattern(sizes[i], i);
    ASSERT_TRUE(pair.first->send(sent, Deadline::after(20s))) << "message " << i;
    auto r = pair.first->receive(got, Deadline::after(20s));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    ASSERT_TRUE(*r);
    ASSERT_TRUE(got == sent) << "message " << i << " of " << sizes[i] << " B arrived altered";
  }
  pair.first.reset();
  EXPECT_EQ(child.wait(), 0);
}

// Whether `channel`'s wait_fd() says a message (or end of stream) is there, without waiting.
bool signalled(const ipc::Channel& channel) {
  pollfd p{channel.wait_fd(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

// send_while_busy() leaves a sleeping peer asleep while two or more messages wait for this end,
// and wakes it before this end could wait itself, or with the next plain send(): a worker with
// jobs queued wakes its coordinator once for several results, and never leaves it asleep.
TEST_F(ShmChannelTest, ABusySendWakesThePeerOnlyBeforeThisEndWaits) {
  auto pair = shm_pair({});
  ipc::Channel& worker = *pair.first;
  ipc::Channel& coordinator = *pair.second;
  Bytes got;
  auto coordinator_sleeps = [&] {
    auto r = coordinator.receive(got, Deadline::after(0s));
    ASSERT_FALSE(r.has_value());
    ASSERT_EQ(r.error().code, ETIMEDOUT);
    ASSERT_FALSE(signalled(coordinator));
  };
  const Bytes job = pattern(16, 1), result = pattern(24, 2);

  // Two jobs queued for the worker: its result leaves the coordinator asleep.
  ASSERT_TRUE(coordinator.send(job));
  ASSERT_TRUE(coordinator.send(job));
  coordinator_sleeps();
  ASSERT_TRUE(worker.send_while_busy(result));
  EXPECT_FALSE(signalled(coordinator)) << "woken though the worker had two jobs queued";
  // The worker reads both jobs without waiting: still asleep.
  ASSERT_TRUE(worker.receive(got, Deadline::after(0s)).value_or(false));
  ASSERT_TRUE(worker.receive(got, Deadline::after(0s)).value_or(false));
  EXPECT_FALSE(signalled(coordinator));
  // Nothing left: before the worker waits, the coordinator is woken, and the result is there.
  auto none = worker.receive(got, Deadline::after(0s));
  ASSERT_FALSE(none.has_value());
  EXPECT_TRUE(signalled(coordinator)) << "the owed wake-up was not paid before the worker waited";
  ASSERT_TRUE(coordinator.receive(got, Deadline::after(1s)).value_or(false));
  EXPECT_TRUE(got == result);

  // One job queued: the worker would wait right after it, so the coordinator is woken at once.
  ASSERT_TRUE(coordinator.send(job));
  coordinator_sleeps();
  ASSERT_TRUE(worker.send_while_busy(result));
  EXPECT_TRUE(signalled(coordinator));
  ASSERT_TRUE(coordinator.receive(got, Deadline::after(1s)).value_or(false));
  ASSERT_TRUE(worker.receive(got, Deadline::after(0s)).value_or(false));

  // A plain send after a busy one pays the wake-up the busy one owed.
  ASSERT_TRUE(coordinator.send(job));
  ASSERT_TRUE(coordinator.send(job));
  coordinator_sleeps();
  ASSERT_TRUE(worker.send_while_busy(result));
  EXPECT_FALSE(signalled(coordinator));
  ASSERT_TRUE(worker.send(result));
  EXPECT_TRUE(signalled(coordinator));
  ASSERT_TRUE(coordinator.receive(got, Deadline::after(1s)).value_or(false));
  ASSERT_TRUE(coordinator.receive(got, Deadline::after(1s)).value_or(false));
}

TEST_F(ShmChannelTest, SmallRingWrapsAroundWithAwkwardSizes) {
  echo_through(shm_pair({.shm_ring_bytes = kRing}), awkward_sizes());
}

TEST_F(ShmChannelTest, PureBlockingModeCarriesEveryMessage) {
  // spin 0: every wait sleeps on the eventfd at once, so every hand-over is a wake-up.
  echo_through(shm_pair({.shm_ring_bytes = kRing, .shm_spin = 0ns}), awkward_sizes());
}

TEST_F(ShmChannelTest, ManyMessagesInFlightAcrossTheRingEnd) {
  // The producer runs ahead of the consumer, so the ring fills and drains while messages of
  // odd sizes straddle its end.
  auto pair = shm_pair({.shm_ring_bytes = kRing, .shm_spin = 0ns});
  ASSERT_TRUE(pair.first);
  constexpr int kCount = 5000;
  ForkedChild child([&] {
    pair.first.reset();
    for (int i = 0; i < kCount; ++i)
      if (!pair.second->send(pattern(static_cast<std::size_t>(i * 37 % 1001), i), Deadline::after(20s)))
        return 1;
    return 0;
  });
  pair.second.reset();
  Bytes got;
  for (int i = 0; i < kCount; ++i) {
    auto r = pair.first->receive(got, Deadline::after(20s));
    ASSERT_TRUE(r && *r) << "message " << i;
    ASSERT_TRUE(got == pattern(static_cast<std::size_t>(i * 37 % 1001), i)) << "message " << i;
  }
  EXPECT_EQ(child.wait(), 0);
}

TEST_F(ShmChannelTest, RingSizeIsRoundedUpNotRefused) {
  // 1000 is not a power of two: the ring gets 1024 bytes and still carries larger messages.
  auto pair = shm_pair({.shm_ring_bytes = 1000});
  ASSERT_TRUE(pair.first);
  Bytes sent = pattern(900, 5), got;
  ASSERT_TRUE(pair.first->send(sent, Deadline::after(20s)));
  auto r = pair.second->receive(got, Deadline::after(20s));
  ASSERT_TRUE(r && *r);
  EXPECT_TRUE(got == sent);
  auto tiny = shm_pair({.shm_ring_bytes = 0});  // raised to the minimum
  ASSERT_TRUE(tiny.first);
  ASSERT_TRUE(tiny.first->send(std::span(sent.data(), 40), Deadline::after(20s)));
  r = tiny.second->receive(got, Deadline::after(20s));
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(got.size(), 40u);
}

TEST_F(ShmChannelTest, AbsurdRingSizeIsAnError) {
  auto pair = ipc::make_channel_pair(ipc::Transport::shm, {.shm_ring_bytes = std::size_t{1} << 40});
  ASSERT_FALSE(pair.has_value());
  EXPECT_EQ(pair.error().code, EINVAL);
}

TEST_F(ShmChannelTest, NoSpaceInDevShmIsAClearErrorBeforeAnyWork) {
  ipc::InjectedFault full("posix_fallocate", ENOSPC);
  auto pair = ipc::make_channel_pair(ipc::Transport::shm);
  ASSERT_FALSE(pair.has_value());
  EXPECT_EQ(full.hits(), 1u);
  EXPECT_EQ(pair.error().code, ENOSPC);
  const std::string m = pair.error().message();
  EXPECT_EQ(m.rfind("no space in /dev/shm for the channel (2.1 MiB): try --transport pipe", 0), 0u) << m;
}

TEST_F(ShmChannelTest, SendTimedOutMidMessageBreaksOnlyTheSendingSide) {
  auto pair = shm_pair({.shm_ring_bytes = kRing});
  ASSERT_TRUE(pair.first);
  auto s = pair.first->send(pattern(3 * kRing, 1), Deadline::after(20ms));
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ETIMEDOUT);
  s = pair.first->send(pattern(1, 1), Deadline::after(20ms));
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, EPIPE);
  // The other direction is unaffected.
  Bytes sent = pattern(100, 2), got;
  ASSERT_TRUE(pair.second->send(sent, Deadline::after(20s)));
  auto r = pair.first->receive(got, Deadline::after(20s));
  ASSERT_TRUE(r && *r);
  EXPECT_TRUE(got == sent);
}

TEST_F(ShmChannelTest, SendThatFitsBeforeTheDeadlineKeepsTheChannelUsable) {
  // A send that times out before writing anything (the ring is full) must not break the
  // channel: once the reader drains, sending works again. 300 B is past what a message slot
  // holds, so it needs the (full) byte ring.
  auto pair = shm_pair({.shm_ring_bytes = kRing});
  ASSERT_TRUE(pair.first);
  Bytes fill = pattern(kRing - 8, 3), got;
  ASSERT_TRUE(pair.first->send(fill, Deadline::after(20s)));
  auto s = pair.first->send(pattern(300, 4), Deadline::after(10ms));
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ETIMEDOUT);
  // A small message does not need the byte ring, and overtakes nothing.
  ASSERT_TRUE(pair.first->send(pattern(10, 5), Deadline::after(20s)));
  auto r = pair.second->receive(got, Deadline::after(20s));
  ASSERT_TRUE(r && *r);
  EXPECT_TRUE(got == fill);
  r = pair.second->receive(got, Deadline::after(20s));
  ASSERT_TRUE(r && *r);
  EXPECT_TRUE(got == pattern(10, 5));
  ASSERT_TRUE(pair.first->send(pattern(300, 4), Deadline::after(20s)));
  r = pair.second->receive(got, Deadline::after(20s));
  ASSERT_TRUE(r && *r);
  EXPECT_TRUE(got == pattern(300, 4));
}

TEST_F(ShmChannelTest, SmallMessagesFillTheRingThenFlowAgainInOrder) {
  // Small messages travel in a bounded number of message slots: with no reader, sends stop
  // with a timeout (not an overwrite), the channel stays usable, and every message accepted
  // before it arrives once, in order, with its own bytes, mixed with larger ones.
  auto pair = shm_pair({.shm_ring_bytes = 1 << 20});
  ASSERT_TRUE(pair.first);
  auto size_of = [](std::size_t i) { return i % 5 == 4 ? std::size_t{200} : i % 65; };
  std::size_t sent = 0;
  for (; sent < 100000; ++sent) {
    auto s = pair.first->send(pattern(size_of(sent), sent), Deadline::after(10ms));
    if (!s) {
      EXPECT_EQ(s.error().code, ETIMEDOUT);
      break;
    }
  }
  ASSERT_LT(sent, 100000u) << "the ring never filled";
  Bytes got;
  for (int lap = 0; lap < 3; ++lap) {
    for (std::size_t i = 0; i < sent; ++i) {
      auto r = pair.second->receive(got, Deadline::after(20s));
      ASSERT_TRUE(r && *r) << "message " << i;
      ASSERT_TRUE(got == pattern(size_of(i), i + lap * sent)) << "message " << i << " lap " << lap;
    }
    auto r = pair.second->receive(got, Deadline::after(10ms));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ETIMEDOUT);
    for (std::size_t i = 0; i < sent; ++i) {
      Bytes next = pattern(size_of(i), i + (lap + 1) * sent);
      ASSERT_TRUE(pair.first->send(next, Deadline::after(20s)));
    }
  }
}

}  // namespace
}  // namespace forkpool::testing
