#include <csignal>
#include <stdexcept>

#include "backends.hpp"
#include "batch_ledger.hpp"
#include "forkpool/exec/executor.hpp"
#include "forkpool/exec/worker_scratch.hpp"

namespace forkpool {
namespace detail {

ipc::SignalCatcher catch_interrupts() {
  auto catcher = ipc::SignalCatcher::create({SIGINT, SIGTERM});
  if (!catcher) throw_sys_error("cannot catch SIGINT/SIGTERM", catcher.error());
  return std::move(*catcher);
}

void throw_sys_error(const std::string& what, const ipc::SysError& error) {
  throw std::runtime_error(what + ": " + error.message());
}

std::span<std::byte> scratch_of(const ExecutorOptions& options, unsigned index) {
  return options.scratch ? options.scratch->region(index) : std::span<std::byte>{};
}

void run_worker_init_here(const ExecutorOptions& options) {
  if (!options.worker_init) return;
  try {
    options.worker_init();
  } catch (...) {
    throw std::runtime_error("worker_init failed: " + current_exception_message());
  }
}

Bytes run_all_stages(const JobStages& stages, std::span<const std::byte> input,
                     const WorkerContext& context) {
  StageState state = stages.read(input, context);
  if (stages.compute) stages.compute(state, context);
  return stages.write(state, context);
}

namespace {

BatchReport run_on_backend(const ExecutorOptions& options, std::span<const Bytes> jobs,
                           const JobFunction& fn, const JobStages* stages,
                           std::span<const std::byte> shared_input, const ResultCallback& on_result) {
  ExecutorOptions opts = options;
  // Every rank takes part in every batch, an empty one too: the workers wait for it.
  if (opts.backend == Backend::mpi) {
    if (opts.prefetch == 0) opts.prefetch = 1;
    return run_mpi(Batch{opts, jobs, fn, stages, shared_input, on_result});
  }
  if (jobs.empty()) return {};
  if (opts.prefetch == 0) opts.prefetch = 1;
  // More workers than jobs would only cost forks and threads that get nothing to do.
  if (opts.workers > jobs.size()) opts.workers = static_cast<unsigned>(jobs.size());

  Batch batch{opts, jobs, fn, stages, shared_input, on_result};
  switch (opts.backend) {
    case Backend::serial: return run_serial(batch);
    case Backend::threads: return run_threads(batch);
    case Backend::processes: return run_processes(batch);
    case Backend::mpi: break;  // above
  }
  throw std::invalid_argument("run_batch: unknown backend");
}

}  // namespace
}  // namespace detail

bool stops_running_jobs(const ExecutorOptions& options) noexcept {
  return options.backend == Backend::processes;
}

Executor::Executor(ExecutorOptions options) : options_(std::move(options)) {
  if (options_.job_timeout.count() < 0) throw std::invalid_argument("run_batch: negative job timeout");
  // Deadlines add the timeout to steady_clock's nanoseconds: beyond a year it is a mistake, and
  // far beyond, an overflow that would make every job time out at once.
  if (options_.job_timeout > std::chrono::hours(24 * 366))
    throw std::invalid_argument("run_batch: a job timeout over a year");
  if (options_.job_timeout.count() > 0 && !stops_running_jobs(options_))
    throw std::invalid_argument("a job timeout needs the processes backend: " +
                                std::string(to_string(options_.backend)) +
                                " cannot stop a job that is running");
  if (options_.workers == 0) options_.workers = available_cores();
  if (options_.backend == Backend::mpi) {
    const detail::MpiPlace place = detail::join_mpi();
    coordinator_ = place.rank == 0;
    ranks_ = place.ranks;
  }
}

unsigned Executor::workers() const noexcept {
  switch (options_.backend) {
    case Backend::serial: return 1;
    case Backend::mpi: return ranks_ - 1;  // rank 0 coordinates and runs no job
    case Backend::threads:
    case Backend::processes: break;
  }
  return options_.workers;
}

bool Executor::shares_memory() const noexcept {
  switch (options_.backend) {
    case Backend::serial:
    case Backend::threads: return true;
    case Backend::processes: return options_.transport == ipc::Transport::shm;
    case Backend::mpi: return false;
  }
  return false;
}

bool Executor::shares_address_space() const noexcept {
  return options_.backend == Backend::serial || options_.backend == Backend::threads;
}

BatchReport Executor::run(std::span<const Bytes> jobs, const JobFunction& fn,
                          std::span<const std::byte> shared_input,
                          const ResultCallback& on_result) const {
  if (!fn) throw std::invalid_argument("run_batch: no job function");
  return detail::run_on_backend(options_, jobs, fn, nullptr, shared_input, on_result);
}

BatchReport Executor::run(std::span<const Bytes> jobs, const JobStages& stages,
                          std::span<const std::byte> shared_input,
                          const ResultCallback& on_result) const {
  if (!stages.read || !stages.write) throw std::invalid_argument("run_batch: a stage is missing");
  // Every backend but threads runs the three stages back to back in one worker.
  JobFunction all = [&stages](std::span<const std::byte> input, const WorkerContext& context) {
    return detail::run_all_stages(stages, input, context);
  };
  return detail::run_on_backend(options_, jobs, all, &stages, shared_input, on_result);
}

BatchReport run_batch(const ExecutorOptions& options, std::span<const Bytes> jobs,
                      const JobFunction& fn, std::span<const std::byte> shared_input,
                      const ResultCallback& on_result) {
  return Executor(options).run(jobs, fn, shared_input, on_result);
}

BatchReport run_batch(const ExecutorOptions& options, std::span<const Bytes> jobs,
                      const JobStages& stages, std::span<const std::byte> shared_input,
                      const ResultCallback& on_result) {
  return Executor(options).run(jobs, stages, shared_input, on_result);
}

}  // namespace forkpool
