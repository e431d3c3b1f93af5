#pragma once
// What `forkpool matmul` tells the user: the text summary on stdout and the --json report.

#include <optional>
#include <string>
#include <vector>

#include "forkpool/matmul/freivalds.hpp"
#include "forkpool/matmul/matmul.hpp"
#include "forkpool/exec/pool_memory.hpp"

namespace forkpool::cli {

// One operand as the user gave it.
struct MatmulOperandInfo {
  std::string source;  // the .npy path, or "random"
  std::size_t rows = 0, cols = 0;
  std::string dtype;   // as stored in the file: "f32", "f64"
  bool fortran_order = false;
};

// Everything one run measured. Filled by cmd_matmul on the main thread.
struct MatmulReport {
  MatmulOperandInfo a, b;
  std::string output;        // C's path; empty when not written
  matmul::Dtype dtype = matmul::Dtype::f64;
  std::string backend;
  std::optional<std::string> transport;  // processes only
  unsigned workers = 0;
  std::string kernel;        // what multiplies the tiles: "openblas-skylakex"
  std::string kernel_chosen_by;  // matmul::to_string(KernelSource): "CPU features", "--kernel"
  std::string kernel_library;    // matmul::kernel_library()
  std::size_t m = 0, k = 0, n = 0;
  matmul::MatmulRun run;
  std::uint64_t seed = 0;    // --random only
  double load_seconds = 0;
  double write_seconds = 0;
  std::optional<matmul::VerifyResult> verify;
  double verify_seconds = 0;
  std::size_t operands_bytes = 0;    // A, B and C in the shared arena
  PoolMemory peak_memory;    // largest PSS of coordinator + workers sampled
  std::string status = "ok";  // "ok", "failed" (tiles, --verify, or C not written), "interrupted"

  [[nodiscard]] double gflops() const;
};

// The human summary, several aligned lines ending in '\n'.
std::string format_text(const MatmulReport& report);

// The report as JSON text (the --json file).
std::string json_report(const MatmulReport& report);

}  // namespace forkpool::cli
