#pragma once
// C = A * B on any backend: the operands where workers reach them in place, C cut into tiles,
// each tile a job for the executor.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <string>
#include <vector>

#include "forkpool/exec/executor.hpp"
#include "forkpool/exec/shared_arena.hpp"
#include "forkpool/ipc/private_memory.hpp"
#include "forkpool/matmul/npy.hpp"
#include "forkpool/matmul/tile_plan.hpp"

namespace forkpool::matmul {

// Where C lives. Workers that are threads of this process (Executor::shares_address_space:
// serial, threads) reach all of its memory, so C can be private memory in huge pages, as
// numpy's result is; forked workers (processes over shm) reach it only in a SharedArena, whose
// tmpfs pages are 4 KiB. docs/matmul.md ("Where A, B and C live") has the measurements.
enum class ResultMemory { shared, private_to_process };

// The C that `executor`'s workers can write in place at the least cost.
[[nodiscard]] ResultMemory result_memory_for(const Executor& executor);

// A (m x k), B (k x n) and C (m x n), row-major, one element type. A and B are private memory
// in transparent huge pages (ipc::PrivateMemory): filled before the workers are forked, they
// reach every worker through fork's copy of the page tables, without a fault or a copy, and
// nothing writes them afterwards. C is in a SharedArena or, for workers that are threads of
// this process, in private huge pages too (ResultMemory). Made by the coordinator before
// Executor::run(); workers only read A and B and write their own blocks of C. Move-only.
class Operands {
 public:
  // Bytes the three matrices take.
  static std::size_t bytes_needed(Dtype dtype, std::size_t m, std::size_t k, std::size_t n);

  // Throws std::runtime_error when the memory cannot be had; check_operands_fit() first, since
  // memory is only really given when touched.
  Operands(Dtype dtype, std::size_t m, std::size_t k, std::size_t n, ResultMemory c_memory);

  [[nodiscard]] Dtype dtype() const noexcept { return dtype_; }
  [[nodiscard]] std::size_t m() const noexcept { return m_; }
  [[nodiscard]] std::size_t k() const noexcept { return k_; }
  [[nodiscard]] std::size_t n() const noexcept { return n_; }
  [[nodiscard]] ResultMemory c_memory() const noexcept { return c_memory_; }
  [[nodiscard]] std::byte* a() const noexcept { return private_.data(); }
  [[nodiscard]] std::byte* b() const noexcept { return private_.data() + b_; }
  [[nodiscard]] std::byte* c() const noexcept { return c_; }
  [[nodiscard]] std::span<const std::byte> c_bytes() const noexcept {
    return {c(), m_ * n_ * size_of(dtype_)};
  }

 private:
  Dtype dtype_;
  std::size_t m_, k_, n_;
  ResultMemory c_memory_;
  ipc::PrivateMemory private_;  // A, B, and C when it is private
  SharedArena shared_;          // C when it is shared; one byte otherwise
  std::size_t b_ = 0;
  std::byte* c_ = nullptr;
};

// Refuses, with NpyError naming the sizes, operands that would not fit: more than the memory
// available (MemAvailable), or a shared C larger than the free space of /dev/shm. `what` names
// the operands in the message.
void check_operands_fit(Dtype dtype, std::size_t m, std::size_t k, std::size_t n,
                        ResultMemory c_memory, std::string_view what);

// Operands for A * B read from two .npy files, in `dtype` (the files' own type is converted).
// Refuses, with NpyError and before allocating anything, inner dimensions that differ and
// operands that do not fit (check_operands_fit); throws NpyError when a file changed since it was
// opened or cannot be read.
Operands load_operands(const NpyFile& a, const NpyFile& b, Dtype dtype, ResultMemory c_memory);

// Operands with A and B uniform in [-1, 1) from `seed` (B from seed + 1). Refuses with
// NpyError what does not fit in memory.
Operands random_operands(Dtype dtype, std::size_t m, std::size_t k, std::size_t n,
                         std::uint64_t seed, ResultMemory c_memory);

struct MatmulOptions {
  ExecutorOptions executor;
  std::size_t tile = 0;  // square tile edge; 0: row panels or bounded blocks (plan_product)
  // How the jobs reach B (tile_plan.hpp). Empty: plan_product chooses — broadcast where the
  // workers reach the operands in place or all of B fits in worker_memory, blocks elsewhere.
  std::optional<Distribution> distribution;
  // Bytes of the product a worker may hold at once; what bounds the blocks. 0: the memory
  // available on this machine when planning (MemAvailable, the operands already loaded)
  // divided by the workers, as if every worker ran here (on several hosts, give it).
  std::size_t worker_memory = 0;
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

// The tiles multiply() cuts C of `ops` into with `options`, and how their jobs reach B
// (MatmulOptions::distribution): broadcast, full-width row panels (plan_tiles) or square tiles
// of options.tile; blocks, a bounded 2-D grid (plan_blocks, worker_memory the budget of one
// job) or square tiles of options.tile. Asks the executor, never the backend, whether its
// workers reach the operands in place.
TilePlan plan_product(const Operands& ops, const MatmulOptions& options);

// Computes C = A * B into `ops`, tile by tile of `plan`, on the backend `options` choose.
// Where the executor's workers share this process's memory (Executor::shares_memory: serial,
// threads, processes over shm) jobs carry tile coordinates and workers write C in place;
// elsewhere each job carries its rows of A and, with Distribution::blocks, its columns of B
// (with broadcast, B goes to each worker once as the shared input), and results carry C
// blocks that the coordinator copies into C. The jobs are made before the batch: with blocks
// the coordinator holds every job's panels at once (docs/mpi.md). `on_tile` runs on the
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
