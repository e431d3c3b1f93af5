#include <csignal>
#include <stdexcept>

#include "backends.hpp"
#include "forkpool/exec/executor.hpp"

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

}  // namespace detail

BatchReport run_batch(const ExecutorOptions& options, std::span<const Bytes> jobs,
                      const JobFunction& fn, std::span<const std::byte> shared_input,
                      const ResultCallback& on_result) {
  if (!fn) throw std::invalid_argument("run_batch: no job function");
  if (options.job_timeout.count() < 0) throw std::invalid_argument("run_batch: negative job timeout");
  // Deadlines add the timeout to steady_clock's nanoseconds: beyond a year it is a mistake, and
  // far beyond, an overflow that would make every job time out at once.
  if (options.job_timeout > std::chrono::hours(24 * 366))
    throw std::invalid_argument("run_batch: a job timeout over a year");
  if (options.job_timeout.count() > 0 && options.backend != Backend::processes)
    throw std::invalid_argument("a job timeout needs the processes backend: " +
                                std::string(to_string(options.backend)) +
                                " cannot stop a job that is running");
  ExecutorOptions opts = options;
  if (opts.workers == 0) opts.workers = available_cores();
  if (opts.prefetch == 0) opts.prefetch = 1;
  if (jobs.empty()) return {};
  // More workers than jobs would only cost forks and threads that get nothing to do.
  if (opts.workers > jobs.size()) opts.workers = static_cast<unsigned>(jobs.size());

  detail::Batch batch{opts, jobs, fn, shared_input, on_result};
  BatchReport report;
  switch (opts.backend) {
    case Backend::serial: report = detail::run_serial(batch); break;
    case Backend::threads: report = detail::run_threads(batch); break;
    case Backend::processes: report = detail::run_processes(batch); break;
  }
  return report;
}

}  // namespace forkpool
