#include "forkpool/matmul/matmul.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <Eigen/Core>
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <limits>
#include <system_error>
#include <thread>

#include "forkpool/ipc/cross_memory.hpp"
#include "forkpool/matmul/kernels.hpp"

namespace forkpool::matmul {

namespace {

constexpr std::size_t kAlignment = 64;
constexpr std::size_t kHugePage = std::size_t{2} << 20;

std::size_t round_up(std::size_t bytes, std::size_t to) { return (bytes + to - 1) / to * to; }
std::size_t padded(std::size_t bytes) { return round_up(bytes, kAlignment); }

std::string gib(std::size_t bytes) {
  return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
}

std::size_t mem_available() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::size_t value = 0;
  std::string unit;
  while (meminfo >> key >> value >> unit)
    if (key == "MemAvailable:") return value * 1024;
  return std::numeric_limits<std::size_t>::max();
}

// The fixed part of every job message: which tile of which product. With workers that do not
// share the coordinator's memory the tile's rows of A follow it and, when b_panel is 1, its
// columns of B after them (Distribution::blocks); the job says all a worker needs besides B
// (the shared input, when b_panel is 0): such a worker never sees the operands' files, nor is
// it told anything at start but what the executor delivers.
struct TileJob {
  std::uint64_t index, row, col, rows, cols;
  std::uint64_t k, n, dtype;  // dtype: Dtype's value
  std::uint64_t b_panel;      // 1: B's columns col..col+cols-1 (k x cols) follow A's rows
};

// The job, and its panels where the worker cannot reach the operands: `a` rows x k, contiguous
// in A; B's columns copied out of the k x n row-major `b` into a k x cols block.
Bytes encode(const TileJob& job, std::span<const std::byte> rows_of_a, const std::byte* b,
             std::size_t es) {
  const std::size_t row_bytes = job.b_panel ? job.cols * es : 0;
  Bytes out(sizeof job + rows_of_a.size() + job.k * row_bytes);
  std::memcpy(out.data(), &job, sizeof job);
  std::byte* at = out.data() + sizeof job;
  if (!rows_of_a.empty()) std::memcpy(at, rows_of_a.data(), rows_of_a.size());
  at += rows_of_a.size();
  for (std::size_t r = 0; row_bytes > 0 && r < job.k; ++r, at += row_bytes)
    std::memcpy(at, b + (r * job.n + job.col) * es, row_bytes);
  return out;
}

TileJob decode(std::span<const std::byte> input) {
  if (input.size() < sizeof(TileJob)) throw std::runtime_error("matmul job message too short");
  TileJob job;
  std::memcpy(&job, input.data(), sizeof job);
  return job;
}

// The most a forked worker holds of its block of C at once. A block larger than this is
// computed in strips of columns, each copied out before the next: every strip packs its own
// columns of B (no more of B in all), and A's rows once more per strip, which costs little
// while a strip is hundreds of columns wide.
constexpr std::size_t kBlockBufferBytes = std::size_t{32} << 20;
constexpr std::size_t kNarrowestStrip = 256;

// Columns of a strip of a block of `rows` x `cols` (element size `es`).
std::size_t strip_columns(std::size_t rows, std::size_t cols, std::size_t es) {
  return std::min(cols, std::max(kNarrowestStrip, kBlockBufferBytes / std::max<std::size_t>(rows * es, 1)));
}

// Whether a failed cross-memory copy means this system does not allow it (a seccomp filter,
// Yama's ptrace_scope 2 or 3, a non-dumpable coordinator) rather than that something broke.
bool copy_refused(const ipc::SysError& e) {
  return e.code == EPERM || e.code == EACCES || e.code == ENOSYS;
}

// A forked worker's block of C, C's top-left corner at `c` in the coordinator's memory: computed
// in this process's own memory and copied into the coordinator's C with write_to_process(),
// row by row. That memory is `scratch` (Operands::prepare_for: its pages mapped while the
// operands loaded) where it is large enough, else a buffer in huge pages that this process
// keeps from block to block (so that only its first block faults pages in). The coordinator's
// C is private memory in huge pages, which this process, a copy of it made by fork, cannot
// write itself: without the copy, C would have to be a shared segment, whose 4 KiB pages every
// worker faults in anew (docs/matmul.md).
// Returns the block itself, to be sent back, where the system refuses the copy.
Bytes compute_block_for_coordinator(pid_t coordinator, Dtype dtype, const std::byte* a,
                                    std::size_t k, const std::byte* b, std::size_t n,
                                    std::byte* c, std::size_t rows, std::size_t cols,
                                    std::span<std::byte> scratch) {
  // One job at a time runs in a forked worker, so one buffer per process.
  static ipc::PrivateMemory buffer;
  static bool refused = false;
  const std::size_t es = size_of(dtype);
  if (refused) {
    Bytes out(rows * cols * es);
    multiply_block(dtype, a, k, b, n, out.data(), cols, rows, k, cols);
    return out;
  }
  const std::size_t strip = strip_columns(rows, cols, es);
  std::byte* block = scratch.data();
  if (scratch.size() < rows * strip * es) {
    if (buffer.size() < rows * strip * es) {
      buffer = {};  // give the old one back before taking the larger one
      auto memory = ipc::PrivateMemory::create(rows * strip * es);
      if (!memory) throw std::runtime_error("block buffer: " + memory.error().message());
      buffer = std::move(*memory);
    }
    block = buffer.data();
  }
  std::vector<ipc::MemoryCopy> copies(rows);
  for (std::size_t col = 0; col < cols; col += strip) {
    const std::size_t width = std::min(strip, cols - col);
    multiply_block(dtype, a, k, b + col * es, n, block, width, rows, k, width);
    for (std::size_t r = 0; r < rows; ++r)
      copies[r] = {block + r * width * es,
                   reinterpret_cast<std::uintptr_t>(c + (r * n + col) * es), width * es};
    auto copied = ipc::write_to_process(coordinator, copies);
    if (copied) continue;
    if (!copy_refused(copied.error())) throw std::runtime_error(copied.error().message());
    refused = true;  // and this block, and every later one, goes back as a result
    return compute_block_for_coordinator(coordinator, dtype, a, k, b, n, c, rows, cols, scratch);
  }
  return {};
}

// One tile: where workers share this process's memory, A and B in place and C as above;
// elsewhere from the job's rows of A and B's columns in the job or the shared input's B,
// C's block sent back.
JobFunction tile_job(bool in_place, Dtype dtype, std::byte* a, std::byte* b, std::byte* c,
                     std::size_t k, std::size_t n,
                     const std::function<void(std::size_t)>& before_tile) {
  const std::size_t es = size_of(dtype);
  // Made in the coordinator: a worker in another process sees its own pid differ.
  const pid_t coordinator = ::getpid();
  return [=, &before_tile](std::span<const std::byte> input, const WorkerContext& ctx) -> Bytes {
    TileJob job = decode(input);
    if (before_tile) before_tile(job.index);
    if (in_place) {
      const std::byte* rows_of_a = a + job.row * k * es;
      std::byte* block_of_c = c + (job.row * n + job.col) * es;
      if (::getpid() != coordinator)
        return compute_block_for_coordinator(coordinator, dtype, rows_of_a, k, b + job.col * es,
                                             n, block_of_c, job.rows, job.cols, ctx.scratch);
      multiply_block(dtype, rows_of_a, k, b + job.col * es, n, block_of_c, n, job.rows, k,
                     job.cols);
      return {};
    }
    // Everything from the job and the shared input: nothing of this process's operands.
    if (job.dtype != static_cast<std::uint64_t>(Dtype::f32) &&
        job.dtype != static_cast<std::uint64_t>(Dtype::f64))
      throw std::runtime_error("matmul job of an unknown element type");
    const auto job_dtype = static_cast<Dtype>(job.dtype);
    const std::size_t jes = size_of(job_dtype);
    const std::size_t a_bytes = job.rows * job.k * jes;
    const std::size_t b_bytes = job.b_panel ? job.k * job.cols * jes : 0;
    if (input.size() != sizeof(TileJob) + a_bytes + b_bytes ||
        (!job.b_panel && ctx.shared_input.size() != job.k * job.n * jes) ||
        job.col + job.cols > job.n)
      throw std::runtime_error("matmul job message has the wrong size");
    const std::byte* panel_of_b = job.b_panel ? input.data() + sizeof(TileJob) + a_bytes
                                              : ctx.shared_input.data() + job.col * jes;
    Bytes out(job.rows * job.cols * jes);
    multiply_block(job_dtype, input.data() + sizeof(TileJob), job.k, panel_of_b,
                   job.b_panel ? job.cols : job.n, out.data(), job.cols, job.rows, job.k,
                   job.cols);
    return out;
  };
}

ExecutorOptions tile_executor_options(const ExecutorOptions& exec, bool in_place) {
  ExecutorOptions exec_options = exec;
  // A tile takes a long time next to handing out a job of 40 bytes: with one job in flight
  // per worker, the last tiles go to whichever worker is free first, which evens out the load.
  // The copying transports keep the executor's prefetch so a tile's rows of A arrive while the
  // previous tile is computed.
  if (in_place) exec_options.prefetch = 1;
  auto user_init = exec.worker_init;
  exec_options.worker_init = [user_init] {
    Eigen::initParallel();  // several threads of one process may call Eigen at once
    use_one_thread();       // one core per worker: N workers use N cores, not N^2
    if (user_init) user_init();
  };
  return exec_options;
}

}  // namespace

