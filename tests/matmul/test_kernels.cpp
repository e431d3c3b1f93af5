// The tile kernel against a plain triple loop; layout and type conversion; the generator.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
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

// C = A B of a block inside larger matrices (leading dimensions wider than the block) with the
// kernel in use, against a double-precision triple loop, within the classical bound on the
// rounding of a dot product of length k (k ε Σ|a||b|); a wrong kernel is off by O(1).
template <class T>
void check_block_product(Dtype dtype, std::size_t m, std::size_t k, std::size_t n) {
  const std::size_t lda = k + 3, ldb = n + 5, ldc = n + 7;
  std::vector<T> a(m * lda), b(k * ldb), c(m * ldc, T(-7));
  fill_uniform(dtype, bytes(a), a.size(), 11);
  fill_uniform(dtype, bytes(b), b.size(), 12);
  multiply_block(dtype, bytes(a), lda, bytes(b), ldb, bytes(c), ldc, m, k, n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < ldc; ++j) {
      if (j >= n) {
        ASSERT_EQ(c[i * ldc + j], T(-7)) << "outside the block, " << i << "," << j;
        continue;
      }
      double want = 0, scale = 0;
      for (std::size_t p = 0; p < k; ++p) {
        want += double(a[i * lda + p]) * double(b[p * ldb + j]);
        scale += std::abs(double(a[i * lda + p]) * double(b[p * ldb + j]));
      }
      const double bound = double(k) * std::numeric_limits<T>::epsilon() * scale;
      ASSERT_NEAR(c[i * ldc + j], want, bound) << i << "," << j;
    }
}

// Kernels are switched in this process: each test puts back the one it found.
class KernelSwitchTest : public ::testing::Test {
 protected:
  void SetUp() override { initial_ = current_kernel(); }
  void TearDown() override {
    for (const KernelSpec& k : available_kernels())
      if (k.name == initial_) use_kernel(k);
    EXPECT_EQ(current_kernel(), initial_);
  }

 private:
  std::string initial_;
};

// Every kernel this build has and this CPU runs multiplies correctly, in both types, at a size
// OpenBLAS's small-matrix path takes and at one its blocked gemm takes.
TEST_F(KernelSwitchTest, EveryKernelThisCpuRunsMultipliesCorrectly) {
  CpuFeatures cpu = detect_cpu_features();
  unsigned tried = 0;
  for (const KernelSpec& kernel : available_kernels()) {
    if (!cpu.covers(kernel.needs)) {
      std::printf("not on this CPU: %s (needs %s)\n", kernel.name.c_str(), cpu.missing(kernel.needs).c_str());
      continue;
    }
    SCOPED_TRACE(kernel.name);
    use_kernel(kernel);
    EXPECT_EQ(current_kernel(), kernel.name);
    check_block_product<double>(Dtype::f64, 9, 13, 11);
    check_block_product<float>(Dtype::f32, 9, 13, 11);
    check_block_product<double>(Dtype::f64, 203, 301, 257);
    check_block_product<float>(Dtype::f32, 203, 301, 257);
    ++tried;
  }
  EXPECT_GE(tried, 1u);
}

TEST_F(KernelSwitchTest, ChoosingByTheCpuTakesTheFirstKernelItRuns) {
  auto want = decide_kernel(std::nullopt, detect_cpu_features(), available_kernels());
  ASSERT_TRUE(want.has_value()) << want.error();
  KernelChoice got = choose_kernel({});
  EXPECT_EQ(got.name, want->name);
  EXPECT_EQ(got.source, KernelSource::cpu_features);
  EXPECT_EQ(current_kernel(), want->name);
  EXPECT_THROW(choose_kernel({"no-such-kernel", KernelSource::flag}), KernelError);
  EXPECT_EQ(current_kernel(), want->name) << "a refused request changes nothing";
}

#ifdef FORKPOOL_WITH_OPENBLAS
// OPENBLAS_CORETYPE is set only for the switch: what the user had comes back, set or not.
TEST_F(KernelSwitchTest, SwitchingLeavesOpenblasCoretypeAsItWas) {
  const char* was = std::getenv("OPENBLAS_CORETYPE");
  std::optional<std::string> saved = was ? std::optional<std::string>(was) : std::nullopt;
  auto kernels = available_kernels();
  ASSERT_FALSE(kernels.empty());
  const KernelSpec& last = kernels.back();  // the one that asks least of the CPU
  ::setenv("OPENBLAS_CORETYPE", "Nehalem", 1);
  use_kernel(last);
  EXPECT_STREQ(std::getenv("OPENBLAS_CORETYPE"), "Nehalem");
  ::unsetenv("OPENBLAS_CORETYPE");
  use_kernel(last);
  EXPECT_EQ(std::getenv("OPENBLAS_CORETYPE"), nullptr);
  if (saved) ::setenv("OPENBLAS_CORETYPE", saved->c_str(), 1);
}
#endif

// The threads backend's workers each call it as they start. Under ThreadSanitizer (the tsan
// preset) unguarded writes to Eigen's and OpenBLAS's thread settings are reported here.
TEST(Kernels, UseOneThreadMayRunOnManyThreadsAtOnce) {
  std::vector<std::jthread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([] { use_one_thread(); });
}

}  // namespace
}  // namespace forkpool::matmul
