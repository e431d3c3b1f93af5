// The process pool when workers cannot be started (fork fails with EAGAIN at the process limit,
// or ENOMEM): the batch goes on with the workers it has and says so; with none left, the jobs
// not done fail with the reason; with none at all, run_batch says it cannot start workers.

#include <cerrno>
#include <string>
#include <vector>

#include "common/leak_check.hpp"
#include "forkpool/exec/executor.hpp"
#include "fork_fault.hpp"
#include "job_kit.hpp"

namespace forkpool::testing {
namespace {

class PoolFaultTest : public LeakCheckedTest {
 protected:
  void SetUp() override {
    if (!fork_faults_work()) GTEST_SKIP() << "fork() cannot be made to fail in this build";
    LeakCheckedTest::SetUp();
    job_settings() = JobSettings{};
    job_settings().marker_dir = markers_.path();
  }
  void TearDown() override {
    stop_failing_forks();
    if (!IsSkipped()) LeakCheckedTest::TearDown();
  }

  ExecutorOptions options(unsigned workers) {
    ExecutorOptions o;
    o.backend = Backend::processes;
    o.transport = ipc::Transport::pipe;
    o.workers = workers;
    o.prefetch = 2;
    o.max_retries = 1;
    o.on_warning = [this](const std::string& line) { warnings_.push_back(line); };
    return o;
  }

  BatchReport run(const ExecutorOptions& o, const std::vector<Bytes>& jobs) {
    seen_.assign(jobs.size(), 0);
    return run_batch(o, jobs, run_job, {}, [this](const JobResult& r) { ++seen_[r.index]; });
  }

  void expect_each_reported_once() {
    for (std::size_t i = 0; i < seen_.size(); ++i) EXPECT_EQ(seen_[i], 1) << "job " << i;
  }

  TempDir markers_;
  std::vector<std::string> warnings_;
  std::vector<int> seen_;
};

// fork() failing with EAGAIN, as the user reads it: the limit first, the call after.
const std::string kForkEagain = "too many processes (RLIMIT_NPROC = ";

TEST_F(PoolFaultTest, WorkersThatCannotStartLeaveTheBatchToTheOthers) {
  fail_forks_after(1);
  std::vector<Bytes> jobs = make_jobs(20);
  BatchReport report = run(options(3), jobs);

  ASSERT_EQ(report.count(JobStatus::done), jobs.size());
  expect_each_reported_once();
  for (std::size_t i = 0; i < jobs.size(); ++i)
    EXPECT_EQ(report.results[i].output, expected_output(jobs[i], {})) << "job " << i;
  EXPECT_EQ(report.workers, 1u);
  EXPECT_EQ(report.workers_lost, 2u);
  EXPECT_TRUE(report.worker_error.starts_with(kForkEagain)) << report.worker_error;
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_TRUE(warnings_[0].starts_with("could start only 1 of 3 workers: " + kForkEagain)) << warnings_[0];
}

TEST_F(PoolFaultTest, NotASingleWorkerIsAClearError) {
  for (auto [error, text] : {std::pair{EAGAIN, kForkEagain},
                             std::pair{ENOMEM, std::string("fork: Cannot allocate memory")}}) {
    fail_forks_after(0, error);
    try {
      (void)run_batch(options(2), make_jobs(4), run_job);
      ADD_FAILURE() << "run_batch returned";
    } catch (const std::runtime_error& e) {
      EXPECT_TRUE(std::string(e.what()).starts_with("cannot start workers: " + text)) << e.what();
    }
  }
}

TEST_F(PoolFaultTest, WorkerThatCannotBeReplacedShrinksThePool) {
  fail_forks_after(2);
  std::vector<Bytes> jobs = make_jobs(30);
  jobs[5] = make_job(5, Action::kill_self_once);
  BatchReport report = run(options(2), jobs);

  ASSERT_EQ(report.count(JobStatus::done), jobs.size());
  expect_each_reported_once();
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_EQ(report.results[i].output, expected_output(jobs[i], {})) << "job " << i;
    EXPECT_EQ(report.results[i].attempts, i == 5 ? 2u : 1u) << "job " << i;
  }
  EXPECT_EQ(report.workers, 2u);
  EXPECT_EQ(report.workers_replaced, 0u);
  EXPECT_EQ(report.workers_lost, 1u);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_TRUE(warnings_[0].starts_with("a worker could not be replaced: " + kForkEagain)) << warnings_[0];
  EXPECT_TRUE(warnings_[0].ends_with("going on with 1 worker")) << warnings_[0];
}

TEST_F(PoolFaultTest, WithNoWorkerLeftTheJobsNotDoneFailWithTheReason) {
  fail_forks_after(1);
  std::vector<Bytes> jobs = make_jobs(10);
  jobs[3] = make_job(3, Action::kill_self_once);
  BatchReport report = run(options(1), jobs);

  EXPECT_FALSE(report.interrupted);
  expect_each_reported_once();
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const JobResult& r = report.results[i];
    if (i < 3) {
      EXPECT_EQ(r.status, JobStatus::done) << "job " << i;
    } else {
      EXPECT_EQ(r.status, JobStatus::failed) << "job " << i;
      EXPECT_TRUE(r.error.starts_with("not run, no worker left: " + kForkEagain)) << r.error;
    }
  }
  EXPECT_EQ(report.workers_lost, 1u);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_TRUE(warnings_[0].starts_with("no worker left")) << warnings_[0];
}

}  // namespace
}  // namespace forkpool::testing
