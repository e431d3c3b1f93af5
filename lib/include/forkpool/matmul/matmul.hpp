#pragma once
// C = A * B on any backend: the operands where workers reach them in place, C cut into tiles,
// each tile a job for the executor.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <string>
#include <vector>

#include "forkpool/exec/executor.hpp"
#include "forkpool/exec/worker_scratch.hpp"
#include "forkpool/ipc/private_memory.hpp"
#include "forkpool/matmul/npy.hpp"
#include "forkpool/matmul/tile_plan.hpp"

namespace forkpool::matmul {

struct MatmulOptions;

// A (m x k), B (k x n) and C (m x n), row-major, one element type, all three in this process's
// private memory in transparent huge pages (ipc::PrivateMemory), as numpy's arrays are. A and
// B, filled before the workers are forked, reach every worker through fork's copy of the page
// tables, without a fault or a copy, and nothing writes them afterwards. C is written by
// workers that are threads of this process in place; forked workers write their blocks into it
// with one cross-memory copy each (multiply()). docs/matmul.md ("Where A, B and C live") has
// the measurements. Made by the coordinator before Executor::run(). Move-only.
class Operands {
 public:
  // Bytes the three matrices take.
  static std::size_t bytes_needed(Dtype dtype, std::size_t m, std::size_t k, std::size_t n);

  // Throws std::runtime_error when the memory cannot be had; check_operands_fit() first, since
  // memory is only really given when touched.
  Operands(Dtype dtype, std::size_t m, std::size_t k, std::size_t n);

  [[nodiscard]] Dtype dtype() const noexcept { return dtype_; }
  [[nodiscard]] std::size_t m() const noexcept { return m_; }
  [[nodiscard]] std::size_t k() const noexcept { return k_; }
  [[nodiscard]] std::size_t n() const noexcept { return n_; }
  [[nodiscard]] std::byte* a() const noexcept { return memory_.data(); }
  [[nodiscard]] std::byte* b() const noexcept { return memory_.data() + b_; }
  [[nodiscard]] std::byte* c() const noexcept { return memory_.data() + c_; }
  [[nodiscard]] std::span<const std::byte> c_bytes() const noexcept {
    return {c(), m_ * n_ * size_of(dtype_)};
  }

  // Where `product`'s workers are forked processes that reach these operands in place: scratch
  // for each to compute its blocks in before it copies them into C (multiply()), so that no
  // worker is first given fresh pages mid-product. Mapped with C by load_operands() and
  // random_operands(). The first product with forked workers takes it; later ones allocate
  // their own in each worker, as without it.
  void prepare_for(const MatmulOptions& product);
  [[nodiscard]] WorkerScratch* worker_scratch() const noexcept { return scratch_.get(); }

 private:
  Dtype dtype_;
  std::size_t m_, k_, n_;
  ipc::PrivateMemory memory_;  // A, then B, then C
  std::size_t b_ = 0, c_ = 0;  // their offsets
  std::unique_ptr<WorkerScratch> scratch_;  // prepare_for(); the executor needs a stable address
};

// Refuses, with NpyError naming the sizes, operands that would not fit: more than the memory
// available (MemAvailable). `what` names the operands in the message.
void check_operands_fit(Dtype dtype, std::size_t m, std::size_t k, std::size_t n,
                        std::string_view what);

// Operands for A * B read from two .npy files, in `dtype` (the files' own type is converted).
// Refuses, with NpyError and before allocating anything, inner dimensions that differ and
// operands that do not fit (check_operands_fit); throws NpyError when a file changed since it was
// opened or cannot be read. `product`, when given: the product these operands are for
// (Operands::prepare_for()).
Operands load_operands(const NpyFile& a, const NpyFile& b, Dtype dtype,
                       const MatmulOptions* product = nullptr);

// Operands with A and B uniform in [-1, 1) from `seed` (B from seed + 1). Refuses with
// NpyError what does not fit in memory.
Operands random_operands(Dtype dtype, std::size_t m, std::size_t k, std::size_t n,
                         std::uint64_t seed, const MatmulOptions* product = nullptr);

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
// threads, processes over shm) jobs carry tile coordinates and workers read A and B in place;
// threads write their blocks of C in place, forked workers compute theirs in their scratch
// (Operands::prepare_for; else a buffer of their own) and copy it into this process's C
// (ipc::write_to_process: one copy, no shared segment), or, where the system refuses that copy
// (a seccomp filter, Yama's ptrace_scope 2), send it back as their result, which is then
// copied in here. Elsewhere each job carries its rows of A and, with Distribution::blocks, its
// columns of B (with broadcast, B goes to each worker once as the shared input), and results
// carry C blocks that the coordinator copies into C. The jobs are made before the batch: with
// blocks the coordinator holds every job's panels at once (docs/mpi.md). `on_tile` runs on the
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
