#include "forkpool/matmul/tile_plan.hpp"

#include <algorithm>
#include <cstdint>

namespace forkpool::matmul {

namespace {

std::size_t ceil_div(std::size_t x, std::size_t d) { return x / d + (x % d != 0 ? 1 : 0); }

// x rounded up to a multiple of `to` (>= 1); x itself where that would not fit in a size_t,
// which no dimension of a matrix in memory comes near.
std::size_t round_up(std::size_t x, std::size_t to) {
  std::size_t q = ceil_div(x, to);
  return q > SIZE_MAX / to ? x : q * to;
}

// x * y, or SIZE_MAX where that wraps.
std::size_t times(std::size_t x, std::size_t y) {
  std::size_t out = 0;
  return __builtin_mul_overflow(x, y, &out) ? SIZE_MAX : out;
}

std::size_t plus(std::size_t x, std::size_t y) { return x > SIZE_MAX - y ? SIZE_MAX : x + y; }

// The edge of `parts` equal pieces of `length`, rounded up to the granule, at most the whole.
std::size_t edge_of(std::size_t length, std::size_t parts, std::size_t granule) {
  return std::min(round_up(ceil_div(length, parts), granule), round_up(length, granule));
}

void cut(TilePlan& plan, std::size_t m, std::size_t n) {
  // Steps never pass m or n, so the loops end even where r + tile_rows would wrap.
  for (std::size_t r = 0; r < m; r += std::min(plan.tile_rows, m - r))
    for (std::size_t c = 0; c < n; c += std::min(plan.tile_cols, n - c))
      plan.tiles.push_back({r, c, std::min(plan.tile_rows, m - r), std::min(plan.tile_cols, n - c)});
}

}  // namespace

std::string_view to_string(Distribution d) noexcept {
  return d == Distribution::blocks ? "blocks" : "broadcast";
}

std::optional<Distribution> parse_distribution(std::string_view name) noexcept {
  if (name == "broadcast") return Distribution::broadcast;
  if (name == "blocks") return Distribution::blocks;
  return std::nullopt;
}

std::size_t block_job_bytes(std::size_t rows, std::size_t cols, std::size_t k,
                            std::size_t element_size) noexcept {
  std::size_t elements = plus(plus(times(rows, k), times(k, cols)), times(rows, cols));
  return times(elements, element_size);
}

TilePlan plan_blocks(std::size_t m, std::size_t k, std::size_t n, std::size_t element_size,
                     unsigned workers, std::size_t granule, std::size_t job_bytes) {
  granule = std::max<std::size_t>(granule, 1);
  const std::size_t want = std::size_t{std::max(workers, 1u)} * kPanelsPerWorker;
  const std::size_t most_rows = ceil_div(m, granule), most_cols = ceil_div(n, granule);
  const std::size_t target = std::min(want, times(most_rows, most_cols));
  // p block rows by q block columns, p * q >= target: A is sent q times, B p times, so the
  // grid with the least q * m + p * n (in units of k elements) moves the fewest bytes; of
  // grids that tie, the one with fewest blocks (the first found).
  std::size_t p = 1, q = 1;
  std::size_t best = SIZE_MAX;
  for (std::size_t rows = 1; rows <= std::min(target, most_rows); ++rows) {
    std::size_t cols = ceil_div(target, rows);
    if (cols > most_cols) continue;  // too few blocks; rows == most_rows always fits
    std::size_t cost = plus(times(cols, m), times(rows, n));
    if (cost < best) best = cost, p = rows, q = cols;
  }
  TilePlan plan;
  plan.distribution = Distribution::blocks;
  plan.tile_rows = edge_of(m, p, granule);
  plan.tile_cols = edge_of(n, q, granule);
  // Then finer, cutting the longer edge, until a full block's job fits the budget.
  while (block_job_bytes(plan.tile_rows, plan.tile_cols, k, element_size) > job_bytes &&
         (plan.tile_rows > granule || plan.tile_cols > granule)) {
    if (plan.tile_rows >= plan.tile_cols && plan.tile_rows > granule) {
      for (std::size_t edge = plan.tile_rows; plan.tile_rows == edge;)
        plan.tile_rows = edge_of(m, ++p, granule);
    } else {
      for (std::size_t edge = plan.tile_cols; plan.tile_cols == edge;)
        plan.tile_cols = edge_of(n, ++q, granule);
    }
  }
  cut(plan, m, n);
  return plan;
}

TilePlan plan_tiles(std::size_t m, std::size_t n, unsigned workers, std::size_t granule,
                    std::size_t edge) {
  granule = std::max<std::size_t>(granule, 1);
  workers = std::max(workers, 1u);
  TilePlan plan;
  if (edge > 0) {
    // An edge beyond C is C itself; clamping first keeps the rounding clear of overflow.
    plan.tile_rows = plan.tile_cols = round_up(std::min(edge, std::max(m, n)), granule);
  } else {
    // Row panels keep each tile's B strip the whole of B, which every worker reads anyway, and
    // give Eigen the largest blocks it can pack and reuse. Fewer, larger panels waste less on
    // packing; enough of them let a worker that falls behind hand the last panel over.
    std::size_t panels = std::size_t{workers} * kPanelsPerWorker;
    plan.tile_rows = round_up(ceil_div(m, panels), granule);
    plan.tile_cols = n;
  }
  plan.tile_rows = std::min(plan.tile_rows, round_up(m, granule));
  plan.tile_cols = std::min(plan.tile_cols, n);
  cut(plan, m, n);
  return plan;
}

}  // namespace forkpool::matmul
