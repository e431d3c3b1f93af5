#pragma once
// The single-threaded matrix kernels every backend runs: one block of C from full-K strips of
// A and B, and the conversions that bring .npy data into the operands' layout.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "forkpool/matmul/kernel_choice.hpp"
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
// to one. Starts no thread. The first call in a process also chooses the kernel, as
// choose_kernel() does for kernel_request(nullopt, $FORKPOOL_MATMUL_KERNEL),
// unless choose_kernel() has already run (and throws KernelError as it does, so that the next
// call tries again). The coordinator before it forks or starts threads, and then each worker;
// any number of threads at once.
void use_one_thread();

// A kernel that cannot be used: unknown, not in this build, or not for this CPU. One line.
struct KernelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The kernels this build can multiply with, fastest first, whether or not this CPU runs them:
// those of openblas_kernels() that the loaded OpenBLAS holds when it can switch between core
// types (a DYNAMIC_ARCH build such as Debian's); otherwise the one it was built for; "eigen" in
// a build without OpenBLAS. Any thread.
std::vector<KernelSpec> available_kernels();

// Makes `kernel`, one of available_kernels() that this CPU runs, the kernel of
// multiply_block() in this process and in the workers it forks afterwards. OpenBLAS reads its
// core type when it loads, before main(); this switches its active core table the way it
// switches at load (gotoblas_dynamic_quit, then gotoblas_dynamic_init with OPENBLAS_CORETYPE
// set for the call and restored after it), and checks that the library took it; throws
// KernelError if not. The main thread, while no other thread multiplies or reads the
// environment (it calls setenv).
void use_kernel(const KernelSpec& kernel);

// The kernel multiply_block() runs now, by name: "openblas-skylakex", as the loaded OpenBLAS
// reports its active core type, or "eigen". Any thread.
std::string current_kernel();

// The kernel a request chose and why.
struct KernelChoice {
  std::string name;
  KernelSource source = KernelSource::cpu_features;
};

// Applies `request` for a CPU with the features `cpu` (this one's unless a test pretends)
// through decide_kernel() and use_kernel(). Throws KernelError with decide_kernel()'s line. As
// use_kernel().
KernelChoice choose_kernel(const KernelRequest& request, CpuFeatures cpu = detect_cpu_features());

// The library under the kernel, as it describes itself, for reports: "OpenBLAS 0.3.21 ...
// SkylakeX SINGLE_THREADED under Eigen 3.4.0", or "Eigen 3.4.0" when built without OpenBLAS.
// Any thread.
std::string kernel_library();

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
