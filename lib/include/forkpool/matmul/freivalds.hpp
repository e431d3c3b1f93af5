#pragma once
// Freivalds' check of a product: C x against A (B x) for random x, in O(n^2).

#include <cstddef>
#include <cstdint>

#include "forkpool/matmul/npy.hpp"

namespace forkpool::matmul {

struct VerifyResult {
  bool passed = false;
  double relative_error = 0;  // the largest over rounds and rows; see freivalds_check
  double tolerance = 0;       // passed == relative_error <= tolerance
  unsigned rounds = 0;
};

// Checks row-major C (m x n) against A (m x k) times B (k x n), all of `dtype`, with `rounds`
// random vectors x of +-1 entries. Each row's error |(Cx - A(Bx))_i| is measured against the
// scale rounding works on, (|A| (|B| |x|))_i, so a correct product passes whatever the data's
// magnitude or cancellation; the tolerance is a small multiple of sqrt(k) units of roundoff of
// `dtype`. Sums run in double. Sensitivity: an error of one element of C is caught when it
// exceeds about tolerance * n times a typical |a||b| sum, so any wrong or missing tile is
// caught, and with f64 a single wrong element too. Any thread; reads the matrices once per round.
VerifyResult freivalds_check(Dtype dtype, const std::byte* a, const std::byte* b,
                             const std::byte* c, std::size_t m, std::size_t k, std::size_t n,
                             unsigned rounds = 3, std::uint64_t seed = 0x5eed);

}  // namespace forkpool::matmul
