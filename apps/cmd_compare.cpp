// forkpool compare: one job run on every backend, transport and worker count, measured, in one
// table (and JSON, CSV). `compare tasks` runs the synthetic kinds that isolate one cost each.

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "compare_command.hpp"
#include "compare_report.hpp"
#include "forkpool/compare/held_interrupts.hpp"
#include "forkpool/compare/matmul_workload.hpp"
#include "forkpool/compare/measure.hpp"
#include "forkpool/compare/task_kinds.hpp"
#include "forkpool/ipc/child_process.hpp"
#include "forkpool/ipcbench/units.hpp"
#include "forkpool/matmul/matmul.hpp"
#include "forkpool/matmul/npy.hpp"
#include "output_files.hpp"
#include "progress.hpp"
#include "whole_number.hpp"

namespace forkpool::cli {
namespace {

using compare_output::CompareReport;

std::vector<CompareSubcommandSetup>& compare_registry() {
  static std::vector<CompareSubcommandSetup> setups;
  return setups;
}

struct TaskFlags {
  std::string kind = "tiny";
  std::size_t count = 0;
  std::string size = "1M";
  unsigned ms = 10;
  bool per_job = false;
};

struct MatmulCompareFlags {
  std::vector<std::string> inputs;
  std::string random;
  std::string dtype;
  std::uint64_t seed = 1;
  std::size_t tile = 0;
};

constexpr unsigned kMaxRepeats = 1000;
constexpr unsigned kMaxWorkers = 4096;
constexpr std::size_t kMaxJobs = 100'000'000;
constexpr unsigned kMaxSleepMs = 60'000;

// The configurations the flags ask for, in the order measured.
std::vector<compare::Configuration> parse_configurations(const CompareFlags& f) {
  std::vector<Backend> backends;
  for (const auto& name : f.backends) {
    auto b = parse_backend(name);
    if (!b) throw InputError(fmt::format("--backends: unknown backend '{}' (serial, threads, processes)", name));
    // mpi's workers are copies of the program that mpirun starts: compare, one program running
    // many batches, is not one of them.
    if (*b == Backend::mpi) throw InputError("--backends: compare runs serial, threads and processes, not mpi");
    backends.push_back(*b);
  }
  if (backends.empty()) backends = {Backend::serial, Backend::threads, Backend::processes};
  std::vector<ipc::Transport> transports;
  for (const auto& name : f.transports) {
    auto t = ipc::parse_transport(name);
    if (!t) throw InputError(fmt::format("--transports: unknown transport '{}' (shm, pipe, unix, tcp, mq)", name));
    transports.push_back(*t);
  }
  if (transports.empty()) transports.assign(std::begin(ipc::kAllTransports), std::end(ipc::kAllTransports));
  std::vector<unsigned> workers = f.workers.empty() ? compare::default_worker_counts(available_cores()) : f.workers;
  return compare::configurations(backends, transports, workers);
}

nlohmann::ordered_json common_settings(const CompareFlags& f, const std::vector<compare::Configuration>& configs) {
  std::vector<std::string> backends, transports;
  std::vector<unsigned> workers;
  for (const auto& c : configs) {
    std::string b(to_string(c.backend));
    if (std::ranges::find(backends, b) == backends.end()) backends.push_back(b);
    if (c.transport) {
      std::string t(ipc::to_string(*c.transport));
      if (std::ranges::find(transports, t) == transports.end()) transports.push_back(t);
    }
    if (c.backend != Backend::serial && std::ranges::find(workers, c.workers) == workers.end())
      workers.push_back(c.workers);
  }
  return {{"backends", backends}, {"transports", transports}, {"workers", workers},
          {"repeats", f.repeats}};
}

}  // namespace

int run_compare(const CompareFlags& f, CompareReport report, const compare::Workload& workload,
                const std::function<std::vector<std::string>()>& checks, compare::HeldInterrupts& held) {
  std::vector<compare::Configuration> configs = parse_configurations(f);
  nlohmann::ordered_json settings = common_settings(f, configs);
  for (auto& [key, value] : report.settings.items()) settings[key] = value;
  report.settings = settings;
  CommandOutputs outputs;
  outputs.add("--json", f.json_path);
  outputs.add("--csv", f.csv_path);
  outputs.add("--plot", f.plot_path);
  const bool quiet = f.quiet || outputs.uses_stdout();
  report.machine = ipcbench::describe_machine();

  ProgressBar bar("compare", configs.size(), "configurations", !quiet && stderr_is_terminal());
  compare::CompareSettings run;
  run.repeats = f.repeats;
  run.on_measured = [&](const compare::Measurement&) { bar.advance(); };
  run.stop_requested = [&] { return held.take() != 0; };
  report.result = compare::measure_all(configs, workload, run);
  bar.finish();
  if (int sig = held.take(); sig != 0 && !report.result.interrupted) {
    report.result.interrupted = true;
    report.result.interrupt_signal = sig;
  }
  if (report.result.interrupted) {
    int sig = report.result.interrupt_signal ? report.result.interrupt_signal : SIGINT;
    fmt::print(stderr, "forkpool: interrupted by {}; no report written\n", ipc::signal_name(sig));
    return kExitInterrupted;
  }
  if (checks) report.checks = checks();

  if (!quiet) compare_output::print_table(stdout, report);
  bool output_failed = false;
  if (!f.json_path.empty())
    output_failed |= !write_report("the JSON report", f.json_path, compare_output::format_json(report));
  if (!f.csv_path.empty())
    output_failed |= !write_report("the CSV report", f.csv_path, compare_output::format_csv(report));
  if (!f.plot_path.empty()) {
    try {
      output_failed |= !write_report("the plot", f.plot_path, compare_output::draw_plot(report));
    } catch (const std::runtime_error& e) {
      fmt::print(stderr, "forkpool: {}\n", e.what());
      output_failed = true;
    }
  }
  bool failed = false;
  for (const auto& row : report.result.rows) {
    if (row.failed == 0) continue;
    fmt::print(stderr, "forkpool: {}: {} job{} failed: {}\n", row.config.label(), row.failed,
               row.failed == 1 ? "" : "s", row.first_error);
    failed = true;
  }
  return failed || output_failed ? kExitSomeFailed : kExitOk;
}

void add_compare_flags(CLI::App& cmd, CompareFlags& f) {
  cmd.add_option("--backends", f.backends, "Backends, comma-separated (default serial,threads,processes; "
                                           "serial is always measured, as the baseline)")
      ->delimiter(',')
      ->type_name("LIST")
      ->check(CLI::IsMember({"serial", "threads", "processes"}));
  cmd.add_option("--transports", f.transports, "Transports of the processes backend, comma-separated "
                                               "(default shm,pipe,unix,tcp,mq)")
      ->delimiter(',')
      ->type_name("LIST")
      ->check(CLI::IsMember({"shm", "pipe", "unix", "tcp", "mq"}));
  cmd.add_option("-j,--workers", f.workers, "Worker counts, comma-separated (default 1, 2, 4, ... up to the cores)")
      ->delimiter(',')
      ->check(whole_number(1, kMaxWorkers))
      ->type_name("LIST");
  cmd.add_option("--repeats", f.repeats, "Runs of each configuration: the median, min and max are shown")
      ->type_name("N")
      ->check(whole_number(1, kMaxRepeats))
      ->capture_default_str();
  cmd.add_option("--json", f.json_path, "Write every figure, the machine and the settings to FILE as JSON (- for stdout)")
      ->type_name("FILE");
  cmd.add_option("--csv", f.csv_path, "Write one row per configuration to FILE as CSV (- for stdout)")
      ->type_name("FILE");
  cmd.add_option("--plot", f.plot_path,
                 "Draw speed-up against workers and the overhead per job into FILE.png (needs "
                 "gnuplot; without it: a message, the other outputs, exit code 2)")
      ->type_name("FILE");
  cmd.add_flag("-q,--quiet", f.quiet, "Print no table and no progress, only errors");
}

bool register_compare_subcommand(CompareSubcommandSetup setup) {
  compare_registry().push_back(setup);
  return true;
}

namespace {

int run_tasks(const CompareFlags& f, const TaskFlags& t) {
  compare::HeldInterrupts held;
  compare::TaskSettings s;
  auto kind = compare::parse_task_kind(t.kind);
  if (!kind) throw InputError(fmt::format("--kind: unknown kind '{}' (tiny, cpu, memory, sleep)", t.kind));
  s.kind = *kind;
  s.count = t.count;
  auto size = ipcbench::parse_size(t.size);
  if (!size)
    throw InputError(fmt::format("--size: '{}' is not a size (a whole number of bytes from 1 to "
                                 "1G, with an optional K, M or G: 64K, 1M)", t.size));
  s.size = *size;
  s.per_job = t.per_job;
  s.sleep = std::chrono::milliseconds(t.ms);
  compare::TaskBatch batch = compare::make_task_batch(s);

  CompareReport report;
  report.subcommand = "tasks";
  std::string detail;
  if (s.kind == compare::TaskKind::memory)
    detail = fmt::format(", {} each, {}", ipcbench::format_size(s.size),
                         s.per_job ? "in every job" : "shared input");
  if (s.kind == compare::TaskKind::sleep) detail = fmt::format(", {} ms each", t.ms);
  if (s.kind == compare::TaskKind::cpu) detail = fmt::format(", {} xorshift steps each", compare::kCpuIterations);
  report.workload = fmt::format("{}, {} jobs{}", compare::to_string(s.kind), batch.jobs.size(), detail);
  report.settings = {{"kind", compare::to_string(s.kind)}, {"count", batch.jobs.size()}};
  if (s.kind == compare::TaskKind::memory) {
    report.settings["size"] = s.size;
    report.settings["per_job"] = s.per_job;
  }
  if (s.kind == compare::TaskKind::sleep) report.settings["ms"] = t.ms;
  if (s.kind == compare::TaskKind::cpu) report.settings["cpu_iterations"] = compare::kCpuIterations;

  compare::Workload workload = compare::batch_workload(batch.jobs, batch.fn, batch.shared_input);
  return run_compare(f, std::move(report), workload,
                     [] { return std::vector<std::string>{"every job's result equals the serial run's"}; },
                     held);
}

// "MxKxN": three positive sizes.
std::array<std::size_t, 3> parse_shape(const std::string& text) {
  std::array<std::size_t, 3> out{};
  std::size_t at = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    std::size_t end = i < 2 ? text.find_first_of("xX", at) : text.size();
    std::string part = end == std::string::npos ? "" : text.substr(at, end - at);
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), out[i]);
    if (part.empty() || ec != std::errc{} || p != part.data() + part.size() || out[i] == 0)
      throw InputError("--random takes MxKxN, three positive sizes such as 512x512x512, not '" + text + "'");
    at = end + 1;
  }
  return out;
}

