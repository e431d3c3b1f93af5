#pragma once
// Run a batch of jobs on serial, thread-pool, process-pool or MPI workers and collect the results.
//
// The executor is the only part of forkpool that knows backends. A caller describes its work
// once — a JobFunction, or JobStages (read -> compute -> write) that the threads backend runs
// as a pipeline — and asks an Executor what differs between backends (workers(),
// shares_memory(), is_coordinator()) instead of looking at Backend or Transport.
//
// Jobs and results are plain bytes so that any backend — threads, forked processes, and
// MPI ranks on other machines — can carry them (typed_batch.hpp puts types on them). Data too
// large to send per job goes once per worker as the batch's shared input, which the executor
// delivers; where shares_memory() says so, workers may instead reach a SharedArena
// (shared_arena.hpp) of the caller in place, an optimisation a backend may not have.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <optional>
#include <utility>
#include <vector>

#include "forkpool/ipc/channel.hpp"

namespace forkpool {

class WorkerScratch;

using Bytes = ipc::Bytes;

// mpi: Open MPI ranks started by mpirun, on one machine or many (mpi_backend.cpp); a build
// without MPI knows the name and refuses it when an Executor is made.
enum class Backend { serial, threads, processes, mpi };
inline constexpr Backend kAllBackends[] = {Backend::processes, Backend::threads, Backend::serial,
                                           Backend::mpi};
std::string_view to_string(Backend b) noexcept;
std::optional<Backend> parse_backend(std::string_view name) noexcept;

// The number of CPUs this process may run on (sched_getaffinity), at least 1.
unsigned available_cores() noexcept;

// What a job function sees besides its own input. Valid for the duration of the call.
struct WorkerContext {
  // 0..workers-1: a worker process's or pool thread's number, stable for its life (threads
  // running JobStages: the pool thread's slot in the arena).
  unsigned worker_index = 0;
  std::span<const std::byte> shared_input;   // the batch's shared input, delivered once per worker
  // This worker's region of the batch's WorkerScratch (ExecutorOptions::scratch); empty where
  // there is none, and in mpi's ranks, which are not forked from the coordinator.
  std::span<std::byte> scratch;
};

// Runs one job. Called in a worker: a forked process (processes), a pool thread (threads) or
// the calling thread (serial); it must not rely on which. A thrown exception fails that job
// with the exception's message; it is not retried (it would throw again).
using JobFunction = std::function<Bytes(std::span<const std::byte> input, const WorkerContext&)>;

// What one job carries from stage to stage: whatever its read stage made.
using StageState = std::shared_ptr<void>;

// A job in three stages, for work that reads, computes and writes (an image: decode, ops,
// encode and save). One description for every backend: the threads backend runs the stages as
// a oneTBB parallel_pipeline, so that one thread's reading overlaps another's computing;
// every other backend runs read, compute and write one after the other in the worker that
// took the job, which is what JobFunction does. Each stage is called like a JobFunction (any
// worker, any thread; a throw fails the job with its message and skips its later stages), and
// the stages of one job run one after the other, never at once, though maybe on different
// threads: the state must not be tied to a thread. make_stages() gives the state a type.
struct JobStages {
  std::function<StageState(std::span<const std::byte> input, const WorkerContext&)> read;
  std::function<void(StageState& state, const WorkerContext&)> compute;  // may be empty
  std::function<Bytes(StageState& state, const WorkerContext&)> write;   // the job's output
};

// JobStages whose state is a State: read(input, context) -> State,
// compute(State&, context), write(State&, context) -> Bytes.
template <class State, class Read, class Compute, class Write>
JobStages make_stages(Read read, Compute compute, Write write) {
  JobStages stages;
  stages.read = [read = std::move(read)](std::span<const std::byte> input,
                                         const WorkerContext& context) -> StageState {
    return std::make_shared<State>(read(input, context));
  };
  stages.compute = [compute = std::move(compute)](StageState& state, const WorkerContext& context) {
    compute(*static_cast<State*>(state.get()), context);
  };
  stages.write = [write = std::move(write)](StageState& state, const WorkerContext& context) -> Bytes {
    return write(*static_cast<State*>(state.get()), context);
  };
  return stages;
}

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
  // Which worker ran its last attempt, 0..workers-1: processes, the worker's slot (a
  // replacement takes the slot of the one it replaced); threads, the WorkerContext index of
  // the thread that ended it (staged jobs: the one that ran its last stage); serial, 0; mpi,
  // the rank less 1. For a log of who did what, not for placing work.
  unsigned worker = 0;
};

