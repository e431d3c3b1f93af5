// `forkpool matmul`: C = A * B from .npy files (or random operands) on a process pool over
// shared memory, a thread pool, or one thread, with the timings that compare them.

#include <signal.h>
#include <unistd.h>

#include <fmt/core.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "forkpool/ipc/child_process.hpp"
#include "forkpool/ipc/signal_catcher.hpp"
#include "forkpool/matmul/freivalds.hpp"
#include "forkpool/matmul/kernels.hpp"
#include "forkpool/matmul/matmul.hpp"
#include "forkpool/matmul/npy.hpp"
#include "forkpool/exec/pool_memory.hpp"
#include "job_timeout.hpp"
#include "matmul_report.hpp"
#include "output_files.hpp"
#include "matmul_test_hooks.hpp"
#include "progress.hpp"
#include "whole_number.hpp"

namespace forkpool::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Largest --tile: far beyond any edge worth asking for; a tile larger than C is C anyway.
constexpr std::uint64_t kMaxTile = std::uint64_t{1} << 20;

// Largest --worker-memory, in MiB: 1 PiB, beyond any machine's memory, and clear of overflow.
constexpr std::uint64_t kMaxWorkerMemoryMib = std::uint64_t{1} << 30;

// A product below this many flops ends before a progress bar would be worth drawing.
constexpr double kProgressFlops = 2e10;

struct MatmulFlags {
  CommonFlags common;
  std::vector<std::string> inputs;
  std::string output;
  std::string random;
  std::string dtype;
  std::optional<std::string> kernel;
  std::uint64_t seed = 1;
  std::size_t tile = 0;
  std::string distribute = "auto";
  std::uint64_t worker_memory_mib = 0;  // 0: the default (MatmulOptions::worker_memory)
  bool verify = false;
  double job_timeout = -1;  // seconds; negative: the default (none)
};

struct Shape {
  std::size_t m = 0, k = 0, n = 0;
};

Shape parse_random(const std::string& text) {
  Shape s;
  char x1 = 0, x2 = 0;
  int used = 0;
  if (std::sscanf(text.c_str(), "%zu%c%zu%c%zu%n", &s.m, &x1, &s.k, &x2, &s.n, &used) != 5 ||
      static_cast<std::size_t>(used) != text.size() || (x1 != 'x' && x1 != 'X') ||
      (x2 != 'x' && x2 != 'X') || s.m == 0 || s.k == 0 || s.n == 0)
    throw InputError("--random takes MxKxN, three positive sizes such as 1024x1024x1024, not '" +
                     text + "'");
  return s;
}

MatmulOperandInfo describe(const matmul::NpyFile& f) {
  return {f.name(), f.rows(), f.cols(), std::string(matmul::to_string(f.header().dtype)),
          f.header().fortran_order};
}

