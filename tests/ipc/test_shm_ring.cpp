// The shm ring against a corrupted or hostile peer: attach checks every header field, and
// both ends check every index and commit word they read from shared memory, so corruption is
// an error (EPROTO at attach, EBADMSG later), never a read or write outside the ring.

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>

#include "common/leak_check.hpp"
#include "forkpool/ipc/shared_memory.hpp"
#include "ipc/channel_test_support.hpp"
#include "length_prefix.hpp"
#include "shm_channel.hpp"
#include "shm_ring.hpp"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;
using ipc::Bytes;
using ipc::Deadline;
namespace d = ipc::detail;

constexpr std::uint64_t kCapacity = 4096;

// --- attach ---------------------------------------------------------------------------------

class RingAttach : public LeakCheckedTest {
 protected:
  void SetUp() override {
    LeakCheckedTest::SetUp();
    auto m = ipc::SharedMemory::create(region_);
    ASSERT_TRUE(m.has_value()) << m.error().message();
    memory_ = std::move(*m);
    d::init_ring(memory_.data(), kCapacity);
  }
  void TearDown() override {
    memory_ = ipc::SharedMemory();
    LeakCheckedTest::TearDown();
  }
  d::RingHeader& header() { return *reinterpret_cast<d::RingHeader*>(memory_.data()); }
  ipc::Result<d::RingView> attach(std::size_t region) { return d::RingView::attach(memory_.data(), region); }

  const std::size_t region_ = d::ring_region_bytes(kCapacity);
  ipc::SharedMemory memory_;
};

TEST_F(RingAttach, AFreshRingAttaches) {
  auto view = attach(region_);
  ASSERT_TRUE(view.has_value()) << view.error().message();
  EXPECT_EQ(view->capacity(), kCapacity);
}

TEST_F(RingAttach, EveryCorruptedHeaderFieldIsRefused) {
  const d::RingHeader good = header();
  const std::function<void(d::RingHeader&)> corruptions[] = {
      [](d::RingHeader& h) { h.magic ^= 1; },
      [](d::RingHeader& h) { h.version += 1; },
      [](d::RingHeader& h) { h.header_bytes = 64; },
      [](d::RingHeader& h) { h.slot_offset += d::kSlotBytes; },
      [](d::RingHeader& h) { h.slot_count = 1u << 31; },
      [](d::RingHeader& h) { h.slot_bytes = 8; },
      [](d::RingHeader& h) { h.data_offset = 64; },                         // inside the slots
      [](d::RingHeader& h) { h.data_offset = ~std::uint64_t{0} - 100; },   // past the region
      [](d::RingHeader& h) { h.capacity = kCapacity + 1; },                 // not a power of two
      [](d::RingHeader& h) { h.capacity = 0; },
      [](d::RingHeader& h) { h.capacity = kCapacity * 2; },                 // past the region
      [](d::RingHeader& h) { h.capacity = std::uint64_t{1} << 63; },
      [](d::RingHeader& h) { h.head = kCapacity + 1; },                     // more than a ring
      [](d::RingHeader& h) { h.tail = 1; },                                 // tail past head
  };
  int i = 0;
  for (const auto& corrupt : corruptions) {
    header() = good;
    corrupt(header());
    auto view = attach(region_);
    ASSERT_FALSE(view.has_value()) << "corruption " << i << " was accepted";
    EXPECT_EQ(view.error().code, EPROTO) << "corruption " << i;
    ++i;
  }
}

TEST_F(RingAttach, RegionSmallerThanTheRingIsRefused) {
  EXPECT_FALSE(attach(region_ - 1).has_value());
  EXPECT_FALSE(attach(sizeof(d::RingHeader) - 1).has_value());
  EXPECT_FALSE(attach(0).has_value());
}

// --- a live channel end against a hostile peer ----------------------------------------------

// A ShmChannel end ("victim", sending on ring 0 and receiving on ring 1) whose peer is this
// test, writing straight into the shared memory.
class HostileRing : public LeakCheckedTest {
 protected:
  void make(std::size_t max = ipc::kDefaultMaxMessageBytes) {
    auto memory = ipc::SharedMemory::create(2 * region_);
    ASSERT_TRUE(memory.has_value()) << memory.error().message();
    d::init_ring(memory->data(), kCapacity);
    d::init_ring(memory->data() + region_, kCapacity);
    auto segment = std::make_shared<d::ShmSegment>();
    segment->memory = std::move(*memory);
    for (int i = 0; i < 2; ++i) {
      segment->data_ready[i].reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      segment->space_ready[i].reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    }
    auto links = d::PeerLink::make_pair();
    ASSERT_TRUE(links.has_value());
    auto ch = d::ShmChannel::create(segment, 0, std::move(links->first), 0ns, max);
    ASSERT_TRUE(ch.has_value()) << ch.error().message();
    victim_ = std::move(*ch);
    peer_link_ = std::move(links->second);
    segment_ = std::move(segment);
  }
  void TearDown() override {
    victim_.reset();
    segment_.reset();
    peer_link_ = d::PeerLink();
    LeakCheckedTest::TearDown();
  }
  std::byte* ring(int i) { return segment_->memory.data() + i * region_; }
  d::RingHeader& header(int i) { return *reinterpret_cast<d::RingHeader*>(ring(i)); }
  d::RingSlot& slot(int i, std::uint32_t n) {
    return reinterpret_cast<d::RingSlot*>(ring(i) + d::kSlotOffset)[n];
  }
  std::byte* data(int i) { return ring(i) + header(i).data_offset; }
  // Commits message 0 on the victim's receive ring with this length word.
  void commit_first(std::uint32_t length) { slot(1, 0).commit = std::uint64_t{1} << 32 | length; }
  void streamed_length(std::uint64_t length, std::uint64_t head) {
    commit_first(d::kStreamedMessage);
    d::encode_length(length, data(1));
    header(1).head = head;
  }

