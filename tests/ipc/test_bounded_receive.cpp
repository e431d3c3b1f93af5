// Bounded receives on every transport: a message over the channel's maximum is refused by the
// sender, and a hostile or broken peer's frame header (a length over the maximum, a chunk past
// its length) is a malformed-message error that allocates nothing for what it claims.

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>

#include "common/leak_check.hpp"
#include "forkpool/ipc/channel.hpp"
#include "forkpool/ipc/message_queue.hpp"
#include "ipc/channel_test_support.hpp"
#include "length_prefix.hpp"
#include "mq_channel.hpp"
#include "stream_channel.hpp"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;
using ipc::Bytes;
using ipc::Deadline;

constexpr std::size_t kMax = std::size_t{1} << 20;

Bytes header(std::uint64_t length) {
  Bytes h(ipc::detail::kLengthPrefixSize);
  ipc::detail::encode_length(length, h.data());
  return h;
}

// Resident memory of this process, in bytes.
std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// The receiving end of a channel whose other end is this test's raw descriptor or queue, so
// the test can write what no well-behaved sender writes.
class HostilePeer {
 public:
  virtual ~HostilePeer() = default;
  virtual ipc::Channel& victim() = 0;
  // Writes `bytes` as the peer would (one chunk, for mq).
  virtual void write(const Bytes& bytes) = 0;
  // The peer goes away.
  virtual void leave() = 0;
};

