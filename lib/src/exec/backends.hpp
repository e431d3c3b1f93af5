#pragma once
// The backends behind Executor::run(). Each gets validated options (workers >= 1,
// prefetch >= 1, at least one job) and fills the report's results, interrupted,
// interrupt_signal and workers_replaced. This is the only place that switches on Backend.

#include <string>

#include "forkpool/exec/executor.hpp"
#include "forkpool/ipc/signal_catcher.hpp"

namespace forkpool::detail {

struct Batch {
  const ExecutorOptions& options;
  std::span<const Bytes> jobs;
  const JobFunction& fn;      // the whole job: all of `stages`, when the job has stages
  const JobStages* stages;   // nullptr for a plain JobFunction; threads pipelines them
  std::span<const std::byte> shared_input;
  const ResultCallback& on_result;
};

BatchReport run_serial(const Batch& batch);
BatchReport run_threads(const Batch& batch);
BatchReport run_processes(const Batch& batch);

// mpi (mpi_backend.cpp; mpi_absent.cpp in a build without MPI). join_mpi() initialises MPI
// once per process (finalised at exit) and says which rank this is of how many; it throws
// std::invalid_argument outside mpirun, with fewer than 2 ranks, or without MPI. run_mpi()
// runs on every rank, whether or not this rank has jobs: rank 0 coordinates, the others serve
// and return an empty report.
struct MpiPlace {
  unsigned rank = 0;
  unsigned ranks = 1;
};
MpiPlace join_mpi();
BatchReport run_mpi(const Batch& batch);

// Routes SIGINT and SIGTERM to a signalfd for the batch (every backend); throws on failure.
ipc::SignalCatcher catch_interrupts();

// For the backends whose workers are this process: runs options.worker_init, if any, on this
// thread; what it throws becomes std::runtime_error("worker_init failed: <message>").
void run_worker_init_here(const ExecutorOptions& options);

// read, compute and write of one job, one after the other.
Bytes run_all_stages(const JobStages& stages, std::span<const std::byte> input,
                     const WorkerContext& context);

// Worker `index`'s region of options.scratch; empty without one.
std::span<std::byte> scratch_of(const ExecutorOptions& options, unsigned index);

// Throws std::runtime_error("<what>: <message>") for a failed ipc call.
[[noreturn]] void throw_sys_error(const std::string& what, const ipc::SysError& error);

}  // namespace forkpool::detail
