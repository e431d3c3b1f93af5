// Freivalds' check passes correct products and catches corrupted ones.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "forkpool/matmul/freivalds.hpp"
#include "forkpool/matmul/kernels.hpp"

namespace forkpool::matmul {
namespace {

template <class T>
struct Product {
  std::size_t m, k, n;
  std::vector<T> a, b, c;
  Product(std::size_t m_, std::size_t k_, std::size_t n_) : m(m_), k(k_), n(n_), a(m * k), b(k * n), c(m * n) {
    Dtype d = sizeof(T) == 4 ? Dtype::f32 : Dtype::f64;
    fill_uniform(d, ptr(a), a.size(), 7);
    fill_uniform(d, ptr(b), b.size(), 8);
    multiply_block(d, ptr(a), k, ptr(b), n, ptr(c), n, m, k, n);
  }
  static std::byte* ptr(std::vector<T>& v) { return reinterpret_cast<std::byte*>(v.data()); }
  VerifyResult check() {
    return freivalds_check(sizeof(T) == 4 ? Dtype::f32 : Dtype::f64, ptr(a), ptr(b), ptr(c), m, k, n);
  }
};

TEST(Freivalds, PassesCorrectProducts) {
  Product<double> d(120, 300, 90);
  VerifyResult r = d.check();
  EXPECT_TRUE(r.passed) << r.relative_error << " > " << r.tolerance;
  EXPECT_EQ(r.rounds, 3u);
  Product<float> f(200, 1000, 150);
  r = f.check();
  EXPECT_TRUE(r.passed) << r.relative_error << " > " << r.tolerance;
  EXPECT_LT(r.relative_error, r.tolerance);
}

TEST(Freivalds, PassesAProductThatCancelsToZero) {
  // B's two columns are opposite, so C's columns cancel: relative to C itself any rounding is
  // infinite, relative to |A||B| it is tiny.
  Product<double> p(50, 40, 2);
  for (std::size_t i = 0; i < p.k; ++i) p.b[i * 2 + 1] = -p.b[i * 2] + 1e-9;
  multiply_block(Dtype::f64, Product<double>::ptr(p.a), p.k, Product<double>::ptr(p.b), p.n,
                 Product<double>::ptr(p.c), p.n, p.m, p.k, p.n);
  EXPECT_TRUE(p.check().passed);
}

TEST(Freivalds, CatchesOneWrongElementInFloat64) {
  Product<double> p(256, 256, 256);
  p.c[77 * 256 + 130] += 0.5 * std::abs(p.c[77 * 256 + 130]) + 1e-3;
  VerifyResult r = p.check();
  EXPECT_FALSE(r.passed);
  EXPECT_GT(r.relative_error, r.tolerance);
}

TEST(Freivalds, CatchesAMissingTileInFloat32) {
  Product<float> p(256, 256, 256);
  for (std::size_t i = 48; i < 96; ++i)
    for (std::size_t j = 96; j < 144; ++j) p.c[i * 256 + j] = 0;
  EXPECT_FALSE(p.check().passed);
}

TEST(Freivalds, CatchesNaN) {
  Product<double> p(30, 30, 30);
  p.c[5] = std::numeric_limits<double>::quiet_NaN();
  VerifyResult r = p.check();
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(std::isinf(r.relative_error));
}

}  // namespace
}  // namespace forkpool::matmul
