#pragma once
// Run a batch of jobs on serial, thread-pool or process-pool workers and collect the results.
//
// Jobs and results are plain bytes so that any backend — threads, forked processes, and later
// MPI ranks on other machines — can carry them. Data too large to send per job belongs in a
// SharedArena (see shared_arena.hpp), which a backend may offer as an optimisation.

#include <chrono>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <optional>
#include <vector>

#include "forkpool/ipc/channel.hpp"

namespace forkpool {

using Bytes = ipc::Bytes;

enum class Backend { serial, threads, processes };
std::string_view to_string(Backend b) noexcept;
std::optional<Backend> parse_backend(std::string_view name) noexcept;

// The number of CPUs this process may run on (sched_getaffinity), at least 1.
unsigned available_cores() noexcept;

// What a job function sees besides its own input. Valid for the duration of the call.
struct WorkerContext {
  unsigned worker_index = 0;                 // 0..workers-1, stable for a worker's life
  std::span<const std::byte> shared_input;   // the batch's shared input, delivered once per worker
};

// Runs one job. Called in a worker: a forked process (processes), a pool thread (threads) or
// the calling thread (serial); it must not rely on which. A thrown exception fails that job
// with the exception's message; it is not retried (it would throw again).
using JobFunction = std::function<Bytes(std::span<const std::byte> input, const WorkerContext&)>;

enum class JobStatus {
  done,       // output holds the job's result
  failed,     // error says why: an exception's message, "worker killed by SIGKILL",
              // "timed out after 60 s", "worker sent a malformed reply: ...",
              // "not run, no worker left: fork: ..."
  cancelled,  // never finished because the batch was interrupted (SIGINT/SIGTERM)
};
std::string_view to_string(JobStatus s) noexcept;

struct JobResult {
  std::size_t index = 0;  // position of the job in the batch
  JobStatus status = JobStatus::cancelled;
  Bytes output;
  std::string error;
  unsigned attempts = 0;  // how many times a worker started it
};

struct ExecutorOptions {
  Backend backend = Backend::processes;
  unsigned workers = 0;                              // 0: available_cores()
  ipc::Transport transport = ipc::Transport::shm;    // processes only
  unsigned prefetch = 2;                             // jobs in flight per worker (processes)
  unsigned max_retries = 1;                          // retries of a job whose worker died
  // processes: a job still running after this long (its worker stuck, looping, or stopped by
  // SIGSTOP) has its worker killed (SIGKILL) and replaced; the job is retried like one whose
  // worker died, then fails with "timed out after N s". Jobs queued behind it in that worker
  // never started: they go to other workers without using a retry. Zero: no limit.
  // threads and serial cannot stop a running job, so run_batch refuses a non-zero timeout there
  // (std::invalid_argument) rather than promise what it cannot keep. At most a year.
  std::chrono::milliseconds job_timeout{0};
  // processes: the largest result a job may send back, in bytes. A larger one fails that job
  // ("result of N bytes is over the limit of M bytes"), is not retried, and the worker goes on;
  // it also bounds what a corrupted worker can make the coordinator allocate. Jobs and the
  // shared input are never refused for their size: the channels are sized to carry them.
  // threads and serial hand results over in place and do not check it.
  std::size_t max_result_bytes = ipc::kDefaultMaxMessageBytes;
  // Runs once in every worker before its first job (and in each replacement worker): the place
  // to make OpenCV/Eigen single-threaded. Runs in the child process for the processes backend.
  std::function<void()> worker_init;
  // Called on the thread that called run_batch() when the batch goes on in a lesser way than
  // asked — a worker could not be started or replaced (fork: EAGAIN or ENOMEM, EMFILE, ...), so
  // the pool shrinks — with one line for the user. The report records the same (workers_lost).
  std::function<void(const std::string&)> on_warning;
};

struct BatchReport {
  std::vector<JobResult> results;  // one per job, in job order, each exactly once
  bool interrupted = false;        // SIGINT/SIGTERM arrived; unfinished jobs are `cancelled`
  int interrupt_signal = 0;        // which signal, when interrupted
  unsigned workers = 0;            // workers used (processes: those that started)
  unsigned workers_replaced = 0;   // worker processes that died and were replaced
  // processes: workers that could not be started, or not replaced when they died; the batch went
  // on without them. When none was left, the jobs not yet done failed ("not run, ...").
  unsigned workers_lost = 0;
  std::string worker_error;        // why the first of them could not be started
  [[nodiscard]] std::size_t count(JobStatus s) const noexcept;
};

// Called on the thread that called run_batch(), once per job as it ends (any status but
// cancelled), in completion order. For progress bars and streaming reports.
using ResultCallback = std::function<void(const JobResult&)>;

// Runs every job of `jobs` with `fn` on the backend `options` choose and returns when all have
// ended or the batch was interrupted. Thread: any, one batch at a time per process.
// processes: forks the workers itself, so call it before this process starts any thread pool.
// When not a single worker can be started it throws std::runtime_error("cannot start workers:
// ..."); when some can, the batch goes on with those (see on_warning).
// While it runs, SIGINT and SIGTERM interrupt the batch instead of killing the process.
BatchReport run_batch(const ExecutorOptions& options, std::span<const Bytes> jobs,
                      const JobFunction& fn, std::span<const std::byte> shared_input = {},
                      const ResultCallback& on_result = {});

}  // namespace forkpool
