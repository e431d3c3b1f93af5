// The tile kernel against a plain triple loop; layout and type conversion; the generator.

#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "forkpool/matmul/kernels.hpp"

namespace forkpool::matmul {
namespace {

template <class T>
const std::byte* bytes(const std::vector<T>& v) {
  return reinterpret_cast<const std::byte*>(v.data());
}
template <class T>
std::byte* bytes(std::vector<T>& v) {
  return reinterpret_cast<std::byte*>(v.data());
}

TEST(Kernels, BlockOfAStridedProductMatchesTheDefinition) {
  const std::size_t m = 37, k = 29, n = 41;
  std::vector<double> a(m * k), b(k * n);
  fill_uniform(Dtype::f64, bytes(a), a.size(), 1);
  fill_uniform(Dtype::f64, bytes(b), b.size(), 2);
  std::vector<double> c(m * n, -7.0);
  // The block rows 5..24, columns 8..38 of C, computed in place.
  const std::size_t r0 = 5, rows = 20, c0 = 8, cols = 31;
  multiply_block(Dtype::f64, bytes(a) + r0 * k * 8, k, bytes(b) + c0 * 8, n,
                 bytes(c) + (r0 * n + c0) * 8, n, rows, k, cols);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      bool inside = i >= r0 && i < r0 + rows && j >= c0 && j < c0 + cols;
      double want = -7.0;
      if (inside) {
        want = 0;
        for (std::size_t p = 0; p < k; ++p) want += a[i * k + p] * b[p * n + j];
      }
      EXPECT_NEAR(c[i * n + j], want, 1e-12) << i << "," << j;
    }
}

TEST(Kernels, Float32BlockMatchesTheDefinition) {
  const std::size_t m = 50, k = 64, n = 33;
  std::vector<float> a(m * k), b(k * n), c(m * n);
  fill_uniform(Dtype::f32, bytes(a), a.size(), 3);
  fill_uniform(Dtype::f32, bytes(b), b.size(), 4);
  multiply_block(Dtype::f32, bytes(a), k, bytes(b), n, bytes(c), n, m, k, n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double want = 0;
      for (std::size_t p = 0; p < k; ++p) want += double(a[i * k + p]) * b[p * n + j];
      EXPECT_NEAR(c[i * n + j], want, 1e-4);
    }
}

TEST(Kernels, RegisterBlockingCoversBothEdgesOfTheKernel) {
  for (Dtype d : {Dtype::f32, Dtype::f64}) {
    std::size_t g = register_blocking(d);
    EXPECT_GE(g, 4u);
    EXPECT_EQ(g % 4, 0u) << "Eigen's nr is 4";
  }
}

TEST(Kernels, CopiesFortranOrderToRowMajorAndConverts) {
  const std::size_t rows = 70, cols = 130;  // more than one 64-element block each way
  std::vector<double> fortran(rows * cols);
  for (std::size_t c = 0; c < cols; ++c)
    for (std::size_t r = 0; r < rows; ++r) fortran[c * rows + r] = double(r * 1000 + c);
  std::vector<double> wide(rows * cols);
  copy_to_row_major(Dtype::f64, bytes(wide), Dtype::f64, bytes(fortran), true, rows, cols);
  std::vector<float> narrow(rows * cols);
  copy_to_row_major(Dtype::f32, bytes(narrow), Dtype::f64, bytes(fortran), true, rows, cols);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) {
      EXPECT_EQ(wide[r * cols + c], double(r * 1000 + c));
      EXPECT_EQ(narrow[r * cols + c], float(r * 1000 + c));
    }
  std::vector<double> back(rows * cols);
  copy_to_row_major(Dtype::f64, bytes(back), Dtype::f32, bytes(narrow), false, rows, cols);
  EXPECT_EQ(back, wide);
}

// A matrix read piece by piece, the pieces cut anywhere (mid-column included), ends up as the
// whole copy does.
TEST(Kernels, CopiesAnyRangeToItsPlace) {
  const std::size_t rows = 70, cols = 130;
  std::vector<double> source(rows * cols);
  for (std::size_t i = 0; i < source.size(); ++i) source[i] = double(i);
  for (bool fortran : {false, true}) {
    std::vector<double> whole(rows * cols);
    copy_to_row_major(Dtype::f64, bytes(whole), Dtype::f64, bytes(source), fortran, rows, cols);
    for (std::size_t piece : {1ul, 69ul, 70ul, 71ul, 1000ul, rows * cols}) {
      std::vector<float> pieces(rows * cols, -1.0f);
      for (std::size_t first = 0; first < source.size(); first += piece) {
        std::size_t count = std::min(piece, source.size() - first);
        copy_range_to_row_major(Dtype::f32, bytes(pieces), Dtype::f64, bytes(source) + first * 8,
                                fortran, rows, cols, first, count);
      }
      for (std::size_t i = 0; i < whole.size(); ++i)
        ASSERT_EQ(pieces[i], float(whole[i])) << "fortran " << fortran << " piece " << piece << " at " << i;
    }
  }
}

TEST(Kernels, UniformFillIsReproducibleAndInRange) {
  std::vector<double> x(1000), y(1000), z(1000);
  fill_uniform(Dtype::f64, bytes(x), x.size(), 42);
  fill_uniform(Dtype::f64, bytes(y), y.size(), 42);
  fill_uniform(Dtype::f64, bytes(z), z.size(), 43);
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
  double sum = 0;
  for (double v : x) {
    EXPECT_GE(v, -1.0);
    EXPECT_LT(v, 1.0);
    sum += v;
  }
  EXPECT_LT(std::abs(sum / 1000), 0.1);  // centred: a mean of 1000 draws is within 0.1 of 0
}

// The threads backend's workers each call it as they start. Under ThreadSanitizer (the tsan
// preset) unguarded writes to Eigen's and OpenBLAS's thread settings are reported here.
TEST(Kernels, UseOneThreadMayRunOnManyThreadsAtOnce) {
  std::vector<std::jthread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([] { use_one_thread(); });
}

}  // namespace
}  // namespace forkpool::matmul
