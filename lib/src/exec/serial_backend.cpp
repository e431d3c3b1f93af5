#include <chrono>

#include "backends.hpp"
#include "batch_ledger.hpp"

namespace forkpool::detail {

// The calling thread runs every job in order; a signal is noticed between jobs.
BatchReport run_serial(const Batch& batch) {
  ipc::SignalCatcher catcher = catch_interrupts();
  BatchLedger ledger(batch.jobs.size(), batch.on_result);
  run_worker_init_here(batch.options);
  WorkerContext context{0, batch.shared_input, scratch_of(batch.options, 0)};

  int interrupt = 0;
  auto poll_signal = [&] {
    if (interrupt) return;
    auto sig = catcher.take();
    if (!sig) throw_sys_error("reading signals", sig.error());
    if (*sig) interrupt = **sig;
  };
  // Reading the signalfd is a system call, several times the cost of a tiny job: between jobs
  // it is read at most once a millisecond (the clock is read without one), which is as soon as
  // anyone notices a Ctrl-C.
  using Clock = std::chrono::steady_clock;
  constexpr auto kPollEvery = std::chrono::milliseconds(1);
  Clock::time_point next_poll{};

  for (std::size_t i = 0; i < batch.jobs.size(); ++i) {
    if (const auto now = Clock::now(); now >= next_poll) {
      poll_signal();
      next_poll = now + kPollEvery;
    }
    if (interrupt) break;
    ledger.start(i, 0);
    JobStatus status = JobStatus::done;
    Bytes out;
    std::string error;
    try {
      out = batch.fn(batch.jobs[i], context);
    } catch (...) {
      status = JobStatus::failed;
      error = current_exception_message();
    }
    ledger.finish(i, status, std::move(out), std::move(error));
  }
  poll_signal();

  BatchReport report = ledger.take_report();
  report.workers = 1;
  report.interrupted = interrupt != 0;
  report.interrupt_signal = interrupt;
  return report;
}

}  // namespace forkpool::detail