class StreamPeer final : public HostilePeer {
 public:
  StreamPeer(ipc::Transport t, std::size_t max) {
    int fds[2];
    if (t == ipc::Transport::pipe) {
      EXPECT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
      raw_.reset(fds[1]);
      victim_.emplace(ipc::UniqueFd(fds[0]), ipc::UniqueFd{}, t, max);
    } else {
      EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
      raw_.reset(fds[1]);
      victim_.emplace(ipc::UniqueFd(fds[0]), ipc::UniqueFd{}, t, max);
    }
  }
  ipc::Channel& victim() override { return *victim_; }
  void write(const Bytes& bytes) override {
    ASSERT_EQ(::write(raw_.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  void leave() override { raw_.reset(); }

 private:
  ipc::UniqueFd raw_;
  std::optional<ipc::detail::StreamChannel> victim_;
};

class MqPeer final : public HostilePeer {
 public:
  explicit MqPeer(std::size_t max) {
    auto to_victim = ipc::create_unlinked_queue();
    auto from_victim = ipc::create_unlinked_queue();
    auto links = ipc::detail::PeerLink::make_pair();
    // Out of queues (RLIMIT_MSGQUEUE, shared with every other test of this user): fail this
    // test with why, rather than go on with a queue that is not there.
    if (!to_victim) throw std::runtime_error("a queue: " + to_victim.error().message());
    if (!from_victim) throw std::runtime_error("a queue: " + from_victim.error().message());
    if (!links) throw std::runtime_error("a peer link: " + links.error().message());
    raw_ = std::move(to_victim->sender);
    size_ = static_cast<std::size_t>(to_victim->limits.message_size);
    auto ch = ipc::detail::MqChannel::create(std::move(from_victim->sender),
                                             from_victim->limits.message_size,
                                             std::move(to_victim->receiver), to_victim->limits.message_size,
                                             std::move(links->first), max);
    if (!ch) throw std::runtime_error("the channel: " + ch.error().message());
    victim_ = std::move(*ch);
    peer_link_ = std::move(links->second);
  }
  ipc::Channel& victim() override { return *victim_; }
  void write(const Bytes& bytes) override {
    ASSERT_LE(bytes.size(), size_);
    ASSERT_EQ(::mq_send(raw_.get(), reinterpret_cast<const char*>(bytes.data()), bytes.size(), 0), 0);
  }
  void leave() override {
    raw_.reset();
    peer_link_ = ipc::detail::PeerLink();
  }

 private:
  ipc::MessageQueue raw_;
  std::size_t size_ = 0;
  std::unique_ptr<ipc::detail::MqChannel> victim_;
  ipc::detail::PeerLink peer_link_;
};

class BoundedReceive : public LeakCheckedTest, public ::testing::WithParamInterface<ipc::Transport> {
 protected:
  std::unique_ptr<HostilePeer> hostile(std::size_t max) {
    if (GetParam() == ipc::Transport::mq) return std::make_unique<MqPeer>(max);
    return std::make_unique<StreamPeer>(GetParam(), max);
  }
};

TEST_P(BoundedReceive, LengthOverTheMaximumIsAMalformedMessageThatNamesBoth) {
  auto peer = hostile(kMax);
  peer->write(header(kMax + 1));
  Bytes got;
  auto r = peer->victim().receive(got, Deadline::after(20s));
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(ipc::is_malformed_message(r.error())) << r.error().message();
  EXPECT_NE(r.error().message().find(std::to_string(kMax + 1)), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find(std::to_string(kMax)), std::string::npos) << r.error().message();
  // The stream cannot be trusted after that: the receiving side stays failed.
  peer->write(header(0));
  r = peer->victim().receive(got, Deadline::after(20s));
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(ipc::is_malformed_message(r.error())) << r.error().message();
}

TEST_P(BoundedReceive, AbsurdLengthIsAnErrorNotAnException) {
  // The default maximum; a length no allocator can serve (std::vector threw length_error).
  auto peer = hostile(ipc::kDefaultMaxMessageBytes);
  peer->write(header(~std::uint64_t{0} - 7));
  Bytes got;
  auto r = peer->victim().receive(got, Deadline::after(20s));
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(ipc::is_malformed_message(r.error())) << r.error().message();
}

TEST_P(BoundedReceive, AClaimThatNeverComesCostsNoMemory) {
  // 1 GiB announced (within the default maximum), 100 bytes sent, then the peer goes: the
  // receiver grows its buffer with the bytes, not with the claim.
  auto peer = hostile(ipc::kDefaultMaxMessageBytes);
  Bytes first = header(std::uint64_t{1} << 30);
  Bytes some = pattern(100, 1);
  first.insert(first.end(), some.begin(), some.end());
  const std::size_t before = resident_bytes();
  peer->write(first);
  peer->leave();
  Bytes got;
  auto r = peer->victim().receive(got, Deadline::after(20s));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ECONNRESET) << r.error().message();
  EXPECT_LT(resident_bytes(), before + (std::size_t{64} << 20)) << "the claimed gibibyte was allocated";
}

INSTANTIATE_TEST_SUITE_P(Transports, BoundedReceive,
                         ::testing::Values(ipc::Transport::pipe, ipc::Transport::unix_socket,
                                           ipc::Transport::mq),
                         [](const auto& info) { return std::string(ipc::to_string(info.param)); });

using MqChunks = LeakCheckedTest;

TEST_F(MqChunks, MalformedChunkHeadersAreMalformedMessages) {
  // A first chunk too short for a length; a first chunk longer than its length; a later
  // chunk past the length.
  Bytes past = header(10);
  Bytes eleven = pattern(11, 2);
  past.insert(past.end(), eleven.begin(), eleven.end());
  Bytes announced = header(100);
  Bytes ten = pattern(10, 3);
  announced.insert(announced.end(), ten.begin(), ten.end());
  for (int c = 0; c < 3; ++c) {
    MqPeer peer(kMax);
    if (c == 0) peer.write(pattern(3, 1));
    if (c == 1) peer.write(past);
    if (c == 2) {
      peer.write(announced);
      peer.write(pattern(91, 4));
    }
    Bytes got;
    auto r = peer.victim().receive(got, Deadline::after(20s));
    ASSERT_FALSE(r.has_value()) << "case " << c;
    EXPECT_TRUE(ipc::is_malformed_message(r.error())) << "case " << c << ": " << r.error().message();
    r = peer.victim().receive(got, Deadline::after(10ms));
    ASSERT_FALSE(r.has_value()) << "case " << c;
    EXPECT_TRUE(ipc::is_malformed_message(r.error())) << "case " << c << ": the failure did not stay";
  }
}

// The sender's side, on every transport through the public API.
class MaximumPerTransport : public LeakCheckedTest,
                            public ::testing::WithParamInterface<ipc::Transport> {};

TEST_P(MaximumPerTransport, SendOverTheMaximumIsRefusedAndTheChannelStaysUsable) {
  auto pair = ipc::make_channel_pair(GetParam(), {.max_message_bytes = 5000});
  ASSERT_TRUE(pair.has_value()) << pair.error().message();
  auto s = pair->first->send(pattern(5001, 1), Deadline::after(20s));
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, EMSGSIZE);
  EXPECT_NE(s.error().message().find("5001"), std::string::npos) << s.error().message();
  EXPECT_NE(s.error().message().find("5000"), std::string::npos) << s.error().message();
  Bytes at_max = pattern(5000, 2), got;
  ASSERT_TRUE(pair->first->send(at_max, Deadline::after(20s)));
  auto r = pair->second->receive(got, Deadline::after(20s));
  ASSERT_TRUE(r && *r);
  EXPECT_TRUE(got == at_max);
}

INSTANTIATE_TEST_SUITE_P(AllTransports, MaximumPerTransport, ::testing::ValuesIn(ipc::kAllTransports),
                         [](const auto& info) { return std::string(ipc::to_string(info.param)); });

}  // namespace
}  // namespace forkpool::testing
