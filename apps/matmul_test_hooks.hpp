#pragma once
// Faults the end-to-end tests inject into `forkpool matmul` on purpose. Enabled only by
// environment variables that the tests set; deliberately absent from --help.

#include <cstddef>
#include <optional>

#include "forkpool/ipc/shared_memory.hpp"
#include "forkpool/matmul/cpu_features.hpp"
#include "forkpool/matmul/matmul.hpp"

namespace forkpool::cli {

// FORKPOOL_MATMUL_TEST_KILL_TILE=i: the first worker to start tile i SIGKILLs itself (once per
// run, whichever process it is in), so the executor must recompute that tile.
// FORKPOOL_MATMUL_TEST_CORRUPT_C=1: one element of C is changed after the product, so
// --verify must fail. FORKPOOL_MATMUL_TEST_CPU_FEATURES=avx,fma,avx2: the kernel is chosen as
// for a CPU with only these features (cpu_features()). Made and used on the coordinator's main thread, before run_batch().
class MatmulTestHooks {
 public:
  static MatmulTestHooks from_environment();

  // Adds the kill to `options` (a no-op when the variable is unset).
  void install(matmul::MatmulOptions& options) const;
  // Corrupts C (a no-op when the variable is unset).
  void after_product(matmul::Operands& ops) const;
  // The CPU to choose the kernel for: the pretended one, else this one's.
  [[nodiscard]] matmul::CpuFeatures cpu_features() const;

 private:
  std::optional<std::size_t> kill_tile_;
  ipc::SharedMemory killed_once_;  // a flag every forked worker sees
  bool corrupt_c_ = false;
  std::optional<matmul::CpuFeatures> cpu_;
};

}  // namespace forkpool::cli