std::size_t Operands::bytes_needed(Dtype dtype, std::size_t m, std::size_t k, std::size_t n) {
  std::size_t es = size_of(dtype);
  return padded(m * k * es) + padded(k * n * es) + padded(m * n * es);
}

Operands::Operands(Dtype dtype, std::size_t m, std::size_t k, std::size_t n)
    : dtype_(dtype), m_(m), k_(k), n_(n) {
  const std::size_t es = size_of(dtype);
  b_ = padded(m * k * es);
  c_ = round_up(b_ + k * n * es, kHugePage);
  auto memory = ipc::PrivateMemory::create(c_ + m * n * es);
  if (!memory) throw std::runtime_error("operands: " + memory.error().message());
  memory_ = std::move(*memory);
  // C is this process's alone: forked workers copy their blocks into it (tile_job) and never
  // map it. Without this, a fork after C was written (a second product in one process, as
  // compare runs them) would share C's pages copy-on-write with the workers, and every block
  // copied in would cost this process a copy of each page it lands on.
  ::madvise(c(), memory_.size() - c_, MADV_DONTFORK);  // advice only: errors ignored
}

void Operands::prepare_for(const MatmulOptions& product) {
  // Only forked workers that reach the operands in place compute blocks to copy into C.
  const Executor executor(product.executor);
  if (!executor.shares_memory() || executor.shares_address_space()) return;
  const std::size_t es = size_of(dtype_);
  std::size_t bytes = 0;
  for (const Tile& t : plan_product(*this, product).tiles)
    bytes = std::max(bytes, t.rows * strip_columns(t.rows, t.cols, es) * es);
  scratch_ = std::make_unique<WorkerScratch>(executor.workers(), bytes);
}

