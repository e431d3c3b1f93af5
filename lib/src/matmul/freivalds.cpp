#include "forkpool/matmul/freivalds.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace forkpool::matmul {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// y = M x and |M| |x| for row-major M (rows x cols), in double.
template <class T>
void multiply_vector(const T* mat, std::size_t rows, std::size_t cols, const double* x,
                     const double* abs_x, double* y, double* abs_y) {
  for (std::size_t i = 0; i < rows; ++i) {
    const T* row = mat + i * cols;
    double sum = 0, abs_sum = 0;
    for (std::size_t j = 0; j < cols; ++j) {
      double v = static_cast<double>(row[j]);
      sum += v * x[j];
      abs_sum += std::abs(v) * abs_x[j];
    }
    y[i] = sum;
    abs_y[i] = abs_sum;
  }
}

template <class T>
VerifyResult check(const T* a, const T* b, const T* c, std::size_t m, std::size_t k,
                   std::size_t n, unsigned rounds, std::uint64_t seed) {
  VerifyResult result;
  result.rounds = rounds;
  // Rounding in a k-term dot product grows like sqrt(k) in practice (k in the worst case, which
  // would hide real errors in f32); the factor 16 covers the check's own double-precision sums.
  double eps = std::numeric_limits<T>::epsilon();
  result.tolerance = 16.0 * std::sqrt(static_cast<double>(k) + 1.0) * eps;

  std::vector<double> x(n), ones(n, 1.0), bx(k), abs_bx(k), abx(m), abs_abx(m), cx(m), unused(m);
  std::uint64_t state = seed;
  for (unsigned round = 0; round < rounds; ++round) {
    for (auto& v : x) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      v = (state >> 63) ? 1.0 : -1.0;
    }
    multiply_vector(b, k, n, x.data(), ones.data(), bx.data(), abs_bx.data());  // |x| = 1
    multiply_vector(a, m, k, bx.data(), abs_bx.data(), abx.data(), abs_abx.data());
    multiply_vector(c, m, n, x.data(), ones.data(), cx.data(), unused.data());
    for (std::size_t i = 0; i < m; ++i) {
      double scale = abs_abx[i];
      double err = std::abs(cx[i] - abx[i]);
      double rel = scale > 0 ? err / scale : (err > 0 ? kInfinity : 0);
      if (std::isnan(rel)) rel = kInfinity;  // a NaN in C (or in A, B) is never a pass
      result.relative_error = std::max(result.relative_error, rel);
    }
  }
  result.passed = result.relative_error <= result.tolerance;
  return result;
}

}  // namespace

VerifyResult freivalds_check(Dtype dtype, const std::byte* a, const std::byte* b,
                             const std::byte* c, std::size_t m, std::size_t k, std::size_t n,
                             unsigned rounds, std::uint64_t seed) {
  if (dtype == Dtype::f32)
    return check(reinterpret_cast<const float*>(a), reinterpret_cast<const float*>(b),
                 reinterpret_cast<const float*>(c), m, k, n, rounds, seed);
  return check(reinterpret_cast<const double*>(a), reinterpret_cast<const double*>(b),
               reinterpret_cast<const double*>(c), m, k, n, rounds, seed);
}

}  // namespace forkpool::matmul