int run(const MatmulFlags& flags) {
  // Everything the user gave is checked before any work.
  ExecutorOptions exec = flags.common.executor_options();
  apply_job_timeout(exec, flags.job_timeout, 0);
  if (!flags.random.empty() && !flags.inputs.empty())
    throw InputError("give either A.npy B.npy or --random MxKxN, not both");
  if (flags.random.empty() && flags.inputs.size() != 2)
    throw InputError("give two input files, A.npy B.npy, or --random MxKxN");
  std::optional<matmul::Dtype> dtype;
  if (!flags.dtype.empty()) {
    dtype = matmul::parse_dtype(flags.dtype);
    if (!dtype) throw InputError("unknown --dtype '" + flags.dtype + "' (f32, f64)");
  }
  CommandOutputs outputs;
  outputs.add("-o", flags.output);
  outputs.add("--json", flags.common.json_path);
  outputs.refuse_inputs(std::vector<std::filesystem::path>(flags.inputs.begin(), flags.inputs.end()));
  // With an output on stdout, stdout holds that output alone.
  const bool quiet = flags.common.quiet || outputs.uses_stdout();
  std::optional<Shape> random_shape;
  if (!flags.random.empty()) random_shape = parse_random(flags.random);
  // The kernel is chosen here, before any worker or thread exists, so that all inherit it.
  matmul::KernelRequest request =
      matmul::kernel_request(flags.kernel, std::getenv(matmul::kKernelEnvironment.data()));
  MatmulTestHooks hooks = MatmulTestHooks::from_environment();
  matmul::KernelChoice kernel;
  try {
    kernel = matmul::choose_kernel(request, hooks.cpu_features());
  } catch (const matmul::KernelError& e) {
    throw InputError(fmt::format("{}: {}", matmul::to_string(request.source), e.what()));
  }

  // mpi: ranks but 0 load nothing, print nothing: they compute the tiles rank 0 sends.
  if (!Executor(exec).is_coordinator()) {
    matmul::MatmulOptions options;
    options.executor = exec;
    hooks.install(options);
    matmul::serve_product(options);
    return kExitOk;
  }

  MatmulReport report;
  report.backend = std::string(to_string(exec.backend));
  if (exec.backend == Backend::processes) report.transport = std::string(ipc::to_string(exec.transport));
  report.workers = Executor(exec).workers();
  report.output = flags.output;
  report.kernel = kernel.name;
  report.kernel_chosen_by = std::string(matmul::to_string(kernel.source));
  report.kernel_library = matmul::kernel_library();

  matmul::MatmulOptions options;
  options.executor = exec;
  options.tile = flags.tile;
  options.distribution = matmul::parse_distribution(flags.distribute);  // "auto": empty
  options.worker_memory = flags.worker_memory_mib << 20;
  hooks.install(options);

  // Load: read from the files straight into the memory the workers reach.
  auto load_start = Clock::now();
  std::optional<matmul::Operands> ops;
  try {
    if (random_shape) {
      report.dtype = dtype.value_or(matmul::Dtype::f64);
      report.seed = flags.seed;
      ops.emplace(matmul::random_operands(report.dtype, random_shape->m, random_shape->k,
                                          random_shape->n, flags.seed, &options));
      report.a = {"random", random_shape->m, random_shape->k, "", false};
      report.b = {"random", random_shape->k, random_shape->n, "", false};
    } else {
      matmul::NpyFile a = matmul::NpyFile::open(flags.inputs[0]);
      matmul::NpyFile b = matmul::NpyFile::open(flags.inputs[1]);
      // Like numpy: float32 times float32 stays float32, anything with float64 is float64.
      bool both_f32 = a.header().dtype == matmul::Dtype::f32 && b.header().dtype == matmul::Dtype::f32;
      report.dtype = dtype.value_or(both_f32 ? matmul::Dtype::f32 : matmul::Dtype::f64);
      report.a = describe(a);
      report.b = describe(b);
      ops.emplace(matmul::load_operands(a, b, report.dtype, &options));
    }
  } catch (const matmul::NpyError& e) {
    throw InputError(e.what());
  }
  report.load_seconds = seconds_since(load_start);
  report.operands_bytes = matmul::Operands::bytes_needed(ops->dtype(), ops->m(), ops->k(), ops->n());
  // Peak memory: sampled once loaded, as tiles end (every tile's end at most every 20 ms, and
  // the last one, when C is whole and the workers still live) and after the product.
  PeakPoolMemory memory;
  memory.sample();
  report.m = ops->m();
  report.k = ops->k();
  report.n = ops->n();
  if (report.a.dtype.empty()) report.a.dtype = report.b.dtype = std::string(matmul::to_string(report.dtype));

  // Compute.
  matmul::TilePlan plan = matmul::plan_product(*ops, options);
  double flops = 2.0 * static_cast<double>(report.m) * static_cast<double>(report.k) *
                 static_cast<double>(report.n);
  ProgressBar bar("matmul", plan.tiles.size(), "tiles",
                  !quiet && stderr_is_terminal() && flops >= kProgressFlops);
  std::size_t tiles_done = 0;
  report.run = matmul::multiply(*ops, plan, options, [&](const matmul::Tile&) {
    bar.advance();
    if (++tiles_done == plan.tiles.size()) memory.sample();
    else memory.sample_now_and_then();
  });
  bar.finish();
  memory.sample();
  report.peak_memory = memory.peak();
  hooks.after_product(*ops);
  if (report.run.workers > 0) report.workers = report.run.workers;

  int exit_code = kExitOk;
  if (report.run.interrupted) {
    report.status = "interrupted";
    fmt::print(stderr, "forkpool: interrupted by {}; C not written\n",
               report.run.interrupt_signal == SIGTERM ? "SIGTERM" : "SIGINT");
    exit_code = kExitInterrupted;
  } else if (!report.run.failures.empty()) {
    report.status = "failed";
    for (const auto& failure : report.run.failures) fmt::print(stderr, "forkpool: {}\n", failure);
    fmt::print(stderr, "forkpool: {} of {} tiles failed; C not written\n", report.run.failures.size(),
               plan.tiles.size());
    exit_code = kExitSomeFailed;
  }

  if (exit_code == kExitOk && flags.verify) {
    auto start = Clock::now();
    report.verify = matmul::freivalds_check(report.dtype, ops->a(), ops->b(), ops->c(), report.m,
                                            report.k, report.n);
    report.verify_seconds = seconds_since(start);
    if (!report.verify->passed) {
      report.status = "failed";
      fmt::print(stderr, "forkpool: verification failed: relative error {:.2e} exceeds {:.2e}; C not written\n",
                 report.verify->relative_error, report.verify->tolerance);
      exit_code = kExitSomeFailed;
    }
  }

  if (exit_code == kExitOk && !flags.output.empty()) {
    auto start = Clock::now();
    try {
      // Ctrl-C must not stop the process between writing C's temporary file and renaming or
      // removing it: SIGINT and SIGTERM go to their one owner, a SignalCatcher, while C is
      // written, and one that came is honoured once C is whole.
      auto catcher = ipc::SignalCatcher::create({SIGINT, SIGTERM});
      if (!catcher) throw std::runtime_error("cannot catch SIGINT/SIGTERM: " + catcher.error().message());
      matmul::write_npy(flags.output, report.dtype, report.m, report.n, ops->c_bytes());
      report.write_seconds = seconds_since(start);
      if (auto sig = catcher->take(); sig && *sig) {
        fmt::print(stderr, "forkpool: interrupted by {} once C was written; no report\n",
                   ipc::signal_name(**sig));
        return kExitInterrupted;
      }
    } catch (const std::runtime_error& e) {
      // The product is done; only its file is missing: a failed output, not bad usage.
      fmt::print(stderr, "forkpool: C not written: {}\n", e.what());
      report.status = "failed";
      report.output.clear();
      exit_code = kExitSomeFailed;
    }
  } else {
    report.output.clear();
  }

  if (!quiet) fmt::print("{}", format_text(report));
  if (!flags.common.json_path.empty() &&
      !write_report("the JSON report", flags.common.json_path, json_report(report)) &&
      exit_code == kExitOk)
    exit_code = kExitSomeFailed;
  return exit_code;
}