void check_operands_fit(Dtype dtype, std::size_t m, std::size_t k, std::size_t n,
                        std::string_view what) {
  const std::size_t es = size_of(dtype);
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max() / 4;
  if (m > kMax / k / es || k > kMax / n / es || m > kMax / n / es)
    throw NpyError(fmt::format("{}: the product is too large to address", what));
  const std::size_t need = Operands::bytes_needed(dtype, m, k, n);
  if (std::size_t have = mem_available(); need > have)
    throw NpyError(fmt::format("{}: A, B and C need {} of memory, only {} is available", what,
                               gib(need), gib(have)));
}

// C at least this large has its pages mapped on a thread of their own while A and B load.
constexpr std::size_t kMapCBesideLoadBytes = std::size_t{16} << 20;

// Runs `load` (which fills A and B) and maps C's pages, and the workers' scratch where there is
// one. Memory is zeroed by the kernel when it is first touched, which would otherwise fall in
// the product's time, where threads write their blocks or workers copy theirs into C, and in
// whichever configuration `compare matmul` runs first. The load itself (fill_uniform, reading
// a file) keeps one core busy, so C is mapped on another thread meanwhile; below
// kMapCBesideLoadBytes, where the thread would cost more than it saves, on this one after the
// load. No thread of it is left when this returns or throws.
void load_and_map_c(const Operands& ops, const std::function<void()>& load) {
  const std::span<const std::byte> c = ops.c_bytes();
  const WorkerScratch* scratch = ops.worker_scratch();
  auto map_c = [c, scratch] {
    ipc::map_for_writing(c.data(), c.size());
    if (scratch) scratch->map_pages();
  };
  std::jthread mapper;
  if (c.size() >= kMapCBesideLoadBytes) {
    try {
      mapper = std::jthread(map_c);
    } catch (const std::system_error&) {
      // No thread to be had: mapped below, after the load.
    }
  }
  load();
  if (!mapper.joinable()) map_c();
}

