#pragma once
// The three backends behind run_batch(). Each gets validated options (workers >= 1,
// prefetch >= 1, at least one job) and fills the report's results, interrupted,
// interrupt_signal and workers_replaced.

#include <string>

#include "forkpool/exec/executor.hpp"
#include "forkpool/ipc/signal_catcher.hpp"

namespace forkpool::detail {

struct Batch {
  const ExecutorOptions& options;
  std::span<const Bytes> jobs;
  const JobFunction& fn;
  std::span<const std::byte> shared_input;
  const ResultCallback& on_result;
};

BatchReport run_serial(const Batch& batch);
BatchReport run_threads(const Batch& batch);
BatchReport run_processes(const Batch& batch);

// Routes SIGINT and SIGTERM to a signalfd for the batch (every backend); throws on failure.
ipc::SignalCatcher catch_interrupts();

// Throws std::runtime_error("<what>: <message>") for a failed ipc call.
[[noreturn]] void throw_sys_error(const std::string& what, const ipc::SysError& error);

}  // namespace forkpool::detail
