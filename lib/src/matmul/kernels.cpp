#include "forkpool/matmul/kernels.hpp"

// g++ 12 reports _mm512_undefined_*() inside Eigen's AVX-512 packing as "may be used
// uninitialized": a known false positive in third-party code we cannot mark SYSTEM this deep.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>

#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <optional>

#ifdef FORKPOOL_WITH_OPENBLAS
#include <dlfcn.h>
#include <strings.h>

// OpenBLAS's own entry points (every build has them; the serial one ignores the count). Declared
// here rather than through <cblas.h>, whose directory differs per build.
extern "C" {
void openblas_set_num_threads(int num_threads);
char* openblas_get_config();
char* openblas_get_corename();
}
#endif

namespace forkpool::matmul {

namespace {

template <class T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Stride = Eigen::OuterStride<>;

template <class T>
void multiply_typed(const std::byte* a, std::size_t lda, const std::byte* b, std::size_t ldb,
                    std::byte* c, std::size_t ldc, std::size_t rows, std::size_t inner,
                    std::size_t cols) {
  auto r = static_cast<Eigen::Index>(rows);
  auto k = static_cast<Eigen::Index>(inner);
  auto n = static_cast<Eigen::Index>(cols);
  Eigen::Map<const RowMajor<T>, Eigen::Unaligned, Stride> A(
      reinterpret_cast<const T*>(a), r, k, Stride(static_cast<Eigen::Index>(lda)));
  Eigen::Map<const RowMajor<T>, Eigen::Unaligned, Stride> B(
      reinterpret_cast<const T*>(b), k, n, Stride(static_cast<Eigen::Index>(ldb)));
  Eigen::Map<RowMajor<T>, Eigen::Unaligned, Stride> C(reinterpret_cast<T*>(c), r, n,
                                                      Stride(static_cast<Eigen::Index>(ldc)));
  C.noalias() = A * B;
}

template <class T>
std::size_t blocking() {
  using Traits = Eigen::internal::gebp_traits<T, T>;
  return std::lcm(static_cast<std::size_t>(Traits::mr), static_cast<std::size_t>(Traits::nr));
}

// Elements [first, first + count) in file order (C: row-major, Fortran: column-major) of a
// rows x cols matrix, from `src` (those elements only) into their places in row-major `dst`.
template <class D, class S>
void copy_typed(D* dst, const S* src, bool fortran, std::size_t rows, std::size_t cols,
                std::size_t first, std::size_t count) {
  if (!fortran || cols == 1 || rows == 1) {  // file order is row-major order
    if constexpr (std::is_same_v<D, S>) {
      std::memcpy(dst + first, src, count * sizeof(D));
    } else {
      std::transform(src, src + count, dst + first, [](S v) { return static_cast<D>(v); });
    }
    return;
  }
  // Fortran order is the transpose in memory: copy in blocks of kBlock rows across the columns
  // the range touches, so that the writes stay within a few pages; the first and last column
  // may be partial.
  constexpr std::size_t kBlock = 64;
  const std::size_t end = first + count;
  const std::size_t c_begin = first / rows, c_end = (end - 1) / rows + 1;
  for (std::size_t r0 = 0; r0 < rows; r0 += kBlock) {
    const std::size_t r1 = std::min(rows, r0 + kBlock);
    for (std::size_t c = c_begin; c < c_end; ++c) {
      const std::size_t column = c * rows;  // file index of (0, c)
      const std::size_t lo = std::max(r0, first > column ? first - column : 0);
      const std::size_t hi = std::min(r1, end - column);
      for (std::size_t r = lo; r < hi; ++r) dst[r * cols + c] = static_cast<D>(src[column + r - first]);
    }
  }
}

template <class D>
void copy_from(D* dst, Dtype src_type, const std::byte* src, bool fortran, std::size_t rows,
               std::size_t cols, std::size_t first, std::size_t count) {
  if (src_type == Dtype::f32)
    copy_typed(dst, reinterpret_cast<const float*>(src), fortran, rows, cols, first, count);
  else
    copy_typed(dst, reinterpret_cast<const double*>(src), fortran, rows, cols, first, count);
}

// splitmix64: tiny, fast, and the same sequence everywhere.
std::uint64_t next(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

template <class T>
void fill_typed(T* dst, std::size_t count, std::uint64_t seed) {
  std::uint64_t state = seed;
  for (std::size_t i = 0; i < count; ++i) {
    double unit = static_cast<double>(next(state) >> 11) * 0x1.0p-53;  // [0, 1)
    dst[i] = static_cast<T>(2.0 * unit - 1.0);
  }
}

}  // namespace

void multiply_block(Dtype dtype, const std::byte* a, std::size_t lda, const std::byte* b,
                    std::size_t ldb, std::byte* c, std::size_t ldc, std::size_t rows,
                    std::size_t inner, std::size_t cols) {
  if (dtype == Dtype::f32)
    multiply_typed<float>(a, lda, b, ldb, c, ldc, rows, inner, cols);
  else
    multiply_typed<double>(a, lda, b, ldb, c, ldc, rows, inner, cols);
}

namespace {

// Set once a kernel has been chosen in this process (choose_kernel()), so that
// use_one_thread() does not choose again over it.
std::atomic<bool> kernel_chosen{false};

#ifdef FORKPOOL_WITH_OPENBLAS
constexpr const char* kCoretypeVariable = "OPENBLAS_CORETYPE";

// The switch between core types of a DYNAMIC_ARCH OpenBLAS: the functions it runs when it
// loads. Looked up rather than linked, since a build for one CPU does not have them.
struct DynamicArch {
  void (*init)() = nullptr;
  void (*quit)() = nullptr;
};

std::optional<DynamicArch> dynamic_arch() {
  static const std::optional<DynamicArch> found = []() -> std::optional<DynamicArch> {
    DynamicArch d;
    d.init = reinterpret_cast<void (*)()>(::dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init"));
    d.quit = reinterpret_cast<void (*)()>(::dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit"));
    if (!d.init || !d.quit) return std::nullopt;
    return d;
  }();
  return found;
}

// Whether the loaded OpenBLAS holds the tables of this core type (gotoblas_SKYLAKEX, ...).
bool library_has_core(std::string_view core) {
  std::string symbol = "gotoblas_";
  for (char ch : core) symbol += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return ::dlsym(RTLD_DEFAULT, symbol.c_str()) != nullptr;
}

std::string lower(std::string_view text) {
  std::string out;
  for (char ch : text) out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}
#endif

}  // namespace

void use_one_thread() {
  // Both settings are plain process-wide variables, and the threads backend's workers all call
  // this as they start: once per process, under the guard of a local static's initialisation
  // (ThreadSanitizer saw the unguarded writes race). A forked worker inherits it done.
  [[maybe_unused]] static const bool once = [] {
    if (!kernel_chosen.load())
      choose_kernel(kernel_request(std::nullopt, std::getenv(kKernelEnvironment.data())));
    Eigen::setNbThreads(1);
#ifdef FORKPOOL_WITH_OPENBLAS
    openblas_set_num_threads(1);
#endif
    return true;
  }();
}

std::vector<KernelSpec> available_kernels() {
#ifdef FORKPOOL_WITH_OPENBLAS
  if (!dynamic_arch()) return {{current_kernel(), "", {}}};  // built for one CPU: that one
  std::vector<KernelSpec> out;
  for (const KernelSpec& k : openblas_kernels())
    if (library_has_core(k.openblas_core)) out.push_back(k);
  return out;
#else
  return {{"eigen", "", {}}};
#endif
}

void use_kernel(const KernelSpec& kernel) {
#ifdef FORKPOOL_WITH_OPENBLAS
  if (kernel.openblas_core.empty()) {
    if (kernel.name == current_kernel()) return;
    throw KernelError(fmt::format("kernel '{}' is not this build's", kernel.name));
  }
  auto dynamic = dynamic_arch();
  if (!dynamic) throw KernelError("this OpenBLAS is built for one CPU and cannot switch kernels");
  // OpenBLAS reads the variable inside gotoblas_dynamic_init; the user's value (if any) comes
  // back at once, so that nothing this process starts later sees ours.
  const char* old = std::getenv(kCoretypeVariable);
  std::optional<std::string> saved = old ? std::optional<std::string>(old) : std::nullopt;
  ::setenv(kCoretypeVariable, kernel.openblas_core.c_str(), 1);
  dynamic->quit();
  dynamic->init();
  if (saved) ::setenv(kCoretypeVariable, saved->c_str(), 1);
  else ::unsetenv(kCoretypeVariable);
  if (::strcasecmp(openblas_get_corename(), kernel.openblas_core.c_str()) != 0)
    throw KernelError(fmt::format("OpenBLAS did not switch to core type {} (it runs {})",
                                  kernel.openblas_core, openblas_get_corename()));
#else
  if (kernel.name != "eigen") throw KernelError(fmt::format("kernel '{}' is not this build's", kernel.name));
#endif
}

std::string current_kernel() {
#ifdef FORKPOOL_WITH_OPENBLAS
  return "openblas-" + lower(openblas_get_corename());
#else
  return "eigen";
#endif
}

KernelChoice choose_kernel(const KernelRequest& request, CpuFeatures cpu) {
  auto kernel = decide_kernel(request.name, cpu, available_kernels());
  if (!kernel) throw KernelError(kernel.error());
  use_kernel(*kernel);
  kernel_chosen = true;
  return {kernel->name, request.source};
}

std::string kernel_library() {
#ifdef FORKPOOL_WITH_OPENBLAS
  return fmt::format("{} under Eigen {}.{}.{}", openblas_get_config(),
                     EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION);
#else
  return fmt::format("Eigen {}.{}.{}", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION,
                     EIGEN_MINOR_VERSION);
#endif
}

std::size_t register_blocking(Dtype dtype) noexcept {
  return dtype == Dtype::f32 ? blocking<float>() : blocking<double>();
}

void copy_to_row_major(Dtype dst_type, std::byte* dst, Dtype src_type, const std::byte* src,
                       bool src_fortran_order, std::size_t rows, std::size_t cols) {
  copy_range_to_row_major(dst_type, dst, src_type, src, src_fortran_order, rows, cols, 0,
                          rows * cols);
}

void copy_range_to_row_major(Dtype dst_type, std::byte* dst, Dtype src_type, const std::byte* src,
                             bool src_fortran_order, std::size_t rows, std::size_t cols,
                             std::size_t first, std::size_t count) {
  if (count == 0) return;
  if (dst_type == Dtype::f32)
    copy_from(reinterpret_cast<float*>(dst), src_type, src, src_fortran_order, rows, cols, first, count);
  else
    copy_from(reinterpret_cast<double*>(dst), src_type, src, src_fortran_order, rows, cols, first, count);
}

void fill_uniform(Dtype dtype, std::byte* dst, std::size_t count, std::uint64_t seed) {
  if (dtype == Dtype::f32)
    fill_typed(reinterpret_cast<float*>(dst), count, seed);
  else
    fill_typed(reinterpret_cast<double*>(dst), count, seed);
}

}  // namespace forkpool::matmul
