// The tile plan covers C exactly once, with edges on the kernel's register blocking.

#include <gtest/gtest.h>

#include <cstdint>
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

}  // namespace
}  // namespace forkpool::matmul
