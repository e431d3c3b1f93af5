// The tile plan covers C exactly once, with edges on the kernel's register blocking.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <vector>

#include "forkpool/matmul/tile_plan.hpp"

namespace forkpool::matmul {
namespace {

// How many tiles cover each element of an m x n C.
std::vector<int> coverage(const TilePlan& plan, std::size_t m, std::size_t n) {
  std::vector<int> count(m * n, 0);
  for (const Tile& t : plan.tiles)
    for (std::size_t r = t.row; r < t.row + t.rows; ++r)
      for (std::size_t c = t.col; c < t.col + t.cols; ++c) ++count.at(r * n + c);
  return count;
}

TEST(TilePlan, CoversEveryElementOnce) {
  for (auto [m, n] : {std::pair{1ul, 1ul}, {3ul, 2ul}, {1000ul, 1ul}, {97ul, 203ul}, {512ul, 512ul}})
    for (unsigned workers : {1u, 2u, 7u})
      for (std::size_t edge : {0ul, 24ul, 100ul}) {
        TilePlan plan = plan_tiles(m, n, workers, 24, edge);
        auto count = coverage(plan, m, n);
        EXPECT_EQ(std::count(count.begin(), count.end(), 1), static_cast<long>(m * n))
            << m << "x" << n << " workers " << workers << " edge " << edge;
      }
}

TEST(TilePlan, EdgesAreMultiplesOfTheRegisterBlocking) {
  TilePlan plan = plan_tiles(1000, 700, 2, 24, 100);
  EXPECT_EQ(plan.tile_rows, 120u);  // 100 rounded up to 5 x 24
  EXPECT_EQ(plan.tile_cols, 120u);
  for (const Tile& t : plan.tiles) {
    EXPECT_EQ(t.row % 24, 0u);
    EXPECT_EQ(t.col % 24, 0u);
    // Only the last tile of a row or column is cut short.
    if (t.row + t.rows < 1000) {
      EXPECT_EQ(t.rows, 120u);
    }
    if (t.col + t.cols < 700) {
      EXPECT_EQ(t.cols, 120u);
    }
  }
}

TEST(TilePlan, DefaultGivesEachWorkerSeveralFullWidthPanels) {
  TilePlan plan = plan_tiles(4096, 4096, 2, 24);
  EXPECT_EQ(plan.tile_cols, 4096u);
  EXPECT_EQ(plan.tile_rows % 24, 0u);
  EXPECT_GE(plan.tiles.size(), 2u * kPanelsPerWorker - 1);
  EXPECT_LE(plan.tiles.size(), 2u * kPanelsPerWorker);
  // A small C is not cut finer than the blocking allows.
  EXPECT_EQ(plan_tiles(10, 10, 8, 24).tiles.size(), 1u);
}

// An edge of 2^64 - 1 once wrapped to 0 in the rounding and pushed empty tiles until bad_alloc.
TEST(TilePlan, AnEdgeBeyondCIsCItself) {
  for (std::size_t edge : {std::size_t{1000}, SIZE_MAX - 1, SIZE_MAX}) {
    TilePlan plan = plan_tiles(97, 203, 2, 24, edge);
    ASSERT_EQ(plan.tiles.size(), 1u) << edge;
    EXPECT_EQ(plan.tiles[0].rows, 97u);
    EXPECT_EQ(plan.tiles[0].cols, 203u);
  }
}

// No sum or rounding wraps, whatever the sizes: the tiles still cover each row exactly once.
TEST(TilePlan, NoSizeWraps) {
  const std::size_t m = SIZE_MAX - 5;
  for (std::size_t edge : {SIZE_MAX / 2 + 1, SIZE_MAX - 7, SIZE_MAX}) {
    TilePlan plan = plan_tiles(m, 1, 1, 24, edge);
    ASSERT_LE(plan.tiles.size(), 3u) << edge;
    std::size_t next = 0;
    for (const Tile& t : plan.tiles) {
      EXPECT_EQ(t.row, next);
      ASSERT_GT(t.rows, 0u);
      next += t.rows;
    }
    EXPECT_EQ(next, m) << edge;
  }
  TilePlan panels = plan_tiles(m, 1, 1, 24);
  ASSERT_EQ(panels.tiles.size(), kPanelsPerWorker);
  EXPECT_EQ(panels.tiles.back().row + panels.tiles.back().rows, m);
}

// Distribution::blocks: a 2-D grid that covers C once, edge blocks included, and whose every
// job's panels fit the budget whenever blocks of one granule would.
TEST(BlockPlan, CoversEveryElementOnceWithBoundedPanels) {
  for (auto [m, k, n] : {std::tuple{1ul, 1ul, 1ul}, {97ul, 50ul, 203ul}, {1000ul, 300ul, 7ul},
                         {500ul, 64ul, 500ul}, {2048ul, 2048ul, 100ul}})
    for (unsigned workers : {1u, 2u, 7u})
      for (std::size_t budget : {std::size_t{1}, std::size_t{100} << 10, std::size_t{4} << 20,
                                 SIZE_MAX}) {
        TilePlan plan = plan_blocks(m, k, n, 8, workers, 24, budget);
        EXPECT_EQ(plan.distribution, Distribution::blocks);
        auto count = coverage(plan, m, n);
        EXPECT_EQ(std::count(count.begin(), count.end(), 1), static_cast<long>(m * n))
            << m << "x" << k << "x" << n << " workers " << workers << " budget " << budget;
        const bool granule_fits = block_job_bytes(24, 24, k, 8) <= budget;
        for (const Tile& t : plan.tiles) {
          EXPECT_EQ(t.row % 24, 0u);
          EXPECT_EQ(t.col % 24, 0u);
          EXPECT_LE(t.rows, plan.tile_rows);
          EXPECT_LE(t.cols, plan.tile_cols);
          if (granule_fits) {
            EXPECT_LE(block_job_bytes(t.rows, t.cols, k, 8), budget);
          }
        }
        if (!granule_fits) {  // as small as the kernel allows, and no smaller
          EXPECT_EQ(plan.tile_rows, 24u);
          EXPECT_EQ(plan.tile_cols, 24u);
        }
      }
}

TEST(BlockPlan, GivesEachWorkerSeveralBlocksAndSendsTheFewestPanels) {
  // 4 blocks for 2 workers: a 2 x 2 grid sends A twice and B twice (4 panels of each half),
  // where 4 row panels would send B four times.
  TilePlan plan = plan_blocks(4096, 4096, 4096, 8, 2, 24, SIZE_MAX);
  EXPECT_EQ(plan.tiles.size(), 4u);
  EXPECT_EQ(plan.tile_rows, 2064u);  // 2048 rounded up to 86 x 24
  EXPECT_EQ(plan.tile_cols, 2064u);
  // 16 workers: 32 blocks, 4 x 8 of them (A 8 times, B 4) rather than 2 x 16 (16 + 2).
  plan = plan_blocks(4096, 4096, 4096, 8, 16, 24, SIZE_MAX);
  EXPECT_EQ(plan.tiles.size(), 32u);
  EXPECT_EQ(plan.tile_rows, 1032u);  // 1024 rounded up to 43 x 24
  EXPECT_EQ(plan.tile_cols, 528u);
  // A tall C is cut into rows rather than columns.
  plan = plan_blocks(100000, 100, 48, 8, 2, 24, SIZE_MAX);
  EXPECT_EQ(plan.tile_cols, 48u);
  EXPECT_GE(plan.tiles.size(), 2u * kPanelsPerWorker);
}

TEST(BlockPlan, ASmallBudgetCutsTheBlocksFiner) {
  const std::size_t budget = 64ul << 20;  // 64 MiB for a 4096^3 f64 product's job
  TilePlan plan = plan_blocks(4096, 4096, 4096, 8, 2, 24, budget);
  EXPECT_LE(block_job_bytes(plan.tile_rows, plan.tile_cols, 4096, 8), budget);
  // 5 x 5 blocks of 840 (820 rounded up): the 4 x 4 grid's blocks of 1032 would not fit.
  EXPECT_EQ(plan.tiles.size(), 25u);
  EXPECT_EQ(plan.tile_rows, 840u);
  EXPECT_EQ(plan.tile_cols, 840u);
  EXPECT_GT(block_job_bytes(1032, 1032, 4096, 8), budget);
}

TEST(BlockPlan, JobBytesSaturateInsteadOfWrapping) {
  EXPECT_EQ(block_job_bytes(2, 3, 5, 8), (2 * 5 + 5 * 3 + 2 * 3) * 8u);
  EXPECT_EQ(block_job_bytes(SIZE_MAX / 2, SIZE_MAX / 2, 2, 8), SIZE_MAX);
  EXPECT_EQ(block_job_bytes(1, 1, SIZE_MAX, 1), SIZE_MAX);
}

TEST(Distribution, NamesRoundTrip) {
  for (Distribution d : {Distribution::broadcast, Distribution::blocks})
    EXPECT_EQ(parse_distribution(to_string(d)), d);
  EXPECT_EQ(parse_distribution("auto"), std::nullopt);
}

}  // namespace
}  // namespace forkpool::matmul
