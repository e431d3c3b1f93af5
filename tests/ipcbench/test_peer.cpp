// The peers' protocol, driven by hand from one process over a real pipe channel: a corrupted
// or wrong-sized message, or a peer that leaves, is an error with a message, never a number.

#include "peer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "common/leak_check.hpp"
#include "forkpool/ipcbench/payload.hpp"

namespace forkpool::ipcbench::detail {
namespace {

using namespace std::chrono_literals;

class PeerProtocol : public forkpool::testing::LeakCheckedTest {
 protected:
  void SetUp() override {
    LeakCheckedTest::SetUp();
    auto pair = ipc::make_channel_pair(ipc::Transport::pipe);
    ASSERT_TRUE(pair) << pair.error().message();
    pair_ = std::move(*pair);
    plan_.mode = BenchMode::latency;
    plan_.size = 100;
    plan_.count = 1;
    plan_.stall_timeout = 2s;
  }
  void TearDown() override {
    pair_ = {};
    LeakCheckedTest::TearDown();
  }

  void send_first(const ipc::Bytes& message) {
    ASSERT_TRUE(pair_.first->send(message, ipc::Deadline::after(1s)));
  }

  ipc::ChannelPair pair_;
  PeerPlan plan_;
  PeerReport report_;
};

ipc::Bytes message(std::size_t size, std::uint64_t seq, Direction d) {
  ipc::Bytes m(size);
  fill_payload(m, seq, d);
  return m;
}

TEST_F(PeerProtocol, ResponderAnswersAndEndsOnControl) {
  send_first(message(100, 0, Direction::request));
  send_first({});
  EXPECT_EQ(run_responder(*pair_.second, plan_, report_), 0) << report_.error;
  ipc::Bytes reply;
  ASSERT_TRUE(pair_.first->receive(reply, ipc::Deadline::after(1s)));
  EXPECT_EQ(check_payload(reply, 0, Direction::reply), std::nullopt);
}

TEST_F(PeerProtocol, ResponderReportsACorruptedRequest) {
  ipc::Bytes bad = message(100, 0, Direction::request);
  bad[57] ^= std::byte{0x80};
  send_first(bad);
  EXPECT_EQ(run_responder(*pair_.second, plan_, report_), 1);
  EXPECT_NE(std::string(report_.error).find("corrupted: byte 57 of 100"), std::string::npos)
      << report_.error;
}

TEST_F(PeerProtocol, ResponderReportsAWrongSize) {
  send_first(message(99, 0, Direction::request));
  EXPECT_EQ(run_responder(*pair_.second, plan_, report_), 1);
  EXPECT_NE(std::string(report_.error).find("99 bytes arrived, 100 were sent"), std::string::npos)
      << report_.error;
}

TEST_F(PeerProtocol, ResponderReportsAPeerThatLeft) {
  pair_.first.reset();
  EXPECT_EQ(run_responder(*pair_.second, plan_, report_), 1);
  EXPECT_NE(std::string(report_.error).find("closed"), std::string::npos) << report_.error;
}

TEST_F(PeerProtocol, InitiatorReportsACorruptedReply) {
  // The reply is waiting before the request goes out: the initiator reads it as the answer.
  ipc::Bytes bad = message(100, 0, Direction::reply);
  bad[99] ^= std::byte{1};
  ASSERT_TRUE(pair_.second->send(bad, ipc::Deadline::after(1s)));
  EXPECT_EQ(run_initiator(*pair_.first, plan_, report_), 1);
  EXPECT_NE(std::string(report_.error).find("reply 0 is corrupted: byte 99"), std::string::npos)
      << report_.error;
}

TEST_F(PeerProtocol, InitiatorReportsAnEchoedRequest) {
  // A transport that hands the sender's own bytes back would pass a size check; not this one.
  ASSERT_TRUE(pair_.second->send(message(100, 0, Direction::request), ipc::Deadline::after(1s)));
  EXPECT_EQ(run_initiator(*pair_.first, plan_, report_), 1);
  EXPECT_NE(std::string(report_.error).find("corrupted"), std::string::npos) << report_.error;
}

// Runs the responder on the second end in a thread while the initiator runs on the first here.
int run_with_responder(ipc::ChannelPair& pair, const PeerPlan& plan, PeerReport& report) {
  PeerReport responder_report;
  int responder_code = -1;
  std::thread responder([&] { responder_code = run_responder(*pair.second, plan, responder_report); });
  int code = run_initiator(*pair.first, plan, report);
  if (code != 0) pair.first.reset();  // the responder sees the hang-up and ends
  responder.join();
  EXPECT_EQ(responder_code, code) << responder_report.error;
  return code;
}

// A latency run keeps every sample: given a long duration it still stops at max_samples.
TEST_F(PeerProtocol, LatencyRunGivenADurationStopsAtMaxSamples) {
  plan_.count.reset();
  plan_.duration = 60s;
  plan_.max_samples = 50;
  ASSERT_EQ(run_with_responder(pair_, plan_, report_), 0) << report_.error;
  EXPECT_EQ(report_.count, 50u);
  EXPECT_EQ(report_.rtt.count, 50u);
}

// Moving a large message takes time in proportion to its size: every wait allows for it on
// top of the stall timeout (a 1 GiB run once always failed with "no progress for 10 s").
TEST_F(PeerProtocol, ALargeMessageIsNotAStall) {
  plan_.size = std::size_t{16} << 20;
  plan_.count = 2;
  plan_.stall_timeout = 1ms;  // far less than 16 MiB takes through a pipe, each way
  EXPECT_EQ(run_with_responder(pair_, plan_, report_), 0) << report_.error;
  EXPECT_EQ(report_.count, 2u);
}

TEST(WaitAllowance, GrowsWithTheMessage) {
  EXPECT_EQ(wait_allowance(10s, 0), 10s);
  EXPECT_EQ(wait_allowance(10s, kSlowestBytesPerSecond), 11s);
  EXPECT_EQ(wait_allowance(10s, std::size_t{1} << 30), 266s);  // 1 GiB at 4 MiB/s: 256 s more
}

TEST_F(PeerProtocol, AStalledPeerIsAnErrorAfterTheStallTimeout) {
  plan_.stall_timeout = 50ms;
  EXPECT_EQ(run_responder(*pair_.second, plan_, report_), 1);
  EXPECT_NE(std::string(report_.error).find("no progress"), std::string::npos) << report_.error;
}

}  // namespace
}  // namespace forkpool::ipcbench::detail