int run_matmul(const CompareFlags& f, const MatmulCompareFlags& mf) {
  compare::HeldInterrupts held;
  if (!mf.random.empty() && !mf.inputs.empty())
    throw InputError("give either A.npy B.npy or --random MxKxN, not both");
  if (mf.random.empty() && mf.inputs.size() != 2)
    throw InputError("give two input files, A.npy B.npy, or --random MxKxN");
  std::optional<matmul::Dtype> dtype;
  if (!mf.dtype.empty()) {
    dtype = matmul::parse_dtype(mf.dtype);
    if (!dtype) throw InputError("--dtype: unknown type '" + mf.dtype + "' (f32, f64)");
  }
  std::optional<matmul::Operands> ops;
  std::string source;
  // One A, B and C for every configuration: they differ in their backends alone.
  try {
    if (!mf.random.empty()) {
      auto [m, k, n] = parse_shape(mf.random);
      ops.emplace(matmul::random_operands(dtype.value_or(matmul::Dtype::f64), m, k, n, mf.seed));
      source = fmt::format("random {}x{}x{}", m, k, n);
    } else {
      matmul::NpyFile a = matmul::NpyFile::open(mf.inputs[0]);
      matmul::NpyFile b = matmul::NpyFile::open(mf.inputs[1]);
      bool both_f32 = a.header().dtype == matmul::Dtype::f32 && b.header().dtype == matmul::Dtype::f32;
      ops.emplace(matmul::load_operands(a, b, dtype.value_or(both_f32 ? matmul::Dtype::f32 : matmul::Dtype::f64)));
      source = mf.inputs[0] + " x " + mf.inputs[1];
    }
  } catch (const matmul::NpyError& e) {
    throw InputError(e.what());
  }
  CompareReport report;
  report.subcommand = "matmul";
  report.workload = fmt::format("C = A x B, {} ({}x{} times {}x{}), {}", source, ops->m(), ops->k(),
                                ops->k(), ops->n(), matmul::to_string(ops->dtype()));
  report.settings = {{"m", ops->m()}, {"k", ops->k()}, {"n", ops->n()},
                     {"dtype", matmul::to_string(ops->dtype())}, {"tile", mf.tile}};
  if (!mf.random.empty()) report.settings["seed"] = mf.seed;
  else report.settings["inputs"] = mf.inputs;
  auto check = std::make_shared<compare::MatmulCheck>();
  compare::Workload workload = compare::matmul_workload(*ops, mf.tile, check);
  matmul::Dtype d = ops->dtype();
  return run_compare(f, std::move(report), workload, [check, d] {
    return std::vector<std::string>{fmt::format(
        "every C equals the serial C: {} products compared, largest relative difference {:.3g} "
        "(tolerance {:.0e})", check->products_checked, check->max_relative_error, compare::matmul_tolerance(d))};
  }, held);
}

