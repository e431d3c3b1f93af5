#include "forkpool/ipc/deadline.hpp"

#include <chrono>

#include "common/leak_check.hpp"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;
using ipc::Deadline;

using DeadlineTest = LeakCheckedTest;

TEST_F(DeadlineTest, NeverWaitsForever) {
  Deadline d = Deadline::never();
  EXPECT_TRUE(d.is_never());
  EXPECT_FALSE(d.expired());
  EXPECT_EQ(d.poll_timeout_ms(), -1);
}

TEST_F(DeadlineTest, EarliestTimePointIsExpiredWithoutOverflow) {
  // Callers use time_point::min() as "already passed"; the subtraction must not overflow
  // (UBSan checks this in the sanitizer build).
  Deadline d = Deadline::at(Deadline::Clock::time_point::min());
  EXPECT_TRUE(d.expired());
  EXPECT_EQ(d.poll_timeout_ms(), 0);
  EXPECT_EQ(Deadline::after(0s).poll_timeout_ms(), 0);
}

TEST_F(DeadlineTest, PollTimeoutCountsDownInMilliseconds) {
  Deadline d = Deadline::after(10min);
  EXPECT_FALSE(d.expired());
  int ms = d.poll_timeout_ms();
  EXPECT_LE(ms, 600'000);
  EXPECT_GT(ms, 590'000);
}

TEST_F(DeadlineTest, PollTimeoutRoundsUpSoAWaitNeverEndsEarly) {
  // Less than a millisecond left must not become 0 (a busy poll) before the deadline.
  auto when = Deadline::Clock::now() + 10min;
  Deadline d = Deadline::at(when);
  int ms = d.poll_timeout_ms();
  auto left = when - Deadline::Clock::now();
  EXPECT_GE(std::chrono::milliseconds(ms), left);
}

}  // namespace
}  // namespace forkpool::testing
