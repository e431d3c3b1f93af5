// The measuring loop: which configurations, what each figure means, and the baseline.

#include <gtest/gtest.h>

#include <cmath>

#include "common/leak_check.hpp"
#include "forkpool/compare/measure.hpp"
#include "forkpool/compare/task_kinds.hpp"

namespace forkpool::compare {
namespace {

TEST(Measure, DefaultWorkerCountsDoubleUpToTheCores) {
  EXPECT_EQ(default_worker_counts(1), (std::vector<unsigned>{1}));
  EXPECT_EQ(default_worker_counts(2), (std::vector<unsigned>{1, 2}));
  EXPECT_EQ(default_worker_counts(6), (std::vector<unsigned>{1, 2, 4, 6}));
  EXPECT_EQ(default_worker_counts(8), (std::vector<unsigned>{1, 2, 4, 8}));
}

TEST(Measure, SerialComesFirstOnceAndTransportsOnlyWithProcesses) {
  std::vector<Backend> backends{Backend::processes, Backend::threads, Backend::threads};
  std::vector<ipc::Transport> transports{ipc::Transport::shm, ipc::Transport::pipe};
  std::vector<unsigned> workers{1, 2};
  auto configs = configurations(backends, transports, workers);
  std::vector<Configuration> expected{
      {Backend::serial, std::nullopt, 1},
      {Backend::processes, ipc::Transport::shm, 1},  {Backend::processes, ipc::Transport::shm, 2},
      {Backend::processes, ipc::Transport::pipe, 1}, {Backend::processes, ipc::Transport::pipe, 2},
      {Backend::threads, std::nullopt, 1},           {Backend::threads, std::nullopt, 2}};
  EXPECT_EQ(configs, expected);
  EXPECT_EQ(configs[2].label(), "processes/shm x2");
  EXPECT_EQ(configs[0].label(), "serial");
}

TEST(Measure, DerivedFiguresFollowTheirFormulas) {
  Measurement m;
  m.config = {Backend::threads, std::nullopt, 4};
  m.jobs = 1000;
  m.wall_s = 0.5;
  derive(m, 1.0);
  EXPECT_DOUBLE_EQ(m.speedup, 2.0);
  EXPECT_DOUBLE_EQ(m.efficiency, 0.5);
  EXPECT_NEAR(m.overhead_us_per_job, (0.5 * 4 - 1.0) / 1000 * 1e6, 1e-9);
}

class MeasureAll : public forkpool::testing::LeakCheckedTest {};

TEST_F(MeasureAll, EveryConfigurationIsMeasuredAgainstSerial) {
  TaskSettings s;
  s.kind = TaskKind::memory;
  s.count = 20;
  s.size = 10'000;
  s.per_job = true;
  TaskBatch batch = make_task_batch(s);
  std::vector<Backend> backends{Backend::threads, Backend::processes};
  std::vector<ipc::Transport> transports{ipc::Transport::pipe, ipc::Transport::shm};
  std::vector<unsigned> workers{2};
  auto configs = configurations(backends, transports, workers);
  CompareSettings settings;
  settings.repeats = 3;
  unsigned measured = 0;
  settings.on_measured = [&](const Measurement&) { ++measured; };
  CompareResult result = measure_all(configs, batch_workload(batch.jobs, batch.fn, batch.shared_input), settings);
  ASSERT_FALSE(result.interrupted);
  ASSERT_EQ(result.rows.size(), configs.size());
  EXPECT_EQ(measured, configs.size());
  const double serial = result.rows[0].wall_s;
  for (const Measurement& m : result.rows) {
    SCOPED_TRACE(m.config.label());
    EXPECT_EQ(m.jobs, 20u);
    EXPECT_EQ(m.failed, 0u) << m.first_error;
    ASSERT_EQ(m.wall_runs_s.size(), 3u);
    EXPECT_LE(m.wall_s_min, m.wall_s);
    EXPECT_LE(m.wall_s, m.wall_s_max);
    EXPECT_DOUBLE_EQ(m.speedup, serial / m.wall_s);
    EXPECT_DOUBLE_EQ(m.efficiency, m.speedup / m.config.workers);
    EXPECT_GT(m.peak_pss_bytes, 0u);
    EXPECT_GT(m.cpu_s, 0.0);
    // 20 jobs of 10000 bytes, 20 results of 8 bytes, through channels only where there are.
    EXPECT_EQ(m.channel_bytes, m.config.transport ? 20u * 10'000 + 20u * 8 : 0u);
    if (m.config.backend == Backend::serial) {
      EXPECT_EQ(m.startup_s, 0.0);
      EXPECT_DOUBLE_EQ(m.overhead_us_per_job, 0.0);
    } else {
      EXPECT_GT(m.startup_s, 0.0);
    }
  }
}

// The shared input counts once per worker that received it.
TEST_F(MeasureAll, SharedInputCountsOncePerWorker) {
  TaskSettings s;
  s.kind = TaskKind::memory;
  s.count = 10;
  s.size = 5000;
  TaskBatch batch = make_task_batch(s);
  std::vector<Backend> backends{Backend::processes};
  std::vector<ipc::Transport> transports{ipc::Transport::unix_socket};
  std::vector<unsigned> workers{2};
  auto configs = configurations(backends, transports, workers);
  CompareSettings settings;
  settings.repeats = 1;
  CompareResult result = measure_all(configs, batch_workload(batch.jobs, batch.fn, batch.shared_input), settings);
  ASSERT_EQ(result.rows.size(), 2u);
  EXPECT_EQ(result.rows[1].channel_bytes, 2u * 5000 + 10u * 8);
}

// A result that differs from the serial run's is a failure of that configuration.
TEST_F(MeasureAll, ResultThatDiffersFromSerialFails) {
  std::vector<Bytes> jobs(4);
  JobFunction fn = [](std::span<const std::byte>, const WorkerContext& context) {
    return Bytes(1, std::byte{static_cast<unsigned char>(context.worker_index + 1)});
  };
  std::vector<Backend> backends{Backend::threads};
  std::vector<unsigned> workers{1};
  auto configs = configurations(backends, {}, workers);
  CompareSettings settings;
  settings.repeats = 1;
  // serial: worker 0 everywhere; threads x1: also worker 0 — the same, so no failure.
  CompareResult same = measure_all(configs, batch_workload(jobs, fn), settings);
  EXPECT_EQ(same.rows[1].failed, 0u);
  // Now a job that answers differently on its second run.
  auto calls = std::make_shared<int>(0);
  JobFunction changing = [calls](std::span<const std::byte>, const WorkerContext&) {
    return Bytes(1, std::byte{static_cast<unsigned char>((*calls)++ < 4 ? 0 : 1)});
  };
  CompareResult differs = measure_all(configs, batch_workload(jobs, changing), settings);
  EXPECT_EQ(differs.rows[1].failed, 4u);
  EXPECT_EQ(differs.rows[1].first_error, "job 0: result differs from the first run's");
}

// A workload's check runs once per run, after the run, and the failures it adds count.
TEST_F(MeasureAll, CheckRunsAfterEachRunAndItsFailuresCount) {
  std::vector<Backend> backends{Backend::threads};
  std::vector<unsigned> workers{1, 2};
  auto configs = configurations(backends, {}, workers);
  CompareSettings settings;
  settings.repeats = 2;
  int runs = 0, checks = 0;
  Workload workload = [&](const ExecutorOptions&, const ResultCallback&) {
    RunOutcome out;
    out.jobs = 3;
    ++runs;
    out.check = [&, run = runs](RunOutcome& o) {
      EXPECT_EQ(runs, run);  // before the next run starts
      ++checks;
      if (run == 4) {  // the second run of threads x1
        o.failed = 1;
        o.first_error = "a.png: output differs from the serial run's";
      }
    };
    return out;
  };
  CompareResult result = measure_all(configs, workload, settings);
  ASSERT_EQ(result.rows.size(), 3u);
  EXPECT_EQ(checks, 6);
  EXPECT_EQ(result.rows[0].failed, 0u);
  EXPECT_EQ(result.rows[1].failed, 1u);
  EXPECT_EQ(result.rows[1].first_error, "a.png: output differs from the serial run's");
  EXPECT_EQ(result.rows[2].failed, 0u);
}

TEST_F(MeasureAll, StopRequestedEndsTheLoopInterrupted) {
  std::vector<Bytes> jobs(2);
  JobFunction fn = [](std::span<const std::byte>, const WorkerContext&) { return Bytes{}; };
  std::vector<Backend> backends{Backend::threads};
  std::vector<unsigned> workers{1, 2};
  auto configs = configurations(backends, {}, workers);
  CompareSettings settings;
  settings.repeats = 2;
  int asked = 0;
  settings.stop_requested = [&] { return ++asked > 3; };
  CompareResult result = measure_all(configs, batch_workload(jobs, fn), settings);
  EXPECT_TRUE(result.interrupted);
  EXPECT_EQ(result.rows.size(), 1u);
}

}  // namespace
}  // namespace forkpool::compare
