// What only the process pool does: a worker that dies is noticed, replaced, and its job
// retried a bounded number of times, on every transport.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <csignal>
#include <string>
#include <thread>

#include "common/leak_check.hpp"
#include "forkpool/exec/executor.hpp"
#include "forkpool/exec/worker_scratch.hpp"
#include "job_kit.hpp"

namespace forkpool::testing {
namespace {

class ProcessPoolTest : public LeakCheckedTest, public ::testing::WithParamInterface<ipc::Transport> {
 protected:
  void SetUp() override {
    if (!transport_available(GetParam()))
      GTEST_SKIP() << "transport " << to_string(GetParam()) << " not built yet";
    LeakCheckedTest::SetUp();
    job_settings() = JobSettings{};
    job_settings().marker_dir = markers_.path();
  }
  void TearDown() override {
    if (!IsSkipped()) LeakCheckedTest::TearDown();
  }

  ExecutorOptions options(unsigned workers = 2, unsigned max_retries = 1) const {
    ExecutorOptions o;
    o.backend = Backend::processes;
    o.transport = GetParam();
    o.workers = workers;
    o.prefetch = 3;
    o.max_retries = max_retries;
    return o;
  }

  TempDir markers_;
};

TEST_P(ProcessPoolTest, KilledWorkerIsReplacedAndEveryResultArrivesOnce) {
  std::vector<Bytes> jobs = make_jobs(30);
  jobs[7] = make_job(7, Action::kill_self_once);
  std::vector<int> seen(jobs.size(), 0);
  BatchReport report = run_batch(options(), jobs, run_job, {},
                                 [&](const JobResult& r) { ++seen[r.index]; });

  EXPECT_FALSE(report.interrupted);
  ASSERT_EQ(report.count(JobStatus::done), jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_EQ(seen[i], 1) << "job " << i;
    EXPECT_EQ(report.results[i].output, expected_output(jobs[i], {})) << "job " << i;
    // Only the job that was running is charged; jobs queued behind it in the dead worker
    // start afresh.
    EXPECT_EQ(report.results[i].attempts, i == 7 ? 2u : 1u) << "job " << i;
  }
  EXPECT_EQ(report.workers_replaced, 1u);
}

TEST_P(ProcessPoolTest, JobThatAlwaysCrashesFailsWithTheSignalName) {
  std::vector<Bytes> jobs = make_jobs(12);
  jobs[3] = make_job(3, Action::segv_always);
  BatchReport report = run_batch(options(), jobs, run_job);

  const JobResult& crashed = report.results[3];
  EXPECT_EQ(crashed.status, JobStatus::failed);
  EXPECT_EQ(crashed.error, "worker killed by SIGSEGV");
  EXPECT_EQ(crashed.attempts, 2u);
  EXPECT_EQ(report.count(JobStatus::done), jobs.size() - 1);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (i != 3) {
      EXPECT_EQ(report.results[i].attempts, 1u) << "job " << i;
    }
  }
  // The second death is replaced only if jobs are still waiting then.
  EXPECT_GE(report.workers_replaced, 1u);
  EXPECT_LE(report.workers_replaced, 2u);
}

TEST_P(ProcessPoolTest, RetriesFollowMaxRetries) {
  for (unsigned retries : {0u, 3u}) {
    std::vector<Bytes> jobs = make_jobs(4);
    jobs[1] = make_job(1, Action::segv_always);
    BatchReport report = run_batch(options(2, retries), jobs, run_job);
    EXPECT_EQ(report.results[1].status, JobStatus::failed);
    EXPECT_EQ(report.results[1].attempts, retries + 1);
    EXPECT_EQ(report.count(JobStatus::done), 3u);
  }
}

TEST_P(ProcessPoolTest, BatchWhereEveryJobCrashesEnds) {
  std::vector<Bytes> jobs = make_jobs(6, Action::segv_always);
  BatchReport report = run_batch(options(2, 1), jobs, run_job);
  EXPECT_EQ(report.count(JobStatus::failed), jobs.size());
  for (const JobResult& r : report.results) EXPECT_EQ(r.error, "worker killed by SIGSEGV");
}

TEST_P(ProcessPoolTest, WorkerIndexIsStableAndInRange) {
  std::vector<unsigned> index_of_job;
  auto fn = [](std::span<const std::byte>, const WorkerContext& c) {
    return Bytes{static_cast<std::byte>(c.worker_index)};
  };
  std::vector<Bytes> jobs = make_jobs(20);
  BatchReport report = run_batch(options(3), jobs, fn);
  ASSERT_EQ(report.count(JobStatus::done), jobs.size());
  for (const JobResult& r : report.results) {
    ASSERT_EQ(r.output.size(), 1u);
    EXPECT_LT(static_cast<unsigned>(r.output[0]), 3u);
  }
}

// A job's view of its worker's scratch: the worker's index, the scratch's first byte and
// whether every byte is that one (0 and 0 for none). It then writes all of it (0xee): the
// worker's own to write. Job `kill_at` kills its worker once, as it starts.
JobFunction scratch_probe(std::string killed, std::uint8_t kill_at = 0xff) {
  return [killed, kill_at](std::span<const std::byte> input, const WorkerContext& c) {
    if (input.size() == 1 && input[0] == std::byte{kill_at} && ::access(killed.c_str(), F_OK) != 0) {
      ::close(::open(killed.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
      ::raise(SIGKILL);
    }
    std::byte first = c.scratch.empty() ? std::byte{0} : c.scratch.front();
    bool same = !c.scratch.empty() &&
                std::all_of(c.scratch.begin(), c.scratch.end(), [&](std::byte b) { return b == first; });
    std::memset(c.scratch.data(), 0xee, c.scratch.size());
    return Bytes{static_cast<std::byte>(c.worker_index), first, std::byte{same}};
  };
}

std::vector<Bytes> numbered_jobs(std::uint8_t count) {
  std::vector<Bytes> jobs;
  for (std::uint8_t i = 0; i < count; ++i) jobs.push_back(Bytes{std::byte{i}});
  return jobs;
}

// Each worker gets its slot's region of the scratch, with what the coordinator wrote there.
TEST_P(ProcessPoolTest, EachWorkerGetsItsOwnScratch) {
  WorkerScratch scratch(2, 1 << 20);
  for (unsigned w = 0; w < 2; ++w)
    std::memset(scratch.region(w).data(), static_cast<int>(w + 1), scratch.region(w).size());
  ExecutorOptions o = options(2);
  o.scratch = &scratch;
  std::vector<Bytes> jobs = numbered_jobs(12);
  BatchReport report = run_batch(o, jobs, scratch_probe((markers_.path() / "killed").string()));

  ASSERT_EQ(report.count(JobStatus::done), jobs.size());
  unsigned firsts = 0;
  for (const JobResult& r : report.results) {
    ASSERT_EQ(r.output.size(), 3u);
    if (r.output[1] == std::byte{0xee}) continue;  // a later job of its worker
    ++firsts;
    EXPECT_EQ(r.output[1], static_cast<std::byte>(static_cast<unsigned>(r.output[0]) + 1))
        << "job " << r.index;
    EXPECT_EQ(r.output[2], std::byte{1}) << "job " << r.index;
  }
  EXPECT_EQ(firsts, report.workers);
  // Handed over: the coordinator holds none of it any more.
  EXPECT_TRUE(scratch.region(0).empty());
  EXPECT_TRUE(scratch.region(1).empty());
}

// The coordinator let go of a slot's region at its first fork: a replacement gets none.
TEST_P(ProcessPoolTest, AReplacementWorkerGetsNoScratch) {
  WorkerScratch scratch(1, 1 << 20);
  std::memset(scratch.region(0).data(), 1, scratch.region(0).size());
  ExecutorOptions o = options(1);
  o.scratch = &scratch;
  std::vector<Bytes> jobs = numbered_jobs(8);
  BatchReport report = run_batch(o, jobs, scratch_probe((markers_.path() / "killed").string(), 5));

  ASSERT_EQ(report.count(JobStatus::done), jobs.size());
  EXPECT_EQ(report.workers_replaced, 1u);
  EXPECT_EQ(report.results[0].output[1], std::byte{1});
  for (std::size_t i = 5; i < jobs.size(); ++i) EXPECT_EQ(report.results[i].output[1], std::byte{0}) << "job " << i;
}

// A worker that has finished the only job it had gets its next one before the caller's
// on_result runs: a slow callback (matmul samples the pool's memory there) leaves no worker idle.
TEST_P(ProcessPoolTest, IdleWorkerGetsItsNextJobBeforeTheResultCallbackRuns) {
  ExecutorOptions o = options(1);
  o.prefetch = 1;
  const std::string started = (markers_.path() / "second job started").string();
  auto fn = [started](std::span<const std::byte> input, const WorkerContext&) {
    if (input.size() == 1 && input[0] == std::byte{1})
      ::close(::open(started.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    return Bytes{};
  };
  std::vector<Bytes> jobs{Bytes{std::byte{0}}, Bytes{std::byte{1}}};
  bool started_during_callback = false;
  BatchReport report = run_batch(o, jobs, fn, {}, [&](const JobResult& r) {
    for (int i = 0; r.index == 0 && i < 500 && !started_during_callback; ++i) {  // up to 5 s
      started_during_callback = ::access(started.c_str(), F_OK) == 0;
      if (!started_during_callback) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  EXPECT_EQ(report.count(JobStatus::done), jobs.size());
  EXPECT_TRUE(started_during_callback);
}

// Deep prefetch with results larger than any channel's buffer: the coordinator must never
// block sending to a worker that is blocked sending back.
TEST_P(ProcessPoolTest, DeepPrefetchWithLargeResultsDoesNotDeadlock) {
  ExecutorOptions o = options(2);
  o.prefetch = 8;
  std::vector<Bytes> jobs = make_jobs(40, Action::big_output);
  BatchReport report = run_batch(o, jobs, run_job);
  ASSERT_EQ(report.count(JobStatus::done), jobs.size());
  for (const JobResult& r : report.results)
    EXPECT_EQ(r.output, Bytes(256 * 1024, static_cast<std::byte>(r.index & 0xff)));
}

// A result over max_result_bytes fails its own job with the sizes, and only that job: the
// worker is not killed for it, and a shared input over the limit is still carried.
TEST_P(ProcessPoolTest, ResultOverTheLimitFailsOnlyItsJob) {
  ExecutorOptions o = options(2);
  o.max_result_bytes = 100 * 1024;
  std::vector<Bytes> jobs = make_jobs(10);
  jobs[4] = make_job(4, Action::big_output);
  const Bytes shared(300 * 1024, std::byte{7});
  BatchReport report = run_batch(o, jobs, run_job, shared);

  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const JobResult& r = report.results[i];
    if (i == 4) {
      EXPECT_EQ(r.status, JobStatus::failed);
      EXPECT_EQ(r.error, "result of 262144 bytes is over the limit of 102400 bytes");
      EXPECT_EQ(r.attempts, 1u);
    } else {
      EXPECT_EQ(r.status, JobStatus::done) << "job " << i << ": " << r.error;
    }
  }
  EXPECT_EQ(report.workers_replaced, 0u);
}

// Workers that die before they get to any job (here: in worker_init, every time, before they
// read a shared input too large for any channel buffer, so no job is ever sent to them) are not
// replaced for ever: the batch ends with every job failed and the reason, and returns its report.
TEST_P(ProcessPoolTest, WorkersThatAlwaysDieBeforeTheirFirstJobEndTheBatchWithAReport) {
  ExecutorOptions o = options(2);
  o.worker_init = [] { ::raise(SIGKILL); };
  std::vector<std::string> warnings;
  o.on_warning = [&](const std::string& line) { warnings.push_back(line); };
  std::vector<Bytes> jobs = make_jobs(6);
  const Bytes shared(16 << 20, std::byte{1});
  BatchReport report = run_batch(o, jobs, run_job, shared);

  EXPECT_FALSE(report.interrupted);
  ASSERT_EQ(report.results.size(), jobs.size());
  for (const JobResult& r : report.results) {
    EXPECT_EQ(r.status, JobStatus::failed);
    EXPECT_EQ(r.error, "not run, no worker left: workers die before their first job "
                       "(worker killed by SIGKILL)");
  }
  EXPECT_EQ(report.workers_lost, 2u);
  ASSERT_FALSE(warnings.empty());
  EXPECT_TRUE(warnings.back().starts_with("no worker left: workers die before their first job"))
      << warnings.back();
}

// A worker stopped (SIGSTOP) before it has read a shared input larger than any channel buffer
// holds the coordinator in that send; with a job timeout the send gives up after as long as a
// job gets, the worker is replaced, and the batch ends.
TEST_P(ProcessPoolTest, WorkerStoppedBeforeReadingTheSharedInputIsReplaced) {
  ExecutorOptions o = options(1);
  // Long enough that a fresh worker reads the input and runs a job in time on a loaded machine
  // under ThreadSanitizer (2 s was not: a job timed out twice there and failed).
  o.job_timeout = std::chrono::seconds(10);
  const std::string marker = (markers_.path() / "stopped").string();
  o.worker_init = [marker] {
    int fd = ::open(marker.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) return;  // a later worker: reads as usual
    ::close(fd);
    ::raise(SIGSTOP);
  };
  std::vector<Bytes> jobs = make_jobs(4);
  const Bytes shared(16 << 20, std::byte{3});
  BatchReport report = run_batch(o, jobs, run_job, shared);

  ASSERT_EQ(report.count(JobStatus::done), jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i)
    EXPECT_EQ(report.results[i].output, expected_output(jobs[i], shared)) << "job " << i;
  EXPECT_GE(report.workers_replaced, 1u);
}

TEST_P(ProcessPoolTest, SigtermEndsTheWorkersAndReturnsWhatFinished) {
  std::vector<Bytes> jobs = make_jobs(500, Action::sleep_then_compute);
  jobs[2] = make_job(2, Action::terminate_parent);
  std::vector<int> seen(jobs.size(), 0);
  BatchReport report = run_batch(options(), jobs, run_job, {},
                                 [&](const JobResult& r) { ++seen[r.index]; });
  EXPECT_TRUE(report.interrupted);
  EXPECT_EQ(report.interrupt_signal, SIGTERM);
  EXPECT_EQ(report.results[2].status, JobStatus::cancelled);
  EXPECT_EQ(report.count(JobStatus::failed), 0u);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    bool done = report.results[i].status == JobStatus::done;
    EXPECT_EQ(seen[i], done ? 1 : 0) << "job " << i;
    if (done) {
      EXPECT_EQ(report.results[i].output, expected_output(jobs[i], {})) << "job " << i;
    }
  }
}

// A SIGSTOPped worker never dies and never answers: only the watchdog ends its job. The jobs
// queued behind it in that worker never started, so they go to the other worker free of charge.
TEST_P(ProcessPoolTest, StoppedWorkerIsKilledAndItsJobsGoToOthers) {
  ExecutorOptions o = options(2);
  o.job_timeout = std::chrono::seconds(2);
  std::vector<Bytes> jobs = make_jobs(30);
  jobs[0] = make_job(0, Action::stop_self_once);
  std::vector<int> seen(jobs.size(), 0);
  BatchReport report = run_batch(o, jobs, run_job, {}, [&](const JobResult& r) { ++seen[r.index]; });

  ASSERT_EQ(report.count(JobStatus::done), jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_EQ(seen[i], 1) << "job " << i;
    EXPECT_EQ(report.results[i].output, expected_output(jobs[i], {})) << "job " << i;
    EXPECT_EQ(report.results[i].attempts, i == 0 ? 2u : 1u) << "job " << i;
  }
  EXPECT_GE(report.workers_replaced, 1u);
}

TEST_P(ProcessPoolTest, JobThatNeverEndsFailsAsTimedOutAndTheRestAreDone) {
  ExecutorOptions o = options(2, 1);
  o.job_timeout = std::chrono::milliseconds(1000);
  std::vector<Bytes> jobs = make_jobs(8);
  jobs[2] = make_job(2, Action::hang_always);
  BatchReport report = run_batch(o, jobs, run_job);

  const JobResult& hung = report.results[2];
  EXPECT_EQ(hung.status, JobStatus::failed);
  EXPECT_EQ(hung.error, "timed out after 1 s");
  EXPECT_EQ(hung.attempts, 2u);
  EXPECT_EQ(report.count(JobStatus::done), jobs.size() - 1);
}

INSTANTIATE_TEST_SUITE_P(Transports, ProcessPoolTest, ::testing::ValuesIn(ipc::kAllTransports),
                         [](const auto& info) { return std::string(to_string(info.param)); });

// A worker whose reply is not well formed, or not the one it owes, is treated like a crashed
// one: killed, replaced, its job retried, and nothing it sent after the bad reply is believed.
// The jobs write their garbage into the reply pipe, so this runs on the pipe transport.
class MalformedReplyTest : public LeakCheckedTest, public ::testing::WithParamInterface<Garbage> {
 protected:
  void SetUp() override {
    LeakCheckedTest::SetUp();
    job_settings() = JobSettings{};
    job_settings().marker_dir = markers_.path();
    job_settings().foreign_fds = open_fds();
  }
  static ExecutorOptions options() {
    ExecutorOptions o;
    o.backend = Backend::processes;
    o.transport = ipc::Transport::pipe;
    o.workers = 2;
    o.prefetch = 3;
    return o;
  }
  TempDir markers_;
};

TEST_P(MalformedReplyTest, WorkerIsReplacedAndItsJobRetried) {
  std::vector<Bytes> jobs = make_jobs(12);
  jobs[4] = make_malformed_job(4, GetParam());
  std::vector<int> seen(jobs.size(), 0);
  BatchReport report = run_batch(options(), jobs, run_job, {},
                                 [&](const JobResult& r) { ++seen[r.index]; });

  ASSERT_EQ(report.count(JobStatus::done), jobs.size()) << report.results[4].error;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_EQ(seen[i], 1) << "job " << i;
    EXPECT_EQ(report.results[i].output, expected_output(jobs[i], {})) << "job " << i;
    EXPECT_EQ(report.results[i].attempts, i == 4 ? 2u : 1u) << "job " << i;
  }
  EXPECT_EQ(report.workers_replaced, 1u);
}

TEST_P(MalformedReplyTest, JobWhoseWorkerAlwaysSendsGarbageFailsWithTheReason) {
  std::vector<Bytes> jobs = make_jobs(6);
  jobs[1] = make_malformed_job(1, GetParam(), /*always=*/true);
  BatchReport report = run_batch(options(), jobs, run_job);

  const JobResult& bad = report.results[1];
  EXPECT_EQ(bad.status, JobStatus::failed);
  EXPECT_TRUE(bad.error.starts_with("worker sent a malformed reply: ")) << bad.error;
  EXPECT_EQ(bad.attempts, 2u);
  EXPECT_EQ(report.count(JobStatus::done), jobs.size() - 1);
}

INSTANTIATE_TEST_SUITE_P(Garbage, MalformedReplyTest, ::testing::ValuesIn(kAllGarbage),
                         [](const auto& info) {
                           switch (info.param) {
                             case Garbage::short_message: return std::string("short_message");
                             case Garbage::stray_index: return std::string("stray_index");
                             case Garbage::unknown_kind: return std::string("unknown_kind");
                             case Garbage::reserved_nonzero: return std::string("reserved_nonzero");
                           }
                           return std::string("unknown");
                         });

}  // namespace
}  // namespace forkpool::testing
