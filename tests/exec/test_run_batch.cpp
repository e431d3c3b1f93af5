// run_batch over every backend (and, for processes, every transport): the same jobs give the
// same results, each job ends exactly once, and failures and interrupts are reported the same.

#include <csignal>
#include <cstring>
#include <map>
#include <string>

#include "common/leak_check.hpp"
#include "forkpool/exec/executor.hpp"
#include "forkpool/exec/shared_arena.hpp"
#include "job_kit.hpp"

namespace forkpool::testing {
namespace {

struct Config {
  Backend backend;
  ipc::Transport transport = ipc::Transport::pipe;
};

std::string config_name(const ::testing::TestParamInfo<Config>& info) {
  std::string name(to_string(info.param.backend));
  if (info.param.backend == Backend::processes) {
    name += '_';
    name += to_string(info.param.transport);
  }
  return name;
}

std::vector<Config> all_configs() {
  std::vector<Config> configs{{Backend::serial}, {Backend::threads}};
  for (ipc::Transport t : ipc::kAllTransports) configs.push_back({Backend::processes, t});
  return configs;
}

// run_job cut in three: read copies the input, compute runs the job, write hands its output
// back. Jobs whose input starts with kFailRead fail in read, and never reach compute or write.
constexpr std::byte kFailRead{0xff};
struct StagedJob {
  Bytes input;
  Bytes output;
  bool computed = false;
};
JobStages staged_run_job() {
  return make_stages<StagedJob>(
      [](std::span<const std::byte> input, const WorkerContext&) {
        if (!input.empty() && input[0] == kFailRead) throw std::runtime_error("cannot read that");
        return StagedJob{Bytes(input.begin(), input.end()), {}, false};
      },
      [](StagedJob& job, const WorkerContext& context) {
        job.output = run_job(job.input, context);
        job.computed = true;
      },
      [](StagedJob& job, const WorkerContext&) {
        if (!job.computed) throw std::logic_error("write before compute");
        return std::move(job.output);
      });
}

Bytes text(const std::string& s) {
  auto* p = reinterpret_cast<const std::byte*>(s.data());
  return Bytes(p, p + s.size());
}

class RunBatchTest : public LeakCheckedTest, public ::testing::WithParamInterface<Config> {
 protected:
  void SetUp() override {
    if (GetParam().backend == Backend::processes && !transport_available(GetParam().transport))
      GTEST_SKIP() << "transport " << to_string(GetParam().transport) << " not built yet";
    LeakCheckedTest::SetUp();
    job_settings() = JobSettings{};
  }
  void TearDown() override {
    if (!IsSkipped()) LeakCheckedTest::TearDown();
  }

  ExecutorOptions options(unsigned workers = 2) const {
    ExecutorOptions o;
    o.backend = GetParam().backend;
    o.transport = GetParam().transport;
    o.workers = workers;
    return o;
  }

