// The mq transport's own tests: limits, the descriptor owner, chunking at the real msgsize.

#include "forkpool/ipc/message_queue.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <vector>
#include <utility>

#include "common/leak_check.hpp"
#include "forkpool/ipc/channel.hpp"
#include "forkpool/ipc/fault_injection.hpp"
#include "ipc/channel_test_support.hpp"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;
using ipc::Bytes;
using ipc::Deadline;

using MessageQueueTest = LeakCheckedTest;

long proc_value(const char* path) {
  std::ifstream in(path);
  long v = 0;
  return in >> v ? v : 0;
}

TEST_F(MessageQueueTest, ProbeReportsWhatTheSystemGrants) {
  auto limits = ipc::probe_mq_limits();
  ASSERT_TRUE(limits.has_value()) << limits.error().message();
  EXPECT_GT(limits->message_size, 8);
  EXPECT_GE(limits->max_messages, 1);
  // The probe asks for the system's maximum; it may get less only where the kernel refuses.
  if (long max_size = proc_value("/proc/sys/fs/mqueue/msgsize_max"); max_size > 0) {
    EXPECT_LE(limits->message_size, max_size);
  }
  if (long max_count = proc_value("/proc/sys/fs/mqueue/msg_max"); max_count > 0) {
    EXPECT_LE(limits->max_messages, max_count);
  }
}

TEST_F(MessageQueueTest, UnlinkedQueueCarriesMessagesAndLeavesNoName) {
  auto before = ResourceSnapshot::take().mqueue;
  auto q = ipc::create_unlinked_queue();
  ASSERT_TRUE(q.has_value()) << q.error().message();
  EXPECT_EQ(ResourceSnapshot::take().mqueue, before) << "the queue's name was not unlinked";
  ASSERT_EQ(::mq_send(q->sender.get(), "hi", 2, 0), 0);
  char buf[1 << 16];
  ASSERT_GE(q->limits.message_size, 2);
  ASSERT_LE(q->limits.message_size, static_cast<long>(sizeof buf));
  EXPECT_EQ(::mq_receive(q->receiver.get(), buf, sizeof buf, nullptr), 2);
  auto limits = q->receiver.limits();
  ASSERT_TRUE(limits.has_value());
  EXPECT_EQ(limits->message_size, q->limits.message_size);
}

