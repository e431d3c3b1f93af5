#pragma once
// C = A * B on any backend: the operands in one shared-memory arena, C cut into tiles, each
// tile a job for the executor.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "forkpool/exec/executor.hpp"
#include "forkpool/exec/shared_arena.hpp"
#include "forkpool/matmul/npy.hpp"
#include "forkpool/matmul/tile_plan.hpp"

namespace forkpool::matmul {

// A (m x k), B (k x n) and C (m x n), row-major, one element type, in one SharedArena so that
// forked workers reach all three in place. Made by the coordinator before run_batch(); workers
// only read A and B and write their own blocks of C. Move-only (it owns the arena).
class Operands {
 public:
  // Bytes of shared memory the three matrices take.
  static std::size_t bytes_needed(Dtype dtype, std::size_t m, std::size_t k, std::size_t n);

  // Throws std::runtime_error when the arena cannot be made; check memory_available() first,
  // since an oversized shared segment fails only when touched.
  Operands(Dtype dtype, std::size_t m, std::size_t k, std::size_t n);

  [[nodiscard]] Dtype dtype() const noexcept { return dtype_; }
  [[nodiscard]] std::size_t m() const noexcept { return m_; }
  [[nodiscard]] std::size_t k() const noexcept { return k_; }
  [[nodiscard]] std::size_t n() const noexcept { return n_; }
  [[nodiscard]] std::byte* a() const noexcept { return arena_.at(a_); }
  [[nodiscard]] std::byte* b() const noexcept { return arena_.at(b_); }
  [[nodiscard]] std::byte* c() const noexcept { return arena_.at(c_); }
  [[nodiscard]] std::span<const std::byte> c_bytes() const noexcept {
    return {c(), m_ * n_ * size_of(dtype_)};
  }

 private:
  Dtype dtype_;
  std::size_t m_, k_, n_;
  SharedArena arena_;
  std::size_t a_ = 0, b_ = 0, c_ = 0;
};

// Bytes this process can still put in shared memory: the smaller of the memory available
// (MemAvailable) and the free space of /dev/shm.
std::size_t memory_available();

// Operands for A * B read from two .npy files, in `dtype` (the files' own type is converted).
// Refuses, with NpyError and before allocating anything, inner dimensions that differ and
// operands larger than memory_available(); throws NpyError when a file changed since it was
// opened or cannot be read.
Operands load_operands(const NpyFile& a, const NpyFile& b, Dtype dtype);

// Operands with A and B uniform in [-1, 1) from `seed` (B from seed + 1). Refuses with
// NpyError what does not fit in memory.
Operands random_operands(Dtype dtype, std::size_t m, std::size_t k, std::size_t n,
                         std::uint64_t seed);

struct MatmulOptions {
  ExecutorOptions executor;
  std::size_t tile = 0;  // square tile edge; 0: row panels (see plan_tiles)
  // Called in the worker before it computes tile `index`, on every attempt. For tests that kill
  // a worker mid-product; empty otherwise.
  std::function<void(std::size_t index)> before_tile;
};

struct MatmulRun {
  TilePlan plan;
  unsigned workers = 0;
  unsigned workers_replaced = 0;
  unsigned workers_lost = 0;  // could not be started or replaced; the others did their tiles
  double compute_seconds = 0;
  bool interrupted = false;
  int interrupt_signal = 0;
  std::vector<std::string> failures;  // one line per tile that failed: which block, and why
  std::chrono::nanoseconds startup{0};  // BatchReport::startup: how long the workers took to start
  // Bytes of the jobs, their results and the shared input (once per worker) given to the
  // executor: what crossed channels, where workers do not share memory.
  std::uint64_t payload_bytes = 0;
  [[nodiscard]] bool complete() const noexcept { return !interrupted && failures.empty(); }
};

// The tiles multiply() cuts C of `ops` into with `options` (for a progress bar's total).
TilePlan plan_product(const Operands& ops, const MatmulOptions& options);

// Computes C = A * B into `ops`, tile by tile of `plan`, on the backend `options` choose.
// Where the executor's workers share this process's memory (Executor::shares_memory: serial,
// threads, processes over shm) jobs carry tile coordinates and workers write C in place;
// elsewhere each job carries its rows of A, B goes to each worker once as the shared input,
// and results carry C blocks that the coordinator copies into C. `on_tile` runs on the
// calling thread as each tile ends. Call it before this process starts a thread pool (it may
// fork).
MatmulRun multiply(Operands& ops, const TilePlan& plan, const MatmulOptions& options,
                   const std::function<void(const Tile&)>& on_tile = {});

// multiply()'s other half where this process is not the coordinator
// (Executor(options.executor).is_coordinator() false: an mpi rank but 0): computes the tiles
// the coordinator's multiply() sends, from the rows of A each job carries and B delivered once,
// and returns when the coordinator's product has ended. Needs no operands.
void serve_product(const MatmulOptions& options);

}  // namespace forkpool::matmul
