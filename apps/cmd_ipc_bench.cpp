// forkpool ipc-bench: latency, throughput and CPU cost of each IPC method, next to the
// machine's own limits.

#include <signal.h>

#include <fmt/core.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli.hpp"
#include "forkpool/ipc/child_process.hpp"
#include "forkpool/ipcbench/bench.hpp"
#include "forkpool/ipcbench/units.hpp"
#include "ipc_bench_output.hpp"
#include "output_files.hpp"
#include "progress.hpp"
#include "whole_number.hpp"

namespace forkpool::cli {
namespace {

struct IpcBenchFlags {
  std::vector<std::string> transports;
  std::vector<std::string> sizes;
  std::vector<std::string> modes;
  std::string duration;
  std::optional<std::uint64_t> count;
  std::string warmup;
  std::vector<std::string> pin;
  std::string json_path, csv_path, plot_path;
  bool quiet = false;
};

const auto kMaxRunMinutes =
    std::chrono::duration_cast<std::chrono::minutes>(ipcbench::kMaxRunTime).count();

constexpr const char* kTransportNames = "pipe, unix, tcp, mq, shm (both modes), shm-spin, shm-block";

std::vector<ipcbench::BenchTransport> parse_transports(const std::vector<std::string>& names) {
  std::vector<ipcbench::BenchTransport> out;
  for (const auto& name : names) {
    auto found = ipcbench::parse_bench_transport(name);
    if (found.empty())
      throw InputError(fmt::format("unknown transport '{}' ({})", name, kTransportNames));
    for (const auto& t : found)
      if (std::ranges::find(out, t) == out.end()) out.push_back(t);
  }
  return out;
}

std::vector<std::size_t> parse_sizes(const std::vector<std::string>& texts) {
  std::vector<std::size_t> out;
  for (const auto& text : texts) {
    auto size = ipcbench::parse_size(text);
    if (!size)
      throw InputError(fmt::format("--sizes: '{}' is not a message size (a whole number of bytes "
                                   "from 1 to 1G, with an optional K, M or G: 64,4K,1M)",
                                   text));
    out.push_back(*size);
  }
  std::ranges::sort(out);
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<ipcbench::BenchMode> parse_modes(const std::vector<std::string>& names) {
  std::vector<ipcbench::BenchMode> out;
  for (const auto& name : names) {
    auto mode = ipcbench::parse_mode(name);
    if (!mode) throw InputError(fmt::format("unknown mode '{}' (latency, throughput)", name));
    if (std::ranges::find(out, *mode) == out.end()) out.push_back(*mode);
  }
  return out;
}

std::chrono::nanoseconds parse_time(const std::string& flag, const std::string& text) {
  auto d = ipcbench::parse_duration(text);
  if (!d)
    throw InputError(fmt::format("{}: '{}' is not a duration (e.g. 2s, 0.5s, 300ms)", flag, text));
  if (*d > ipcbench::kMaxRunTime)
    throw InputError(fmt::format("{}: '{}' is longer than the limit of {}m per run", flag, text,
                                 kMaxRunMinutes));
  return *d;
}

std::array<int, 2> parse_pin(const std::vector<std::string>& cpus) {
  if (cpus.size() != 2)
    throw InputError("--pin takes two CPU numbers, the initiator's and the responder's: --pin 0,1");
  std::array<int, 2> out{};
  for (int i = 0; i < 2; ++i) {
    const std::string& c = cpus[static_cast<std::size_t>(i)];
    std::size_t used = 0;
    int v = -1;
    try {
      v = std::stoi(c, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != c.size() || v < 0) throw InputError(fmt::format("--pin: '{}' is not a CPU number", c));
    out[static_cast<std::size_t>(i)] = v;
  }
  return out;
}

std::string duration_text(const ipcbench::BenchOptions& o) {
  auto ms = [](std::chrono::nanoseconds d) { return ipc_bench::format_ns(static_cast<double>(d.count())); };
  std::string measured = o.count ? fmt::format("{} round trips or messages", *o.count)
                                 : fmt::format("{} measured (at least 10 samples)", ms(o.duration));
  return fmt::format("{} warm-up, then {}", ms(o.warmup), measured);
}

int run_ipc_bench(const IpcBenchFlags& f) {
  ipcbench::BenchOptions options;
  if (!f.transports.empty()) options.transports = parse_transports(f.transports);
  if (!f.sizes.empty()) options.sizes = parse_sizes(f.sizes);
  if (!f.modes.empty()) options.modes = parse_modes(f.modes);
  if (!f.duration.empty()) options.duration = parse_time("--duration", f.duration);
  if (!f.warmup.empty()) options.warmup = parse_time("--warmup", f.warmup);
  options.count = f.count;
  if (!f.pin.empty()) options.pin = parse_pin(f.pin);
  try {
    ipcbench::validate(options);
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  }
  CommandOutputs outputs;
  outputs.add("--json", f.json_path);
  outputs.add("--csv", f.csv_path);
  outputs.add("--plot", f.plot_path);
  // With an output on stdout, stdout holds that output alone.
  const bool quiet = f.quiet || outputs.uses_stdout();

  std::size_t shm_modes = static_cast<std::size_t>(std::ranges::count_if(
      options.transports, [](const auto& t) { return t.transport == ipc::Transport::shm; }));
  std::size_t steps = 1 + options.sizes.size() + shm_modes +
                      options.transports.size() * options.sizes.size() * options.modes.size();
  ProgressBar bar("ipc-bench", steps, "steps", !quiet && stderr_is_terminal());
  options.on_step_done = [&] { bar.advance(); };

  ipcbench::BenchReport report = ipcbench::run_ipc_bench(options);
  bar.finish();
  if (report.interrupted) {
    fmt::print(stderr, "forkpool: interrupted by {}; no report written\n",
               ipc::signal_name(report.interrupt_signal));
    return kExitInterrupted;
  }

  ipc_bench::ReportSettings settings{&options, duration_text(options)};
  if (!quiet) ipc_bench::print_table(stdout, report, settings);
  // Each output that cannot be written is named; the others are still written (exit 2).
  bool output_failed = false;
  if (!f.json_path.empty())
    output_failed |= !write_report("the JSON report", f.json_path, ipc_bench::format_json(report, settings));
  if (!f.csv_path.empty())
    output_failed |= !write_report("the CSV report", f.csv_path, ipc_bench::format_csv(report));
  if (!f.plot_path.empty()) {
    try {
      output_failed |= !write_report("the plot", f.plot_path, ipc_bench::draw_plot(report));
    } catch (const std::runtime_error& e) {
      fmt::print(stderr, "forkpool: {}\n", e.what());
      output_failed = true;
    }
  }
  for (const auto& r : report.runs)
    if (!r.ok) fmt::print(stderr, "forkpool: {} failed: {}\n", ipc_bench::run_name(r), r.error);
  if (!report.cache_line.ok)
    fmt::print(stderr, "forkpool: the cache-line limit failed: {}\n", report.cache_line.error);
  bool idle_failed = false;
  for (const auto& idle : report.idle_rows) {
    if (idle.ok) continue;
    fmt::print(stderr, "forkpool: the {} idle check failed: {}\n", idle.transport.label(), idle.error);
    idle_failed = true;
  }
  bool failed = report.failed_runs() > 0 || !report.cache_line.ok || idle_failed || output_failed;
  return failed ? kExitSomeFailed : kExitOk;
}

void setup(CLI::App& root, CommandRunner& chosen) {
  static IpcBenchFlags flags;
  CLI::App* cmd = root.add_subcommand(
      "ipc-bench", "Measure latency, throughput and CPU cost of each IPC method between two "
                   "processes, next to the machine's own limits");
  cmd->add_option("--transport", flags.transports,
                  "Transports, comma-separated (shm = shm-spin and shm-block). Default: all")
      ->delimiter(',')
      ->type_name("LIST")
      ->check(CLI::IsMember({"pipe", "unix", "tcp", "mq", "shm", "shm-spin", "shm-block"}));
  cmd->add_option("--sizes", flags.sizes, "Message sizes, comma-separated (default 64,4K,64K,1M,16M)")
      ->delimiter(',')
      ->type_name("LIST");
  cmd->add_option("--mode", flags.modes, "Modes, comma-separated (default both)")
      ->delimiter(',')
      ->type_name("LIST")
      ->check(CLI::IsMember({"latency", "throughput"}));
  auto* duration = cmd->add_option("--duration", flags.duration,
                                   fmt::format("Measured time per run, after the warm-up "
                                               "(default 300ms, at most {}m; a latency run also "
                                               "ends at {} round trips)",
                                               kMaxRunMinutes, ipcbench::kMaxCount))
                       ->type_name("TIME");
  auto* count = cmd->add_option("--count", flags.count,
                                "Measured round trips (latency) or messages (throughput) per run, "
                                "instead of --duration")
                    ->check(whole_number(1, ipcbench::kMaxCount))
                    ->type_name("N");
  duration->excludes(count);
  cmd->add_option("--warmup", flags.warmup,
                  fmt::format("Warm-up time per run, not measured (default 100ms, at most {}m)",
                              kMaxRunMinutes))
      ->type_name("TIME");
  cmd->add_option("--pin", flags.pin,
                  "Pin the two processes to these CPUs (initiator,responder), e.g. 0,1")
      ->delimiter(',')
      ->type_name("CPU,CPU");
  cmd->add_option("--json", flags.json_path, "Write every figure and the machine to FILE as JSON (- for stdout)")
      ->type_name("FILE");
  cmd->add_option("--csv", flags.csv_path, "Write every figure and the machine to FILE as CSV (- for stdout)")
      ->type_name("FILE");
  cmd->add_option("--plot", flags.plot_path,
                  "Draw latency and throughput against size into FILE.png (needs gnuplot; "
                  "without it: a message, the other outputs, exit code 2)")
      ->type_name("FILE");
  cmd->add_flag("-q,--quiet", flags.quiet, "Print no table and no progress, only errors");
  cmd->callback([&chosen] { chosen = [] { return run_ipc_bench(flags); }; });
}

const bool registered = register_command(&setup);

}  // namespace
}  // namespace forkpool::cli