TEST_F(MessageQueueTest, OwnerMovesAndCloses) {
  auto q = ipc::create_unlinked_queue();
  ASSERT_TRUE(q.has_value()) << q.error().message();
  mqd_t raw = q->sender.get();
  ipc::MessageQueue moved(std::move(q->sender));
  EXPECT_FALSE(q->sender.valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(moved.get(), raw);
  moved.reset();
  EXPECT_FALSE(moved.valid());
  mq_attr attr{};
  EXPECT_EQ(::mq_getattr(raw, &attr), -1) << "reset() did not close the descriptor";
}

// Messages around and well past the queue's real message size arrive whole (the first chunk
// carries an 8-byte length, so the boundaries are at msgsize - 8 and msgsize - 8 + k msgsize).
TEST_F(MessageQueueTest, MessagesLargerThanMsgsizeAreChunkedNotTruncated) {
  auto limits = ipc::probe_mq_limits();
  ASSERT_TRUE(limits.has_value()) << limits.error().message();
  const auto m = static_cast<std::size_t>(limits->message_size);
  const std::size_t sizes[] = {m * 7 / 2, m - 9, m - 8, m - 7, m, m + 1, 2 * m - 8, 2 * m - 7, 3 * m};
  auto pair = ipc::make_channel_pair(ipc::Transport::mq);
  ASSERT_TRUE(pair.has_value()) << pair.error().message();
  ForkedChild child([&] {
    pair->first.reset();
    for (std::size_t size : sizes)
      if (!pair->second->send(pattern(size, size), Deadline::after(20s))) return 1;
    return 0;
  });
  pair->second.reset();
  Bytes got;
  for (std::size_t size : sizes) {
    auto r = pair->first->receive(got, Deadline::after(20s));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    ASSERT_TRUE(*r);
    ASSERT_EQ(got.size(), size);
    EXPECT_TRUE(got == pattern(size, size)) << size << " B (msgsize " << m << ") arrived altered";
  }
  EXPECT_EQ(child.wait(), 0);
}

TEST_F(MessageQueueTest, ReceiveCutShortMidMessageResumes) {
  // A message of many chunks, sent by a child that pauses halfway: the receiver's deadline
  // passes mid-message, and the next receive() completes the same message.
  auto limits = ipc::probe_mq_limits();
  ASSERT_TRUE(limits.has_value()) << limits.error().message();
  const auto m = static_cast<std::size_t>(limits->message_size);
  const std::size_t size = m * static_cast<std::size_t>(limits->max_messages) * 3;
  auto pair = ipc::make_channel_pair(ipc::Transport::mq);
  ASSERT_TRUE(pair.has_value()) << pair.error().message();
  Bytes sent = pattern(size, 11);
  Bytes got;
  ForkedChild child([&] {
    pair->first.reset();
    if (!pair->second->send(sent, Deadline::after(20s))) return 1;
    return 0;
  });
  pair->second.reset();
  // Non-blocking tries drain the full queue faster than the child refills it, so they give
  // up mid-message again and again; each goes on where the last stopped.
  const auto give_up = Deadline::after(20s);
  const auto now = Deadline::at(Deadline::Clock::time_point::min());
  auto r = pair->first->receive(got, now);
  while (!r && r.error().code == ETIMEDOUT && !give_up.expired()) r = pair->first->receive(got, now);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_TRUE(*r);
  EXPECT_TRUE(got == sent);
  EXPECT_EQ(child.wait(), 0);
}

// mq_open's EMFILE is the per-user RLIMIT_MSGQUEUE budget (the kernel's mqueue_get_inode), not
// "Too many open files": the message names the limit, its value and what to do.
TEST_F(MessageQueueTest, ASpentQueueBudgetIsNamedWithItsValueAndWhatToDo) {
  ForkedChild child([] {
    rlimit none{0, 0};
    if (::getrlimit(RLIMIT_MSGQUEUE, &none) != 0) return 10;
    none.rlim_cur = 0;
    if (::setrlimit(RLIMIT_MSGQUEUE, &none) != 0) return 10;
    auto pair = ipc::make_channel_pair(ipc::Transport::mq);
    if (pair) return 2;
    if (pair.error().code != EMFILE) return 3;
    const std::string m = pair.error().message();
    for (const char* part : {"RLIMIT_MSGQUEUE = 0 bytes", "ulimit -q", "--transport shm"})
      if (m.find(part) == std::string::npos) {
        std::fprintf(stderr, "%s\n", m.c_str());
        return 4;
      }
    return 0;
  });
  EXPECT_EQ(child.wait(), 0) << "2: created, 3: not EMFILE, 4: the message does not say which limit";
}

TEST_F(MessageQueueTest, OutOfDescriptorsIsNamedAsSuchNotAsTheQueueBudget) {
  ForkedChild child([] {
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) != 0) return 10;
    files.rlim_cur = 64;
    if (::setrlimit(RLIMIT_NOFILE, &files) != 0) return 10;
    while (::dup(2) >= 0) {  // every descriptor taken
    }
    auto pair = ipc::make_channel_pair(ipc::Transport::mq);
    if (pair) return 2;
    if (pair.error().code != EMFILE) return 3;
    const std::string m = pair.error().message();
    if (m.find("RLIMIT_NOFILE = 64") == std::string::npos || m.find("ulimit -n") == std::string::npos ||
        m.find("RLIMIT_MSGQUEUE") != std::string::npos) {
      std::fprintf(stderr, "%s\n", m.c_str());
      return 4;
    }
    return 0;
  });
  EXPECT_EQ(child.wait(), 0) << "2: created, 3: not EMFILE, 4: the message names the wrong limit";
}

TEST_F(MessageQueueTest, TheSystemsQueueLimitIsNamed) {
  ipc::InjectedFault full("mq_open", ENOSPC);
  auto q = ipc::create_unlinked_queue();
  ASSERT_FALSE(q.has_value());
  EXPECT_EQ(q.error().code, ENOSPC);
  EXPECT_NE(q.error().message().find("fs.mqueue.queues_max"), std::string::npos) << q.error().message();
}

TEST_F(MessageQueueTest, ManyChannelsAtOnceFitTheUserBudget) {
  // RLIMIT_MSGQUEUE (800 KiB by default) holds only a few queues of the system's largest
  // size: later queues get fewer slots instead of failing, as a pool of many workers needs.
  std::vector<ipc::ChannelPair> pairs;
  for (int i = 0; i < 16; ++i) {
    auto pair = ipc::make_channel_pair(ipc::Transport::mq);
    ASSERT_TRUE(pair.has_value()) << "channel " << i << ": " << pair.error().message();
    pairs.push_back(std::move(*pair));
  }
  Bytes got;
  for (auto& pair : pairs) {
    ASSERT_TRUE(pair.first->send(pattern(5000, 1), Deadline::after(20s)));
    auto r = pair.second->receive(got, Deadline::after(20s));
    ASSERT_TRUE(r && *r);
    EXPECT_TRUE(got == pattern(5000, 1));
  }
}

}  // namespace
}  // namespace forkpool::testing
