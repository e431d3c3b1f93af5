// HeldInterrupts: a SIGINT that comes between batches waits, and is found.

#include <gtest/gtest.h>
#include <signal.h>

#include "forkpool/compare/held_interrupts.hpp"
#include "forkpool/compare/task_kinds.hpp"
#include "forkpool/exec/executor.hpp"

namespace forkpool::compare {
namespace {

bool blocked(int sig) {
  sigset_t now;
  ::pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return sigismember(&now, sig) == 1;
}

TEST(HeldInterrupts, SignalBetweenBatchesIsTakenAndTheMaskRestored) {
  ASSERT_FALSE(blocked(SIGINT));
  {
    HeldInterrupts held;
    EXPECT_TRUE(blocked(SIGINT));
    EXPECT_TRUE(blocked(SIGTERM));
    EXPECT_EQ(held.take(), 0);
    ::raise(SIGINT);  // would end this test program were it not held
    EXPECT_EQ(held.take(), SIGINT);
    EXPECT_EQ(held.take(), 0);
  }
  EXPECT_FALSE(blocked(SIGINT));
}

// One that comes between two batches stops the next one at once (its catcher reads it).
TEST(HeldInterrupts, PendingSignalInterruptsTheNextBatch) {
  HeldInterrupts held;
  ::raise(SIGTERM);
  TaskSettings s;
  s.kind = TaskKind::sleep;
  s.count = 200;
  TaskBatch batch = make_task_batch(s);
  ExecutorOptions options;
  options.backend = Backend::threads;
  options.workers = 2;
  BatchReport report = run_batch(options, batch.jobs, batch.fn);
  EXPECT_TRUE(report.interrupted);
  EXPECT_EQ(report.interrupt_signal, SIGTERM);
  EXPECT_EQ(held.take(), 0);
}

}  // namespace
}  // namespace forkpool::compare
