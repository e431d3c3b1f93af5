#pragma once
// The record of a batch shared by every backend: each job ends exactly once.

#include <cstddef>
#include <string>
#include <vector>

#include "forkpool/exec/executor.hpp"

namespace forkpool::detail {

// Results of one batch, on the thread that called run_batch() only. finish() reports a job to
// on_result as it ends; a second finish() of the same job is a bug in a backend and throws.
class BatchLedger {
 public:
  BatchLedger(std::size_t jobs, const ResultCallback& on_result);

  void start(std::size_t index, unsigned worker) {
    ++results_[index].attempts;
    results_[index].worker = worker;
  }
  // Takes back a start that never ran (the job was queued in a worker that died first).
  void unstart(std::size_t index) { --results_[index].attempts; }
  [[nodiscard]] unsigned attempts(std::size_t index) const { return results_[index].attempts; }

  void finish(std::size_t index, JobStatus status, Bytes output, std::string error);
  [[nodiscard]] bool ended(std::size_t index) const { return ended_[index]; }
  [[nodiscard]] std::size_t remaining() const noexcept { return remaining_; }

  // The report; jobs that never ended are `cancelled`.
  BatchReport take_report();

 private:
  std::vector<JobResult> results_;
  std::vector<bool> ended_;
  std::size_t remaining_;
  const ResultCallback& on_result_;
};

// The message of the exception in flight, for a failed job.
std::string current_exception_message();

}  // namespace forkpool::detail