void setup(CLI::App& root, CommandRunner& chosen) {
  static CompareFlags flags;
  static TaskFlags tasks;
  CLI::App* cmd = root.add_subcommand(
      "compare", "Run one job on every backend, transport and worker count, and show what each "
                 "costs and gains (wall, speed-up, overhead per job, CPU, start-up, memory)");
  cmd->require_subcommand(1);
  CLI::App* t = cmd->add_subcommand("tasks", "Synthetic jobs that isolate one cost each: tiny (dispatch), "
                                             "cpu (compute), memory (streaming a buffer), sleep (no CPU)");
  t->add_option("--kind", tasks.kind, "What each job does")
      ->type_name("KIND")
      ->check(CLI::IsMember({"tiny", "cpu", "memory", "sleep"}))
      ->capture_default_str();
  t->add_option("--count", tasks.count, "Jobs (default: tiny 20000, cpu 200, memory 200, sleep 50)")
      ->check(whole_number(1, kMaxJobs))
      ->type_name("N");
  t->add_option("--size", tasks.size, "memory: bytes each job streams (64K, 1M, ...)")
      ->capture_default_str()
      ->type_name("BYTES");
  t->add_flag("--per-job", tasks.per_job, "memory: the buffer travels in every job, not once per worker as the shared input");
  t->add_option("--ms", tasks.ms, "sleep: milliseconds each job waits")
      ->type_name("MS")
      ->check(whole_number(1, kMaxSleepMs))
      ->capture_default_str();
  add_compare_flags(*t, flags);
  t->callback([&chosen] { chosen = [] { return run_tasks(flags, tasks); }; });

  static MatmulCompareFlags mm;
  CLI::App* m = cmd->add_subcommand("matmul", "C = A * B on every configuration, every C checked "
                                              "against the serial one");
  m->add_option("inputs", mm.inputs, "A.npy B.npy: 2-D float32/float64 arrays, M x K and K x N")
      ->type_name("FILE");
  m->add_option("--random", mm.random, "Random matrices of shape MxKxN instead of files")->type_name("MxKxN");
  m->add_option("--dtype", mm.dtype, "Element type (default: f32 if both inputs are, else f64)")
      ->type_name("TYPE")
      ->check(CLI::IsMember({"f32", "f64"}));
  m->add_option("--seed", mm.seed, "Seed of --random")->type_name("N")->capture_default_str();
  m->add_option("--tile", mm.tile, "Square tiles of this edge (default: row panels, as matmul)")
      ->type_name("N")
      ->check(whole_number(1, std::size_t{1} << 20));
  add_compare_flags(*m, flags);
  m->callback([&chosen] { chosen = [] { return run_matmul(flags, mm); }; });

  for (CompareSubcommandSetup sub : compare_registry()) sub(*cmd, chosen);
}

const bool registered = register_command(&setup);

}  // namespace
}  // namespace forkpool::cli