  // Runs the batch and checks what holds for every batch: one result per job, in job order,
  // and on_result called exactly once for each job that ended (not for cancelled ones).
  template <class Work = JobFunction>
  BatchReport run(const ExecutorOptions& o, const std::vector<Bytes>& jobs,
                  std::span<const std::byte> shared = {}, const Work& work = run_job) {
    std::map<std::size_t, int> reported;
    BatchReport report = run_batch(o, jobs, work, shared, [&](const JobResult& r) {
      EXPECT_NE(r.status, JobStatus::cancelled);
      ++reported[r.index];
    });
    EXPECT_EQ(report.results.size(), jobs.size());
    for (std::size_t i = 0; i < report.results.size(); ++i) {
      const JobResult& r = report.results[i];
      EXPECT_EQ(r.index, i);
      EXPECT_EQ(reported.count(i), r.status == JobStatus::cancelled ? 0u : 1u) << "job " << i;
      if (reported.count(i)) {
        EXPECT_EQ(reported[i], 1) << "job " << i << " reported twice";
      }
    }
    return report;
  }
};

// 1000 slow jobs, the fourth of which sends SIGINT: to its coordinator (processes) or its own
// process (threads, serial). The batch cannot finish the rest before the signal is handled.
std::vector<Bytes> interrupted_jobs(Backend backend) {
  std::vector<Bytes> jobs = make_jobs(1000, Action::sleep_then_compute);
  bool processes = backend == Backend::processes;
  jobs[3] = make_job(3, processes ? Action::interrupt_parent : Action::interrupt_self);
  return jobs;
}

// What an interrupted batch must say: interrupted by SIGINT, nothing failed, something
// cancelled, and what finished is right.
void expect_interrupted_by_sigint(const BatchReport& report, const std::vector<Bytes>& jobs) {
  EXPECT_TRUE(report.interrupted);
  EXPECT_EQ(report.interrupt_signal, SIGINT);
  EXPECT_EQ(report.count(JobStatus::failed), 0u);
  EXPECT_GT(report.count(JobStatus::cancelled), 0u);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (report.results[i].status == JobStatus::done) {
      EXPECT_EQ(report.results[i].output, expected_output(jobs[i], {})) << "job " << i;
    }
  }
}

TEST_P(RunBatchTest, SameJobsGiveTheSameResultsOnEveryBackend) {
  // Sizes around the channels' buffers and the coordinator's prefetch limit, and one large.
  std::vector<std::size_t> sizes{0, 1, 100, 4096, 40'000, 70'000, 1 << 20};
  std::vector<Bytes> jobs;
  for (std::uint32_t i = 0; i < 60; ++i)
    jobs.push_back(make_job(i, Action::compute, sizes[i % sizes.size()]));
  Bytes shared = text("shared input of the batch");

  BatchReport report = run(options(3), jobs, shared);
  EXPECT_FALSE(report.interrupted);
  EXPECT_EQ(report.count(JobStatus::done), jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_EQ(report.results[i].output, expected_output(jobs[i], shared)) << "job " << i;
    EXPECT_EQ(report.results[i].attempts, 1u);
  }
  EXPECT_EQ(report.workers, GetParam().backend == Backend::serial ? 1u : 3u);
  EXPECT_EQ(report.workers_replaced, 0u);
}

// Each result names the worker that ran it (a log says who did what): the WorkerContext
// index the job itself saw, for plain jobs and for staged ones alike.
TEST_P(RunBatchTest, EachResultNamesTheWorkerThatRanIt) {
  auto own_index = [](std::span<const std::byte>, const WorkerContext& c) {
    return Bytes{static_cast<std::byte>(c.worker_index)};
  };
  auto staged = make_stages<unsigned>(
      [](std::span<const std::byte>, const WorkerContext&) { return 0u; },
      [](unsigned&, const WorkerContext&) {},
      [](unsigned&, const WorkerContext& c) { return Bytes{static_cast<std::byte>(c.worker_index)}; });
  std::vector<Bytes> jobs = make_jobs(30);
  for (BatchReport report : {run(options(3), jobs, {}, JobFunction(own_index)), run(options(3), jobs, {}, staged)}) {
    ASSERT_EQ(report.count(JobStatus::done), jobs.size());
    for (const JobResult& r : report.results) {
      ASSERT_EQ(r.output.size(), 1u);
      EXPECT_EQ(r.worker, static_cast<unsigned>(r.output[0])) << "job " << r.index;
      EXPECT_LT(r.worker, report.workers);
    }
  }
}

TEST_P(RunBatchTest, LargeSharedInputReachesEveryJob) {
  Bytes shared(1 << 20);
  for (std::size_t i = 0; i < shared.size(); ++i) shared[i] = static_cast<std::byte>(i * 7);
  std::vector<Bytes> jobs = make_jobs(6);
  BatchReport report = run(options(3), jobs, shared);
  ASSERT_EQ(report.count(JobStatus::done), jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i)
    EXPECT_EQ(report.results[i].output, expected_output(jobs[i], shared)) << "job " << i;
  // What was handed over: the shared input once per worker, every job, every result.
  std::uint64_t want = std::uint64_t{shared.size()} * report.workers;
  for (std::size_t i = 0; i < jobs.size(); ++i)
    want += jobs[i].size() + report.results[i].output.size();
  EXPECT_EQ(report.payload_bytes(jobs, shared.size()), want);
}

// One description for every backend: jobs in stages give what the same work as one function
// gives, byte for byte, and a stage that throws fails its job alone, with its message.
TEST_P(RunBatchTest, StagedJobsGiveTheSameResultsAsOneFunction) {
  Bytes shared = text("shared input of the staged batch");
  std::vector<Bytes> jobs = make_jobs(40);
  jobs[4] = make_job(4, Action::throw_error);
  jobs[7] = Bytes{kFailRead, std::byte{1}};
  BatchReport report = run(options(3), jobs, shared, staged_run_job());
  EXPECT_FALSE(report.interrupted);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const JobResult& r = report.results[i];
    if (i == 4 || i == 7) {
      EXPECT_EQ(r.status, JobStatus::failed) << "job " << i;
      EXPECT_EQ(r.error, i == 4 ? "job 4 refused" : "cannot read that");
      EXPECT_TRUE(r.output.empty());
    } else {
      EXPECT_EQ(r.status, JobStatus::done) << "job " << i << ": " << r.error;
      EXPECT_EQ(r.output, expected_output(jobs[i], shared)) << "job " << i;
    }
  }
}

