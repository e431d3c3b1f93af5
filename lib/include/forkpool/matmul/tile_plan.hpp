#pragma once
// How C = A * B is cut into jobs: disjoint blocks of C, each computed with the full K.

#include <cstddef>
#include <optional>
#include <string_view>
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

// How the jobs of a plan reach B, where workers do not share the coordinator's memory.
//   broadcast: B whole to every worker once (the executor's shared input); a job carries its
//              rows of A. A worker holds all of B.
//   blocks:    nothing goes to every worker; a job carries its rows of A and its columns of B
//              (a 2-D decomposition of C), so a worker holds one job's panels, never all of B.
// Where workers reach the operands in place, both read A and B where they are, and the
// distribution says only how C is cut: row panels (broadcast) or bounded 2-D blocks.
enum class Distribution { broadcast, blocks };
std::string_view to_string(Distribution d) noexcept;
std::optional<Distribution> parse_distribution(std::string_view name) noexcept;

struct TilePlan {
  Distribution distribution = Distribution::broadcast;
  std::size_t tile_rows = 0;  // edge of a full tile; the last row/column of tiles may be smaller
  std::size_t tile_cols = 0;
  std::vector<Tile> tiles;    // row-major order, covering C exactly once
  // Bytes of the product a worker holds at once besides what it reaches in place: all of B
  // and one job's panels (broadcast), one job's panels (blocks), 0 where workers reach the
  // operands in place. Set by plan_product(); the pure planners leave it 0.
  std::size_t worker_bytes = 0;
};

// Cuts an m x n C into tiles. `edge` > 0 asks for square tiles of that edge (rounded up to a
// multiple of `granule`, the kernel's register blocking). `edge` == 0 chooses: full-width row
// panels, about kPanelsPerWorker per worker so dynamic dispatch can even out the load, each a
// multiple of `granule` rows. Pure function.
TilePlan plan_tiles(std::size_t m, std::size_t n, unsigned workers, std::size_t granule,
                    std::size_t edge = 0);

inline constexpr unsigned kPanelsPerWorker = 2;

// The bytes one job of a blocks plan takes in a worker: its rows of A (rows x k), its columns
// of B (k x cols) and its block of C (rows x cols), of `element_size` bytes each. SIZE_MAX
// where that does not fit in a size_t. Pure function.
std::size_t block_job_bytes(std::size_t rows, std::size_t cols, std::size_t k,
                            std::size_t element_size) noexcept;

// Cuts an m x n C (inner dimension k) into a grid of blocks for Distribution::blocks, in
// row-major order. The grid has at least workers x kPanelsPerWorker blocks where C is large
// enough (so dynamic dispatch can even out the load), is shaped to send the fewest bytes of A
// and B for that (each row panel of A goes once per block column, each column panel of B once
// per block row), and is then cut finer until block_job_bytes() of a full block is at most
// `job_bytes`, or its edges are down to `granule`, below which no block is cut (a k so large
// that one granule's panels exceed the budget still gets granule-edged blocks). Edges are
// multiples of `granule`, but the last row and column of blocks, which may be smaller. Pure
// function.
TilePlan plan_blocks(std::size_t m, std::size_t k, std::size_t n, std::size_t element_size,
                     unsigned workers, std::size_t granule, std::size_t job_bytes);

}  // namespace forkpool::matmul
