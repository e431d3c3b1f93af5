#pragma once
// The measuring loop of `forkpool compare`: one workload run on every configuration (backend x
// transport x workers), a few times each, with wall time, CPU time, start-up, peak memory (PSS
// of the coordinator and its workers) and bytes through channels, and the figures derived from
// them against the serial run (speed-up, efficiency, overhead per job).
//
// It knows backends only to build each configuration's ExecutorOptions: the workload runs
// through the Executor, which is the only part that switches on them.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "forkpool/exec/executor.hpp"

namespace forkpool::compare {

// One way of running the workload. transport is set for processes only (the others have no
// channels).
struct Configuration {
  Backend backend = Backend::serial;
  std::optional<ipc::Transport> transport;
  unsigned workers = 1;

  [[nodiscard]] ExecutorOptions executor_options() const;
  // "serial", "threads x2", "processes/shm x4"
  [[nodiscard]] std::string label() const;
  bool operator==(const Configuration&) const = default;
};

// 1, 2, 4, ... up to `cores`, which is always the last (1, 2, 3 on 3 cores).
std::vector<unsigned> default_worker_counts(unsigned cores);

// serial first (once, with one worker: the baseline, whether `backends` names it or not), then
// for each other backend in the order given: threads per worker count, processes per transport
// per worker count. Repeated names count once.
std::vector<Configuration> configurations(std::span<const Backend> backends,
                                          std::span<const ipc::Transport> transports,
                                          std::span<const unsigned> workers);

// What one run of a workload tells the loop.
struct RunOutcome {
  std::size_t jobs = 0;
  std::size_t failed = 0;          // jobs that failed or whose result was wrong
  std::string first_error;         // why the first of them did
  bool interrupted = false;
  int interrupt_signal = 0;
  std::chrono::nanoseconds startup{0};
  // Bytes of the jobs, of their results, and of the shared input once per worker: what goes
  // through channels where there are channels (framing not counted).
  std::uint64_t payload_bytes = 0;
  // Set by a workload whose outputs take long to check (read back from files): measure_all
  // calls it once the run's wall and CPU time are taken, so the check is not measured, and
  // counts the failures it adds. Not called for an interrupted run.
  std::function<void(RunOutcome&)> check;
};

// The same from a finished batch of `jobs` with `shared_input_bytes` of shared input.
RunOutcome outcome_of(const BatchReport& report, std::span<const Bytes> jobs,
                      std::size_t shared_input_bytes);

// Runs the workload once with `options`; calls `on_result` (from the executor, on this thread)
// as each job ends. Throws what the executor throws.
using Workload = std::function<RunOutcome(const ExecutorOptions& options, const ResultCallback& on_result)>;

// A plain batch as a workload: `jobs` run with `fn` and `shared_input` (which must outlive the
// workload). The first run's outputs are the reference (the serial one, measured first);
// a later run whose output of a job differs counts that job failed ("job 3: result differs
// from the first run's").
Workload batch_workload(std::span<const Bytes> jobs, JobFunction fn,
                        std::span<const std::byte> shared_input = {});

struct Measurement {
  Configuration config;
  std::size_t jobs = 0;
  std::vector<double> wall_runs_s;  // one per repeat
  double wall_s = 0;                // median of the repeats
  double wall_s_min = 0;
  double wall_s_max = 0;
  double cpu_s = 0;                 // median of user + system, this process and its workers
  double startup_s = 0;             // median
  std::uint64_t peak_pss_bytes = 0; // the largest over the repeats
  std::uint64_t channel_bytes = 0;  // per run; 0 without channels (serial, threads)
  // Against the serial median wall time (see derive()).
  double speedup = 0;
  double efficiency = 0;
  double overhead_us_per_job = 0;
  std::size_t failed = 0;           // over all repeats
  std::string first_error;
};

// speedup = serial wall / wall; efficiency = speedup / workers; overhead per job =
// (wall x workers - serial wall) / jobs: the worker-time each job cost beyond the serial
// run's, in microseconds (0 for serial itself; below 0 when more workers did better than
// linear, as caches can make them).
void derive(Measurement& m, double serial_wall_s);

struct CompareSettings {
  unsigned repeats = 3;
  // Called after each configuration is measured (a progress bar, a line of log).
  std::function<void(const Measurement&)> on_measured;
  // Asked before every run: true stops the loop (a Ctrl-C that came between batches).
  std::function<bool()> stop_requested;
};

struct CompareResult {
  std::vector<Measurement> rows;  // in the order of the configurations measured
  bool interrupted = false;
  int interrupt_signal = 0;
};

// Measures every configuration `settings.repeats` times, in order, and derives the figures
// against the first (serial, as configurations() puts it). Stops at the first interrupted run (rows so far are kept, the
// interrupted one is not). From the thread that may fork (the process backend forks here).
CompareResult measure_all(std::span<const Configuration> configs, const Workload& workload,
                          const CompareSettings& settings);

}  // namespace forkpool::compare