struct ExecutorOptions {
  Backend backend = Backend::processes;
  unsigned workers = 0;                              // 0: available_cores()
  ipc::Transport transport = ipc::Transport::shm;    // processes only
  // processes: jobs in flight per worker, at least; jobs that take well under a millisecond get
  // a deeper queue (about 4 ms of them, up to 64), so a worker does not sleep between them.
  unsigned prefetch = 2;
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
  // Runs once in every process that runs jobs, before the first job runs there: the place to
  // make OpenCV, Eigen or BLAS single-threaded, which are settings of a process. processes: in
  // each worker process (replacements included); serial and threads, whose workers are this
  // process: once, on the thread that called run(), before any worker starts. A throw fails
  // the whole batch (run() throws std::runtime_error with its message).
  std::function<void()> worker_init;
  // Called on the thread that called run() when the batch goes on in a lesser way than
  // asked — a worker could not be started or replaced (fork: EAGAIN or ENOMEM, EMFILE, ...), so
  // the pool shrinks — with one line for the user. The report records the same (workers_lost).
  std::function<void(const std::string&)> on_warning;
  // Memory made ready for the workers to write (worker_scratch.hpp), one region per worker
  // slot, given to each in WorkerContext::scratch: processes, handed over at fork; threads
  // and serial, in place. Not owned: it must outlive run(). Null: none.
  WorkerScratch* scratch = nullptr;
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
  // How long the workers took to start, from the start of the batch: processes, until the
  // last one was forked and handed the shared input (the coordinator's side of fork); threads,
  // until every pool thread had begun its first task (oneTBB starts threads lazily); serial and
  // mpi: 0.
  std::chrono::nanoseconds startup{0};
  [[nodiscard]] std::size_t count(JobStatus s) const noexcept;
  // Bytes the batch handed its workers and got back from them: every job, `shared_input_bytes`
  // once per worker, every result. What crossed channels where workers do not share memory.
  [[nodiscard]] std::uint64_t payload_bytes(std::span<const Bytes> jobs,
                                            std::size_t shared_input_bytes) const noexcept;
};

// Called on the thread that called run(), once per job as it ends (any status but
// cancelled), in completion order. For progress bars and streaming reports.
using ResultCallback = std::function<void(const JobResult&)>;

// Runs batches with the backend its options choose, and answers what differs between
// backends, so that callers never switch on Backend or Transport. Make it, then load the
// inputs, then run(): on a backend whose every worker is a copy of this program started
// beside it (mpi), only the coordinator (is_coordinator()) loads inputs, and the others take
// their part in run() from what the executor delivers (the shared input, the jobs). Plain
// value; its const members may be called from any thread. run() — one batch at a time per
// process — from one thread at a time.
//
// mpi: every rank makes the Executor (the first one initialises MPI for the process; MPI is
// finalised at exit) and calls run() as many times as rank 0 does, with the same job function;
// rank 0 is the coordinator and dispatches jobs to ranks 1..P-1, each of which runs one job at
// a time (worker_init there: one core per rank). A coordinator that ends without calling run()
// (bad input, nothing to do) releases the workers at exit. A rank that dies ends the whole run:
// mpirun kills every rank (SIGTERM, then SIGKILL a second later).
class Executor {
 public:
  // Checks the options (std::invalid_argument: a negative job timeout, or one on a backend
  // that cannot stop a running job) and settles workers = 0 to available_cores(). mpi:
  // std::invalid_argument, saying how to start it, outside mpirun or with a single rank, or in a
  // build without MPI; std::runtime_error when MPI cannot be initialised.
  explicit Executor(ExecutorOptions options);

