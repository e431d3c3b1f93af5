// The task kinds of compare: each makes the jobs it says and the results expected, on every
// backend alike.

#include <gtest/gtest.h>

#include "common/leak_check.hpp"
#include "forkpool/compare/task_kinds.hpp"

namespace forkpool::compare {
namespace {

TEST(TaskKinds, NamesRoundTrip) {
  for (TaskKind k : kAllTaskKinds) EXPECT_EQ(parse_task_kind(to_string(k)), k);
  EXPECT_FALSE(parse_task_kind("huge"));
}

TEST(TaskKinds, DefaultCountWhenNoneIsGiven) {
  TaskSettings s;
  s.kind = TaskKind::cpu;
  EXPECT_EQ(make_task_batch(s).jobs.size(), default_count(TaskKind::cpu));
  s.count = 7;
  EXPECT_EQ(make_task_batch(s).jobs.size(), 7u);
}

TEST(TaskKinds, MemoryBufferIsSharedOrInEveryJob) {
  TaskSettings s;
  s.kind = TaskKind::memory;
  s.count = 3;
  s.size = 1000;
  TaskBatch shared = make_task_batch(s);
  EXPECT_EQ(shared.shared_input.size(), 1000u);
  for (const Bytes& job : shared.jobs) EXPECT_TRUE(job.empty());
  s.per_job = true;
  TaskBatch per_job = make_task_batch(s);
  EXPECT_TRUE(per_job.shared_input.empty());
  for (const Bytes& job : per_job.jobs) EXPECT_EQ(job.size(), 1000u);
}

class TaskKindOnBackend : public forkpool::testing::LeakCheckedTest,
                          public ::testing::WithParamInterface<std::tuple<TaskKind, Backend>> {};

TEST_P(TaskKindOnBackend, ResultsAreTheExpectedOnes) {
  auto [kind, backend] = GetParam();
  TaskSettings s;
  s.kind = kind;
  s.count = 5;
  s.size = 4099;  // not a whole number of words
  s.sleep = std::chrono::milliseconds(1);
  TaskBatch batch = make_task_batch(s);
  ExecutorOptions options;
  options.backend = backend;
  options.workers = 2;
  options.transport = ipc::Transport::pipe;
  BatchReport report = run_batch(options, batch.jobs, batch.fn, batch.shared_input);
  ASSERT_EQ(report.count(JobStatus::done), 5u);
  for (std::size_t i = 0; i < 5; ++i)
    EXPECT_EQ(report.results[i].output, expected_task_output(s, i)) << "job " << i;
  if (kind == TaskKind::cpu) {
    EXPECT_NE(report.results[0].output, report.results[1].output);
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, TaskKindOnBackend,
    ::testing::Combine(::testing::ValuesIn(kAllTaskKinds),
                       ::testing::Values(Backend::serial, Backend::threads, Backend::processes)),
    [](const auto& info) {
      return std::string(to_string(std::get<0>(info.param))) + "_" +
             std::string(to_string(std::get<1>(info.param)));
    });

}  // namespace
}  // namespace forkpool::compare