Operands load_operands(const NpyFile& a, const NpyFile& b, Dtype dtype,
                       const MatmulOptions* product) {
  if (a.cols() != b.rows())
    throw NpyError(fmt::format("cannot multiply {} ({}x{}) by {} ({}x{}): {} columns but {} rows",
                               a.name(), a.rows(), a.cols(), b.name(), b.rows(), b.cols(),
                               a.cols(), b.rows()));
  std::size_t m = a.rows(), k = a.cols(), n = b.cols();
  check_operands_fit(dtype, m, k, n, fmt::format("{} x {}", a.name(), b.name()));
  Operands ops(dtype, m, k, n);
  if (product) ops.prepare_for(*product);
  // Read straight into A's and B's memory: no second copy, and a file that changes meanwhile
  // is an NpyError rather than a SIGBUS from a mapping.
  load_and_map_c(ops, [&] {
    a.read_row_major(dtype, ops.a());
    b.read_row_major(dtype, ops.b());
  });
  return ops;
}

Operands random_operands(Dtype dtype, std::size_t m, std::size_t k, std::size_t n,
                         std::uint64_t seed, const MatmulOptions* product) {
  if (m == 0 || k == 0 || n == 0) throw NpyError("--random: every dimension must be at least 1");
  check_operands_fit(dtype, m, k, n, fmt::format("--random {}x{}x{}", m, k, n));
  Operands ops(dtype, m, k, n);
  if (product) ops.prepare_for(*product);
  load_and_map_c(ops, [&] {
    fill_uniform(dtype, ops.a(), m * k, seed);
    fill_uniform(dtype, ops.b(), k * n, seed + 1);
  });
  return ops;
}

TilePlan plan_product(const Operands& ops, const MatmulOptions& options) {
  const Executor executor(options.executor);
  const unsigned workers = executor.workers();
  const std::size_t m = ops.m(), k = ops.k(), n = ops.n(), es = size_of(ops.dtype());
  const std::size_t granule = register_blocking(ops.dtype());
  const bool in_place = executor.shares_memory();
  const std::size_t budget =
      options.worker_memory > 0 ? options.worker_memory : mem_available() / std::max(workers, 1u);

  TilePlan broadcast = plan_tiles(m, n, workers, granule, options.tile);
  // All of B, and one job's rows of A and block of C.
  const std::size_t broadcast_bytes =
      block_job_bytes(broadcast.tile_rows, broadcast.tile_cols, k, es) -
      broadcast.tile_cols * k * es + k * n * es;
  Distribution chosen = options.distribution.value_or(
      in_place || broadcast_bytes <= budget ? Distribution::broadcast : Distribution::blocks);
  if (chosen == Distribution::broadcast) {
    broadcast.worker_bytes = in_place ? 0 : broadcast_bytes;
    return broadcast;
  }
  TilePlan blocks = options.tile > 0 ? plan_tiles(m, n, workers, granule, options.tile)
                                     : plan_blocks(m, k, n, es, workers, granule, budget);
  blocks.distribution = Distribution::blocks;
  blocks.worker_bytes = in_place ? 0 : block_job_bytes(blocks.tile_rows, blocks.tile_cols, k, es);
  return blocks;
}

