// The executor's conformance over the mpi backend. Runs under mpirun (ctest starts it as
// `mpirun -np 3 test_mpi_executor`): every rank runs every test in the same order and calls
// run() the same number of times; only rank 0, the coordinator, checks what came back. A test
// must therefore call run() before any assertion that could end it early on rank 0.

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "forkpool/exec/executor.hpp"
#include "job_kit.hpp"

namespace forkpool::testing {
namespace {

ExecutorOptions mpi_options() {
  ExecutorOptions o;
  o.backend = Backend::mpi;
  return o;
}

Bytes text(const std::string& s) {
  auto* p = reinterpret_cast<const std::byte*>(s.data());
  return Bytes(p, p + s.size());
}

// Under mpirun with 3 ranks, or not at all: the test binary run bare (ctest --show-only, a
// person) has nothing to test.
class MpiExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr)
      GTEST_SKIP() << "runs under mpirun -np 3 (ctest does that)";
  }
};

TEST_F(MpiExecutorTest, AnswersWhatDiffersFromOtherBackends) {
  const Executor executor(mpi_options());
  EXPECT_FALSE(executor.shares_memory());
  EXPECT_FALSE(executor.shares_address_space());
  EXPECT_FALSE(stops_running_jobs(mpi_options()));
  EXPECT_EQ(executor.workers(), 2u);  // 3 ranks: rank 0 coordinates
  EXPECT_EQ(executor.is_coordinator(), std::getenv("OMPI_COMM_WORLD_RANK") == std::string("0"));
}

TEST_F(MpiExecutorTest, SameOutputsAsSerialEachJobOnceInCompletionOrder) {
  const auto jobs = make_jobs(40, Action::compute, 1000);
  const Bytes shared = text(std::string(100000, 'b'));
  const Executor executor(mpi_options());
  std::vector<std::size_t> seen;
  auto report = executor.run(jobs, run_job, shared, [&](const JobResult& r) { seen.push_back(r.index); });
  if (!executor.is_coordinator()) {
    EXPECT_TRUE(report.results.empty());
    EXPECT_TRUE(seen.empty());
    return;
  }
  ASSERT_EQ(report.results.size(), jobs.size());
  EXPECT_FALSE(report.interrupted);
  EXPECT_EQ(report.workers, 2u);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_EQ(report.results[i].status, JobStatus::done) << report.results[i].error;
    EXPECT_EQ(report.results[i].output, expected_output(jobs[i], shared)) << "job " << i;
    EXPECT_EQ(report.results[i].attempts, 1u);
  }
  EXPECT_EQ(std::set<std::size_t>(seen.begin(), seen.end()).size(), jobs.size());
  EXPECT_EQ(seen.size(), jobs.size());
}

TEST_F(MpiExecutorTest, StagedJobsRunAllThreeStagesOnAWorker) {
  const auto jobs = make_jobs(9);
  const JobStages stages = make_stages<Bytes>(
      [](std::span<const std::byte> input, const WorkerContext&) { return Bytes(input.begin(), input.end()); },
      [](Bytes& b, const WorkerContext& context) { b = run_job(b, context); },
      [](Bytes& b, const WorkerContext&) { return std::move(b); });
  const Executor executor(mpi_options());
  auto report = executor.run(jobs, stages);
  if (!executor.is_coordinator()) return;
  ASSERT_EQ(report.results.size(), jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i)
    EXPECT_EQ(report.results[i].output, expected_output(jobs[i], {}));
}

TEST_F(MpiExecutorTest, AThrowingJobFailsWithItsMessageAndTheOthersGoOn) {
  auto jobs = make_jobs(6);
  jobs[2] = make_job(2, Action::throw_error);
  const Executor executor(mpi_options());
  auto report = executor.run(jobs, run_job);
  if (!executor.is_coordinator()) return;
  ASSERT_EQ(report.results.size(), jobs.size());
  EXPECT_EQ(report.results[2].status, JobStatus::failed);
  EXPECT_EQ(report.results[2].error, "job 2 refused");
  EXPECT_EQ(report.count(JobStatus::done), 5u);
}

TEST_F(MpiExecutorTest, ResultsLargerThanTheLimitFailAndLargeOnesArrive) {
  const auto jobs = make_jobs(4, Action::big_output);  // 256 KiB each
  ExecutorOptions o = mpi_options();
  const Executor executor(o);
  auto big = executor.run(jobs, run_job);
  o.max_result_bytes = 1000;
  const Executor limited(o);
  auto refused = limited.run(jobs, run_job);
  if (!executor.is_coordinator()) return;
  EXPECT_EQ(big.count(JobStatus::done), jobs.size());
  EXPECT_EQ(big.results[3].output, Bytes(256 * 1024, std::byte{3}));
  EXPECT_EQ(refused.count(JobStatus::failed), jobs.size());
  EXPECT_NE(refused.results[0].error.find("over the limit of 1000 bytes"), std::string::npos)
      << refused.results[0].error;
}

TEST_F(MpiExecutorTest, AnEmptyBatchEndsOnEveryRank) {
  const Executor executor(mpi_options());
  auto report = executor.run({}, run_job);
  EXPECT_TRUE(report.results.empty());
}

int g_inits = 0;

TEST_F(MpiExecutorTest, WorkerInitRunsInEachWorkerRankBeforeItsFirstJob) {
  ExecutorOptions o = mpi_options();
  o.worker_init = [] { ++g_inits; };
  const JobFunction fn = [](std::span<const std::byte>, const WorkerContext& context) {
    return text(std::to_string(context.worker_index) + ":" + std::to_string(g_inits));
  };
  const Executor executor(o);
  auto report = executor.run(make_jobs(8), fn);
  if (!executor.is_coordinator()) return;
  EXPECT_EQ(g_inits, 0);  // the coordinator runs no job
  std::set<std::string> outputs;
  for (const auto& r : report.results) {
    ASSERT_EQ(r.status, JobStatus::done) << r.error;
    outputs.insert(std::string(reinterpret_cast<const char*>(r.output.data()), r.output.size()));
  }
  for (const auto& out : outputs) EXPECT_TRUE(out == "0:1" || out == "1:1") << out;
}

TEST_F(MpiExecutorTest, AWorkerInitThatThrowsFailsTheBatchOnTheCoordinator) {
  ExecutorOptions o = mpi_options();
  o.worker_init = [] { throw std::runtime_error("no BLAS today"); };
  const Executor executor(o);
  if (!executor.is_coordinator()) {
    EXPECT_NO_THROW((void)executor.run(make_jobs(4), run_job));
    return;
  }
  try {
    (void)executor.run(make_jobs(4), run_job);
    ADD_FAILURE() << "run() did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "worker_init failed in a worker: no BLAS today");
  }
}

// After a batch whose worker_init failed, the next batch runs normally.
TEST_F(MpiExecutorTest, TheBatchAfterAFailedWorkerInitRuns) {
  const auto jobs = make_jobs(5);
  const Executor executor(mpi_options());
  auto report = executor.run(jobs, run_job);
  if (!executor.is_coordinator()) return;
  EXPECT_EQ(report.count(JobStatus::done), jobs.size());
}

}  // namespace
}  // namespace forkpool::testing
