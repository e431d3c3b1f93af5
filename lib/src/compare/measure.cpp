#include "forkpool/compare/measure.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "forkpool/exec/pool_memory.hpp"

namespace forkpool::compare {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; }

// User + system time of this process (every thread) and of its children that were waited for:
// the workers of a batch are reaped before run() returns.
double cpu_seconds() {
  rusage self{}, children{};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &children);
  return seconds(self.ru_utime) + seconds(self.ru_stime) + seconds(children.ru_utime) +
         seconds(children.ru_stime);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

template <class T>
void add_once(std::vector<T>& out, T v) {
  if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
}

}  // namespace

ExecutorOptions Configuration::executor_options() const {
  ExecutorOptions options;
  options.backend = backend;
  options.workers = workers;
  if (transport) options.transport = *transport;
  return options;
}

std::string Configuration::label() const {
  std::string out(to_string(backend));
  if (transport) {
    out += '/';
    out += ipc::to_string(*transport);
  }
  if (backend != Backend::serial) {
    out += " x";
    out += std::to_string(workers);
  }
  return out;
}

std::vector<unsigned> default_worker_counts(unsigned cores) {
  std::vector<unsigned> out;
  cores = std::max(cores, 1u);
  for (unsigned w = 1; w < cores; w *= 2) out.push_back(w);
  out.push_back(cores);
  return out;
}

std::vector<Configuration> configurations(std::span<const Backend> backends,
                                          std::span<const ipc::Transport> transports,
                                          std::span<const unsigned> workers) {
  std::vector<Backend> bs;
  std::vector<ipc::Transport> ts;
  std::vector<unsigned> ws;
  for (Backend b : backends) add_once(bs, b);
  for (ipc::Transport t : transports) add_once(ts, t);
  for (unsigned w : workers)
    if (w > 0) add_once(ws, w);
  std::vector<Configuration> out{{Backend::serial, std::nullopt, 1}};
  for (Backend b : bs) {
    if (b == Backend::serial) continue;
    if (b == Backend::processes) {
      for (ipc::Transport t : ts)
        for (unsigned w : ws) out.push_back({b, t, w});
    } else {
      for (unsigned w : ws) out.push_back({b, std::nullopt, w});
    }
  }
  return out;
}

RunOutcome outcome_of(const BatchReport& report, std::span<const Bytes> jobs,
                      std::size_t shared_input_bytes) {
  RunOutcome out;
  out.jobs = jobs.size();
  out.interrupted = report.interrupted;
  out.interrupt_signal = report.interrupt_signal;
  out.startup = report.startup;
  out.payload_bytes = report.payload_bytes(jobs, shared_input_bytes);
  for (const JobResult& r : report.results) {
    if (r.status == JobStatus::failed) {
      if (out.failed++ == 0) out.first_error = r.error;
    }
  }
  return out;
}

void derive(Measurement& m, double serial_wall_s) {
  m.speedup = m.wall_s > 0 ? serial_wall_s / m.wall_s : 0;
  m.efficiency = m.speedup / m.config.workers;
  m.overhead_us_per_job =
      m.jobs > 0 ? (m.wall_s * m.config.workers - serial_wall_s) / static_cast<double>(m.jobs) * 1e6 : 0;
}

CompareResult measure_all(std::span<const Configuration> configs, const Workload& workload,
                          const CompareSettings& settings) {
  if (settings.repeats == 0) throw std::invalid_argument("compare: no repeats");
  CompareResult result;
  double serial_wall = 0;
  for (const Configuration& config : configs) {
    Measurement m;
    m.config = config;
    std::vector<double> cpu, startup;
    for (unsigned r = 0; r < settings.repeats; ++r) {
      if (settings.stop_requested && settings.stop_requested()) {
        result.interrupted = true;
        return result;
      }
      // Sampled on the coordinator's thread as results come: the first result comes once the
      // workers are up (PeakPoolMemory samples its first call at once), then every 20 ms.
      PeakPoolMemory memory;
      const double cpu_before = cpu_seconds();
      const Clock::time_point start = Clock::now();
      RunOutcome outcome = workload(config.executor_options(),
                                    [&memory](const JobResult&) { memory.sample_now_and_then(); });
      const double wall = std::chrono::duration<double>(Clock::now() - start).count();
      const double cpu_used = cpu_seconds() - cpu_before;
      if (outcome.interrupted) {
        result.interrupted = true;
        result.interrupt_signal = outcome.interrupt_signal;
        return result;
      }
      if (outcome.check) outcome.check(outcome);
      m.jobs = outcome.jobs;
      m.wall_runs_s.push_back(wall);
      cpu.push_back(cpu_used);
      startup.push_back(std::chrono::duration<double>(outcome.startup).count());
      m.peak_pss_bytes = std::max<std::uint64_t>(m.peak_pss_bytes, memory.peak().bytes);
      m.channel_bytes = config.transport ? outcome.payload_bytes : 0;
      if (outcome.failed > 0 && m.failed == 0) m.first_error = outcome.first_error;
      m.failed += outcome.failed;
    }
    m.wall_s = median(m.wall_runs_s);
    m.wall_s_min = *std::min_element(m.wall_runs_s.begin(), m.wall_runs_s.end());
    m.wall_s_max = *std::max_element(m.wall_runs_s.begin(), m.wall_runs_s.end());
    m.cpu_s = median(cpu);
    m.startup_s = median(startup);
    if (result.rows.empty()) serial_wall = m.wall_s;  // the first configuration is the baseline
    derive(m, serial_wall);
    result.rows.push_back(m);
    if (settings.on_measured) settings.on_measured(result.rows.back());
  }
  return result;
}

Workload batch_workload(std::span<const Bytes> jobs, JobFunction fn,
                        std::span<const std::byte> shared_input) {
  auto reference = std::make_shared<std::vector<Bytes>>();
  return [jobs, fn = std::move(fn), shared_input, reference](const ExecutorOptions& options,
                                                              const ResultCallback& on_result) {
    BatchReport report = Executor(options).run(jobs, fn, shared_input, on_result);
    RunOutcome outcome = outcome_of(report, jobs, shared_input.size());
    if (report.interrupted) return outcome;
    if (reference->empty()) {
      for (JobResult& r : report.results) reference->push_back(std::move(r.output));
      return outcome;
    }
    for (std::size_t i = 0; i < report.results.size(); ++i) {
      const JobResult& r = report.results[i];
      if (r.status != JobStatus::done || r.output == (*reference)[i]) continue;
      if (outcome.failed++ == 0) {
        // Appended, not chained with +: g++ 12 warns (-Wrestrict) on "literal" + std::string.
        outcome.first_error = "job ";
        outcome.first_error += std::to_string(i);
        outcome.first_error += ": result differs from the first run's";
      }
    }
    return outcome;
  };
}

}  // namespace forkpool::compare
