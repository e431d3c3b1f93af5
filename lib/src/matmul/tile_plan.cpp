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

}  // namespace

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
  // Steps never pass m or n, so the loops end even where r + tile_rows would wrap.
  for (std::size_t r = 0; r < m; r += std::min(plan.tile_rows, m - r))
    for (std::size_t c = 0; c < n; c += std::min(plan.tile_cols, n - c))
      plan.tiles.push_back({r, c, std::min(plan.tile_rows, m - r), std::min(plan.tile_cols, n - c)});
  return plan;
}

}  // namespace forkpool::matmul
