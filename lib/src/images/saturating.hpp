#pragma once
// Arithmetic on sizes that a file may lie about: it saturates instead of wrapping.

#include <cstdint>
#include <initializer_list>

namespace forkpool::images {

// a x b x ..., or the largest uint64 when that overflows.
inline std::uint64_t saturating_product(std::initializer_list<std::uint64_t> factors) {
  std::uint64_t product = 1;
  for (std::uint64_t f : factors)
    if (__builtin_mul_overflow(product, f, &product)) return UINT64_MAX;
  return product;
}

// a + b + ..., or the largest uint64 when that overflows.
inline std::uint64_t saturating_sum(std::initializer_list<std::uint64_t> terms) {
  std::uint64_t sum = 0;
  for (std::uint64_t t : terms)
    if (__builtin_add_overflow(sum, t, &sum)) return UINT64_MAX;
  return sum;
}

}  // namespace forkpool::images
