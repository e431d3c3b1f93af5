#pragma once
// The single-threaded matrix kernels every backend runs: one block of C from full-K strips of
// A and B, and the conversions that bring .npy data into the operands' layout.

#include <cstddef>
#include <cstdint>
#include <string>

#include "forkpool/matmul/npy.hpp"

namespace forkpool::matmul {

// C = A * B for row-major blocks of `dtype`: A is rows x inner with leading dimension lda
// (elements between row starts), B is inner x cols (ldb), C is rows x cols (ldc). Eigen on
// Maps of the caller's memory; with FORKPOOL_WITH_OPENBLAS Eigen hands the product to the
// serial OpenBLAS (sgemm/dgemm), whose buffer allocation is locked, so threads may call it at
// once. On the calling thread only once use_one_thread() has run. Any thread, on disjoint
// blocks of C.
void multiply_block(Dtype dtype, const std::byte* a, std::size_t lda, const std::byte* b,
                    std::size_t ldb, std::byte* c, std::size_t ldc, std::size_t rows,
                    std::size_t inner, std::size_t cols);

// Keeps multiply_block() on the calling thread: Eigen not parallelised and, should a threaded
// OpenBLAS have been loaded after all (a different library path at run time), its threads set
// to one. Starts no thread. The coordinator before it forks, and each worker; any number of
// threads at once.
void use_one_thread();

// What multiplies the tiles, for reports: "OpenBLAS 0.3.21 ... SINGLE_THREADED under Eigen 3.4.0"
// as the loaded library describes itself, or "Eigen 3.4.0" when built without OpenBLAS.
// Any thread.
std::string kernel_name();

// The register blocking of Eigen's kernel for `dtype` on this build's instruction set, rounded
// to one number for both edges (24 for f64 and 48 for f32 with AVX-512): tiles whose edges are
// multiples of it leave no ragged remainder inside the kernel.
std::size_t register_blocking(Dtype dtype) noexcept;

// Copies the rows x cols matrix `src` (element type `src_type`, C or Fortran order) into
// row-major `dst` of `dst_type`, converting the element type if they differ. Any thread.
void copy_to_row_major(Dtype dst_type, std::byte* dst, Dtype src_type, const std::byte* src,
                       bool src_fortran_order, std::size_t rows, std::size_t cols);

// The same for a piece of the matrix as it is read: elements [first, first + count) in the
// source's order (element i of a C-order matrix is row i / cols, column i % cols; of a
// Fortran-order one, row i % rows, column i / rows), `src` holding those elements only, each
// copied to its place in the whole row-major `dst`. Any thread.
void copy_range_to_row_major(Dtype dst_type, std::byte* dst, Dtype src_type, const std::byte* src,
                             bool src_fortran_order, std::size_t rows, std::size_t cols,
                             std::size_t first, std::size_t count);

// Fills `count` elements with uniform values in [-1, 1) from a generator seeded with `seed`;
// the same seed gives the same values on every machine. Any thread.
void fill_uniform(Dtype dtype, std::byte* dst, std::size_t count, std::uint64_t seed);

}  // namespace forkpool::matmul
