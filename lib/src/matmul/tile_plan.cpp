#include "forkpool/matmul/tile_plan.hpp"

#include <algorithm>

namespace forkpool::matmul {

namespace {
std::size_t round_up(std::size_t x, std::size_t to) { return (x + to - 1) / to * to; }
}  // namespace

TilePlan plan_tiles(std::size_t m, std::size_t n, unsigned workers, std::size_t granule,
                    std::size_t edge) {
  granule = std::max<std::size_t>(granule, 1);
  workers = std::max(workers, 1u);
  TilePlan plan;
  if (edge > 0) {
    plan.tile_rows = plan.tile_cols = round_up(edge, granule);
  } else {
    // Row panels keep each tile's B strip the whole of B, which every worker reads anyway, and
    // give Eigen the largest blocks it can pack and reuse. Fewer, larger panels waste less on
    // packing; enough of them let a worker that falls behind hand the last panel over.
    std::size_t panels = std::size_t{workers} * kPanelsPerWorker;
    plan.tile_rows = round_up((m + panels - 1) / panels, granule);
    plan.tile_cols = n;
  }
  plan.tile_rows = std::min(plan.tile_rows, round_up(m, granule));
  plan.tile_cols = std::min(plan.tile_cols, n);
  for (std::size_t r = 0; r < m; r += plan.tile_rows)
    for (std::size_t c = 0; c < n; c += plan.tile_cols)
      plan.tiles.push_back({r, c, std::min(plan.tile_rows, m - r), std::min(plan.tile_cols, n - c)});
  return plan;
}

}  // namespace forkpool::matmul
