#pragma once
// How C = A * B is cut into jobs: disjoint blocks of C, each computed with the full K.

#include <cstddef>
#include <vector>

namespace forkpool::matmul {

// One block of C: rows [row, row + rows), columns [col, col + cols). Trivially copyable: it
// travels in job messages as it is.
struct Tile {
  std::size_t row = 0;
  std::size_t col = 0;
  std::size_t rows = 0;
  std::size_t cols = 0;
};

struct TilePlan {
  std::size_t tile_rows = 0;  // edge of a full tile; the last row/column of tiles may be smaller
  std::size_t tile_cols = 0;
  std::vector<Tile> tiles;    // row-major order, covering C exactly once
};

// Cuts an m x n C into tiles. `edge` > 0 asks for square tiles of that edge (rounded up to a
// multiple of `granule`, the kernel's register blocking). `edge` == 0 chooses: full-width row
// panels, about kPanelsPerWorker per worker so dynamic dispatch can even out the load, each a
// multiple of `granule` rows. Pure function.
TilePlan plan_tiles(std::size_t m, std::size_t n, unsigned workers, std::size_t granule,
                    std::size_t edge = 0);

inline constexpr unsigned kPanelsPerWorker = 2;

}  // namespace forkpool::matmul