  const std::size_t region_ = d::ring_region_bytes(kCapacity);
  std::shared_ptr<d::ShmSegment> segment_;
  std::unique_ptr<d::ShmChannel> victim_;
  d::PeerLink peer_link_;
};

TEST_F(HostileRing, AWellFormedMessageWrittenByHandArrives) {
  // The harness itself is right: a small message and a streamed one, written by hand.
  make();
  std::memcpy(slot(1, 0).payload, "hello", 5);
  commit_first(5);
  Bytes got;
  auto r = victim_->receive(got, Deadline::after(20s));
  ASSERT_TRUE(r && *r) << (r ? "" : r.error().message());
  EXPECT_EQ(as_string(got), "hello");
  slot(1, 1).commit = std::uint64_t{2} << 32 | d::kStreamedMessage;
  d::encode_length(3, data(1));
  std::memcpy(data(1) + 8, "abc", 3);
  header(1).head = 11;
  r = victim_->receive(got, Deadline::after(20s));
  ASSERT_TRUE(r && *r) << (r ? "" : r.error().message());
  EXPECT_EQ(as_string(got), "abc");
}

TEST_F(HostileRing, SlotLengthOverTheSlotIsMalformed) {
  make();
  commit_first(5000);  // was copied out of the 120-byte slot and beyond
  Bytes got;
  auto r = victim_->receive(got, Deadline::after(20s));
  ASSERT_FALSE(r.has_value()) << got.size() << " bytes were read out of a 120-byte slot";
  EXPECT_TRUE(ipc::is_malformed_message(r.error())) << r.error().message();
  r = victim_->receive(got, Deadline::after(20s));
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(ipc::is_malformed_message(r.error())) << "the failure did not stay";
}

TEST_F(HostileRing, HeadOutsideTheRingIsMalformed) {
  for (std::uint64_t head : {kCapacity + 1, std::uint64_t{1} << 40, ~std::uint64_t{0}}) {
    make();
    streamed_length(3 * kCapacity, head);  // was copied out with a length past the ring's end
    Bytes got;
    auto r = victim_->receive(got, Deadline::after(20s));
    ASSERT_FALSE(r.has_value()) << "head " << head;
    EXPECT_TRUE(ipc::is_malformed_message(r.error())) << "head " << head << ": " << r.error().message();
  }
}

TEST_F(HostileRing, StreamedLengthOverTheMaximumIsMalformed) {
  make(/*max=*/1 << 20);
  streamed_length((1 << 20) + 1, 8);
  Bytes got;
  auto r = victim_->receive(got, Deadline::after(20s));
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(ipc::is_malformed_message(r.error())) << r.error().message();
  EXPECT_NE(r.error().message().find("1048577"), std::string::npos) << r.error().message();
}

TEST_F(HostileRing, SlotMessageOverTheMaximumIsMalformed) {
  // Found by fuzz_shm_ring: a small message in its slot skipped the check of the maximum.
  make(/*max=*/8);
  commit_first(9);
  Bytes got;
  auto r = victim_->receive(got, Deadline::after(20s));
  ASSERT_FALSE(r.has_value()) << "a " << got.size() << "-byte message passed a maximum of 8";
  EXPECT_TRUE(ipc::is_malformed_message(r.error())) << r.error().message();
}

TEST_F(HostileRing, AStreamedClaimThatNeverComesCostsNoMemory) {
  make();
  streamed_length(std::uint64_t{1} << 30, 8);
  peer_link_ = d::PeerLink();  // the peer goes
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, before = 0;
  statm >> pages >> before;
  Bytes got;
  auto r = victim_->receive(got, Deadline::after(20s));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ECONNRESET) << r.error().message();
  std::ifstream again("/proc/self/statm");
  std::size_t after = 0;
  again >> pages >> after;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  EXPECT_LT(after * page, before * page + (std::size_t{64} << 20)) << "the claimed gibibyte was allocated";
}

TEST_F(HostileRing, ConsumerTailOutsideTheRingIsMalformedForTheSender) {
  // Writing 3 ring-fulls as if the tail were far ahead wrote past the ring's end.
  for (std::uint64_t tail : {std::uint64_t{1} << 40, std::uint64_t{kCapacity} + 1}) {
    make();
    header(0).tail = tail;
    auto s = victim_->send(pattern(3 * kCapacity, 1), Deadline::after(50ms));
    ASSERT_FALSE(s.has_value()) << "tail " << tail;
    EXPECT_TRUE(ipc::is_malformed_message(s.error())) << "tail " << tail << ": " << s.error().message();
    s = victim_->send(pattern(10, 1), Deadline::after(50ms));
    ASSERT_FALSE(s.has_value()) << "the sending side went on after a corrupted tail";
  }
}

TEST_F(HostileRing, ConsumerMessageTailAheadOfTheMessagesIsMalformedForTheSender) {
  make();
  for (std::uint32_t i = 0; i < d::kSlotCount; ++i)
    ASSERT_TRUE(victim_->send(pattern(10, i), Deadline::after(20s))) << "message " << i;
  header(0).message_tail = 100000;  // more slots freed than were ever filled
  auto s = victim_->send(pattern(10, 1), Deadline::after(50ms));
  ASSERT_FALSE(s.has_value());
  EXPECT_TRUE(ipc::is_malformed_message(s.error())) << s.error().message();
}

}  // namespace
}  // namespace forkpool::testing