TEST_P(RunBatchTest, SigintStopsAStagedBatch) {
  std::vector<Bytes> jobs = interrupted_jobs(GetParam().backend);
  BatchReport report = run(options(2), jobs, {}, staged_run_job());
  expect_interrupted_by_sigint(report, jobs);
}

TEST_P(RunBatchTest, ThrowingJobFailsWithItsMessageAndIsNotRetried) {
  std::vector<Bytes> jobs = make_jobs(10);
  jobs[4] = make_job(4, Action::throw_error);
  BatchReport report = run(options(), jobs);
  EXPECT_EQ(report.count(JobStatus::done), 9u);
  const JobResult& bad = report.results[4];
  EXPECT_EQ(bad.status, JobStatus::failed);
  EXPECT_EQ(bad.error, "job 4 refused");
  EXPECT_EQ(bad.attempts, 1u);
  EXPECT_TRUE(bad.output.empty());
  EXPECT_EQ(report.workers_replaced, 0u);
}

// worker_init sets up a process (library thread counts): it runs once in each process that
// runs jobs, before the first of them — in each worker process, or once in this process for
// serial and threads, whose workers are this process's threads.
TEST_P(RunBatchTest, WorkerInitRunsOnceInEveryProcessThatRunsJobs) {
  SharedArena arena(4096);
  job_settings().arena = &arena;
  job_settings().arena_slots = 0;
  job_settings().batch_id = 7;
  new (&init_counter()) std::atomic<int>(0);

  ExecutorOptions o = options(2);
  o.worker_init = counting_init;
  std::vector<Bytes> jobs = make_jobs(20, Action::report_init);
  BatchReport report = run(o, jobs);
  ASSERT_EQ(report.count(JobStatus::done), jobs.size());
  for (const JobResult& r : report.results)
    EXPECT_EQ(r.output, Bytes{std::byte{1}}) << "job " << r.index << " ran before worker_init";
  const bool processes = GetParam().backend == Backend::processes;
  EXPECT_EQ(init_counter().load(),
            processes ? static_cast<int>(report.workers + report.workers_replaced) : 1);
}