MatmulRun multiply(Operands& ops, const TilePlan& plan, const MatmulOptions& options,
                   const std::function<void(const Tile&)>& on_tile) {
  const Dtype dtype = ops.dtype();
  const std::size_t es = size_of(dtype), k = ops.k(), n = ops.n();
  const ExecutorOptions& exec = options.executor;

  MatmulRun run;
  run.plan = plan;
  const auto& tiles = run.plan.tiles;

  // Workers that share this process's memory reach A and B in place, and C in place or with a
  // cross-memory copy (tile_job). The others get their rows of A with each job, B once as the
  // shared input (broadcast) or their columns of B with each job (blocks), and send their
  // blocks of C back.
  const bool in_place = Executor(exec).shares_memory();
  const bool b_in_jobs = !in_place && run.plan.distribution == Distribution::blocks;
  std::vector<Bytes> jobs;
  jobs.reserve(tiles.size());
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    const Tile& t = tiles[i];
    TileJob job{i, t.row, t.col, t.rows, t.cols, k, n, static_cast<std::uint64_t>(dtype),
                b_in_jobs ? 1u : 0u};
    std::span<const std::byte> rows_of_a;
    if (!in_place) rows_of_a = {ops.a() + t.row * k * es, t.rows * k * es};
    jobs.push_back(encode(job, rows_of_a, ops.b(), es));
  }
  std::span<const std::byte> shared_input;
  if (!in_place && !b_in_jobs) shared_input = {ops.b(), k * n * es};

  const JobFunction fn = tile_job(in_place, dtype, ops.a(), ops.b(), ops.c(), k, n,
                                  options.before_tile);
  ExecutorOptions tile_options = tile_executor_options(exec, in_place);
  tile_options.scratch = ops.worker_scratch();
  const Executor executor(tile_options);
  // The coordinator too, before it forks (kernels.hpp): its workers inherit the settings, and
  // whatever it multiplies itself afterwards (--verify) runs on one thread like the tiles.
  Eigen::initParallel();
  use_one_thread();
  std::byte* c = ops.c();

  // A block that comes back as the result (from workers that reach nothing, or that may not
  // copy into this process) goes into C here; an empty result was written in place.
  auto wrong_size = [&](const JobResult& r) {
    const std::size_t size = r.output.size();
    return (size > 0 || !in_place) && size != tiles[r.index].rows * tiles[r.index].cols * es;
  };
  auto on_result = [&](const JobResult& r) {
    if (r.status == JobStatus::done && !r.output.empty() && !wrong_size(r)) {
      const Tile& t = tiles[r.index];
      for (std::size_t i = 0; i < t.rows; ++i)
        std::memcpy(c + ((t.row + i) * n + t.col) * es, r.output.data() + i * t.cols * es,
                    t.cols * es);
    }
    if (on_tile) on_tile(tiles[r.index]);
  };

  // Forked workers copy their blocks into this process's memory; where Yama would refuse them
  // (ptrace_scope 1 allows only ancestors), this allows them for the batch.
  std::optional<ipc::WritableByDescendants> writable;
  if (in_place && !executor.shares_address_space()) writable.emplace();
  auto start = std::chrono::steady_clock::now();
  BatchReport report = executor.run(jobs, fn, shared_input, on_result);
  run.compute_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  run.workers = report.workers;
  run.workers_replaced = report.workers_replaced;
  run.workers_lost = report.workers_lost;
  run.interrupted = report.interrupted;
  run.interrupt_signal = report.interrupt_signal;
  run.startup = report.startup;
  run.payload_bytes = report.payload_bytes(jobs, shared_input.size());
  for (const JobResult& r : report.results) {
    const Tile& t = tiles[r.index];
    std::string why;
    if (r.status == JobStatus::failed) why = r.error;
    else if (r.status == JobStatus::done && wrong_size(r))
      why = "result has the wrong size";
    if (!why.empty())
      run.failures.push_back(fmt::format("tile {} (rows {}-{}, columns {}-{}): {}", r.index, t.row,
                                         t.row + t.rows - 1, t.col, t.col + t.cols - 1, why));
  }
  return run;
}

void serve_product(const MatmulOptions& options) {
  // A worker of a backend whose workers are other processes: no operands here, ever.
  const JobFunction fn = tile_job(false, Dtype::f64, nullptr, nullptr, nullptr, 0, 0,
                                  options.before_tile);
  const Executor executor(tile_executor_options(options.executor, false));
  (void)executor.run({}, fn);
}

}  // namespace forkpool::matmul