void setup(CLI::App& root, CommandRunner& chosen) {
  auto flags = std::make_shared<MatmulFlags>();
  CLI::App* cmd = root.add_subcommand(
      "matmul", "Multiply two matrices from .npy files on a process pool, a thread pool or one thread");
  cmd->add_option("inputs", flags->inputs, "A.npy B.npy: 2-D float32/float64 arrays, M x K and K x N")
      ->type_name("FILE");
  cmd->add_option("-o,--output", flags->output,
                  "Write C = A B to this .npy file (without it C is computed but not saved)")
      ->type_name("FILE");
  cmd->add_option("--random", flags->random, "Multiply random matrices of shape MxKxN instead of files")
      ->type_name("MxKxN");
  cmd->add_option("--dtype", flags->dtype,
                  "Element type of the product (default: f64 with --random; with files, f32 if "
                  "both are float32, else f64)")
      ->type_name("TYPE")
      ->check(CLI::IsMember({"f32", "f64"}));
  std::vector<std::string> kernels{"auto"};
  for (const auto& k : matmul::available_kernels()) kernels.push_back(k.name);
  cmd->add_option("--kernel", flags->kernel,
                  "What multiplies the tiles: auto (the fastest this CPU runs, by its cpuid "
                  "features) or a named one; default: $FORKPOOL_MATMUL_KERNEL, else OpenBLAS's "
                  "own $OPENBLAS_CORETYPE when set, else auto")
      ->type_name("KERNEL")
      ->check(CLI::IsMember(kernels));
  cmd->add_option("--seed", flags->seed, "Seed of --random")->type_name("N")->capture_default_str();
  cmd->add_option("--tile", flags->tile,
                  "Square tiles of C of this edge (rounded up to the kernel's register blocking; "
                  "an edge beyond C is C); default: full-width row panels, two per worker")
      ->type_name("N")
      ->check(whole_number(1, kMaxTile));
  cmd->add_option("--distribute", flags->distribute,
                  "Where workers do not share this process's memory (mpi, processes over a "
                  "copying transport), how B reaches them: broadcast (all of B to every worker "
                  "once, jobs carry rows of A), blocks (jobs are 2-D blocks of C carrying their "
                  "rows of A and columns of B: no worker holds all of B), or auto (broadcast "
                  "unless all of B does not fit in --worker-memory); see docs/mpi.md")
      ->type_name("HOW")
      ->check(CLI::IsMember({"auto", "broadcast", "blocks"}))
      ->capture_default_str();
  cmd->add_option("--worker-memory", flags->worker_memory_mib,
                  "MiB of the product a worker may hold at once: bounds the blocks of "
                  "--distribute blocks and decides auto; default: this machine's available "
                  "memory divided by the workers")
      ->type_name("MIB")
      ->check(whole_number(1, kMaxWorkerMemoryMib));
  cmd->add_flag("--verify", flags->verify,
                "Check C with Freivalds' test (3 rounds); exit 2 if it fails");
  add_job_timeout_flag(*cmd, flags->job_timeout, "none (a tile of a large product may take hours)");
  add_common_flags(*cmd, flags->common);
  cmd->footer(
      "Exit status: 0 done; 1 bad usage or input (nothing is computed); 2 tiles failed or --verify "
      "failed (C is not written), or C or the report could not be written; 130 interrupted.");
  cmd->callback([flags, &chosen] { chosen = [flags] { return run(*flags); }; });
}

const bool registered = register_command(&setup);

}  // namespace
}  // namespace forkpool::cli