TEST_P(RunBatchTest, FailingWorkerInitFailsTheBatch) {
  ExecutorOptions o = options(2);
  o.worker_init = [] { throw std::runtime_error("no GPU here"); };
  std::vector<Bytes> jobs = make_jobs(4);
  try {
    (void)run_batch(o, jobs, run_job);
    FAIL() << "run_batch returned";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no GPU here"), std::string::npos) << e.what();
  }
}

TEST_P(RunBatchTest, WorkersWriteSharedArenaTheCallerReads) {
  constexpr std::size_t kJobs = 40;
  SharedArena arena(kJobs * sizeof(std::uint64_t) + 64);
  std::size_t slots = arena.allocate(kJobs * sizeof(std::uint64_t));
  ASSERT_EQ(slots, 0u);
  job_settings().arena = &arena;
  job_settings().arena_slots = kJobs;
  BatchReport report = run(options(2), make_jobs(kJobs, Action::write_arena));
  ASSERT_EQ(report.count(JobStatus::done), kJobs);
  for (std::size_t i = 0; i < kJobs; ++i) EXPECT_EQ(arena.as<std::uint64_t>(0)[i], i * 3);
}

TEST_P(RunBatchTest, SigintStopsTheBatchAndRestoresSignalHandling) {
  struct sigaction before {};
  ::sigaction(SIGINT, nullptr, &before);
  sigset_t mask_before;
  ::pthread_sigmask(SIG_SETMASK, nullptr, &mask_before);

  // The job that interrupts comes early; the jobs after it are slow enough that the batch
  // cannot finish them all before the signal is handled.
  std::vector<Bytes> jobs = interrupted_jobs(GetParam().backend);
  BatchReport report = run(options(2), jobs);
  expect_interrupted_by_sigint(report, jobs);
  if (GetParam().backend == Backend::processes) {
    EXPECT_EQ(report.results[3].status, JobStatus::cancelled);
  }

  struct sigaction after {};
  ::sigaction(SIGINT, nullptr, &after);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
  sigset_t mask_after;
  ::pthread_sigmask(SIG_SETMASK, nullptr, &mask_after);
  EXPECT_EQ(sigismember(&mask_after, SIGINT), sigismember(&mask_before, SIGINT));
  EXPECT_EQ(sigismember(&mask_after, SIGTERM), sigismember(&mask_before, SIGTERM));
}

// Only a process can be stopped in the middle of a job: threads and serial refuse a timeout
// rather than promise one they cannot keep. On processes, one longer than every job changes
// nothing.
TEST_P(RunBatchTest, JobTimeoutIsKeptOnProcessesAndRefusedElsewhere) {
  ExecutorOptions o = options(2);
  o.job_timeout = std::chrono::seconds(60);
  std::vector<Bytes> jobs = make_jobs(20, Action::sleep_then_compute);
  EXPECT_EQ(stops_running_jobs(o), GetParam().backend == Backend::processes);
  if (GetParam().backend != Backend::processes) {
    EXPECT_THROW((void)run_batch(o, jobs, run_job), std::invalid_argument);
    return;
  }
  BatchReport report = run(o, jobs);
  ASSERT_EQ(report.count(JobStatus::done), jobs.size());
  for (const JobResult& r : report.results) EXPECT_EQ(r.attempts, 1u);
  EXPECT_EQ(report.workers_replaced, 0u);
}

// A timeout so long that a deadline built from it would overflow steady_clock is a mistake.
TEST_P(RunBatchTest, JobTimeoutOverAYearIsRefused) {
  ExecutorOptions o = options(2);
  o.job_timeout = std::chrono::hours(24 * 367);
  EXPECT_THROW((void)run_batch(o, make_jobs(2), run_job), std::invalid_argument);
}