  [[nodiscard]] const ExecutorOptions& options() const noexcept { return options_; }

  // The most workers a batch gets: 1 on serial, the ranks but the coordinator on mpi, else
  // options().workers (fewer when a batch has fewer jobs). For planning work (tiles per
  // worker), not a promise (BatchReport says).
  [[nodiscard]] unsigned workers() const noexcept;

  // Whether workers reach this process's memory in place: a SharedArena made before run(),
  // and whatever the job function points into. True on serial, threads, and processes over
  // shm. False on processes over a copying transport (pipe, unix, tcp, mq: the data travels
  // through the channel, so that the cost of copying shows) and on mpi, whose workers are
  // other processes, maybe on other machines. When false, what jobs need goes in the shared input and the jobs themselves,
  // and results come back in the outputs.
  [[nodiscard]] bool shares_memory() const noexcept;

  // Whether workers are threads of this process (serial, threads), so that any of its memory
  // reaches them in place, private memory included; forked workers reach only what this
  // process had before it forked them (copy-on-write: their writes stay theirs) and a
  // SharedArena (writes visible to all).
  [[nodiscard]] bool shares_address_space() const noexcept;

  // Whether this process coordinates: it plans, loads the inputs, calls run() with the jobs
  // and gets the results. True on every backend but mpi, where only rank 0 coordinates; the
  // other ranks' run() only runs jobs (its `jobs` and `shared_input` are ignored: rank 0's
  // arrive) and returns an empty report, and a program there prints and writes nothing.
  [[nodiscard]] bool is_coordinator() const noexcept { return coordinator_; }

  // Runs every job of `jobs` with `fn` and returns when all have ended or the batch was
  // interrupted. `shared_input` reaches every worker once (WorkerContext::shared_input).
  // processes: forks the workers itself, so call it before this process starts any thread
  // pool. When not a single worker can be started it throws std::runtime_error("cannot start
  // workers: ..."); when some can, the batch goes on with those (see on_warning). While it
  // runs, SIGINT and SIGTERM interrupt the batch instead of killing the process.
  BatchReport run(std::span<const Bytes> jobs, const JobFunction& fn,
                  std::span<const std::byte> shared_input = {},
                  const ResultCallback& on_result = {}) const;

  // The same for jobs in stages: a pipeline on threads, all three stages in one worker
  // elsewhere. Same outputs on every backend.
  BatchReport run(std::span<const Bytes> jobs, const JobStages& stages,
                  std::span<const std::byte> shared_input = {},
                  const ResultCallback& on_result = {}) const;

 private:
  ExecutorOptions options_;
  bool coordinator_ = true;
  unsigned ranks_ = 0;  // mpi: the ranks of the run, coordinator included
};

// Whether the backend `options` choose can stop a job that is running, which a job timeout
// needs: only processes, whose workers can be killed (a thread cannot be, and an mpi rank's
// death ends the whole run). Asked before an Executor is made, to refuse a timeout readably.
[[nodiscard]] bool stops_running_jobs(const ExecutorOptions& options) noexcept;

// Executor(options).run(...): one batch, for callers that need no answer from the executor
// before it runs.
BatchReport run_batch(const ExecutorOptions& options, std::span<const Bytes> jobs,
                      const JobFunction& fn, std::span<const std::byte> shared_input = {},
                      const ResultCallback& on_result = {});
BatchReport run_batch(const ExecutorOptions& options, std::span<const Bytes> jobs,
                      const JobStages& stages, std::span<const std::byte> shared_input = {},
                      const ResultCallback& on_result = {});

}  // namespace forkpool
