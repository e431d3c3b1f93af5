#include "batch_ledger.hpp"

#include <exception>
#include <stdexcept>

namespace forkpool::detail {

BatchLedger::BatchLedger(std::size_t jobs, const ResultCallback& on_result)
    : results_(jobs), ended_(jobs, false), remaining_(jobs), on_result_(on_result) {
  for (std::size_t i = 0; i < jobs; ++i) results_[i].index = i;
}

void BatchLedger::finish(std::size_t index, JobStatus status, Bytes output, std::string error) {
  if (ended_[index])
    throw std::logic_error("executor: job " + std::to_string(index) + " ended twice");
  ended_[index] = true;
  --remaining_;
  JobResult& r = results_[index];
  r.status = status;
  r.output = std::move(output);
  r.error = std::move(error);
  if (on_result_) on_result_(r);
}

BatchReport BatchLedger::take_report() {
  BatchReport report;
  report.results = std::move(results_);
  return report;
}

std::string current_exception_message() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace forkpool::detail