// What callers ask instead of looking at Backend and Transport. Workers that share memory
// with the caller see what it put in a SharedArena and write what it reads there.
TEST_P(RunBatchTest, ExecutorAnswersWhatDiffersBetweenBackends) {
  const Executor executor(options(3));
  const Config c = GetParam();
  EXPECT_TRUE(executor.is_coordinator());
  EXPECT_EQ(executor.workers(), c.backend == Backend::serial ? 1u : 3u);
  EXPECT_EQ(executor.shares_memory(),
            c.backend != Backend::processes || c.transport == ipc::Transport::shm);
  EXPECT_EQ(executor.shares_address_space(), c.backend != Backend::processes);
  ExecutorOptions all_cores = options(0);
  EXPECT_EQ(Executor(all_cores).options().workers, available_cores());

  if (!executor.shares_memory()) return;
  constexpr std::size_t kJobs = 12;
  SharedArena arena(kJobs * sizeof(std::uint64_t) + 64);
  (void)arena.allocate(kJobs * sizeof(std::uint64_t));
  job_settings().arena = &arena;
  job_settings().arena_slots = kJobs;
  BatchReport report = executor.run(make_jobs(kJobs, Action::write_arena), run_job);
  ASSERT_EQ(report.count(JobStatus::done), kJobs);
  for (std::size_t i = 0; i < kJobs; ++i) EXPECT_EQ(arena.as<std::uint64_t>(0)[i], i * 3);
}

// Workers that are threads write this process's private memory in place; forked workers
// write their own copy of it, which the caller never sees. Both read what was there before.
TEST_P(RunBatchTest, PrivateMemoryReachesOnlyWorkersThatShareTheAddressSpace) {
  const Executor executor(options(2));
  constexpr std::size_t kJobs = 6;
  std::vector<std::uint64_t> slots(kJobs, 5);
  std::vector<Bytes> jobs;
  for (std::uint64_t i = 0; i < kJobs; ++i) {
    jobs.emplace_back(sizeof i);
    std::memcpy(jobs.back().data(), &i, sizeof i);
  }
  JobFunction write_slot = [&slots](std::span<const std::byte> input, const WorkerContext&) {
    std::uint64_t index = 0;
    std::memcpy(&index, input.data(), sizeof index);
    const std::uint64_t before = slots.at(index);
    slots[index] = index * 3;
    Bytes out(sizeof before);
    std::memcpy(out.data(), &before, sizeof before);
    return out;
  };
  BatchReport report = executor.run(jobs, write_slot);
  ASSERT_EQ(report.count(JobStatus::done), kJobs);
  for (std::size_t i = 0; i < kJobs; ++i) {
    std::uint64_t before = 0;
    ASSERT_EQ(report.results[i].output.size(), sizeof before);
    std::memcpy(&before, report.results[i].output.data(), sizeof before);
    EXPECT_EQ(before, 5u);
    EXPECT_EQ(slots[i], executor.shares_address_space() ? i * 3 : 5u);
  }
}

// Start-up is how long the workers took to start: none start on serial; forked processes and
// pool threads take some time, for plain and staged jobs alike.
TEST_P(RunBatchTest, StartupIsReportedWhereWorkersStart) {
  const bool has_workers = GetParam().backend != Backend::serial;
  BatchReport plain = run(options(2), make_jobs(6));
  BatchReport staged = run(options(2), make_jobs(6), {}, staged_run_job());
  for (const BatchReport* report : {&plain, &staged}) {
    ASSERT_EQ(report->count(JobStatus::done), 6u);
    if (has_workers) EXPECT_GT(report->startup.count(), 0);
    else EXPECT_EQ(report->startup.count(), 0);
  }
}

TEST_P(RunBatchTest, EmptyBatchReturnsAnEmptyReport) {
  BatchReport report = run(options(), {});
  EXPECT_TRUE(report.results.empty());
  EXPECT_FALSE(report.interrupted);
}

INSTANTIATE_TEST_SUITE_P(Backends, RunBatchTest, ::testing::ValuesIn(all_configs()), config_name);

}  // namespace
}  // namespace forkpool::testing
