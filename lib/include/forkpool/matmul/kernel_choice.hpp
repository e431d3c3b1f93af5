#pragma once
// Which matrix kernel multiplies the tiles: the rules, as pure functions of a feature set and
// of what the user asked, so that tests can try any CPU. kernels.hpp applies the choice.

#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "forkpool/matmul/cpu_features.hpp"

namespace forkpool::matmul {

// The environment variable that names a kernel when --kernel does not.
inline constexpr std::string_view kKernelEnvironment = "FORKPOOL_MATMUL_KERNEL";

// One kernel a build may have. OpenBLAS's kernels are its core types: the same library holds
// the code for each, and one is active at a time (kernels.cpp switches it).
struct KernelSpec {
  std::string name;           // "openblas-skylakex": what --kernel takes and reports show
  std::string openblas_core;  // "SkylakeX": OpenBLAS's name of the core type; empty for others
  CpuFeatures needs;          // what the CPU (and its OS) must offer to run it

  friend bool operator==(const KernelSpec&, const KernelSpec&) = default;
};

// The OpenBLAS core types forkpool knows how to choose, fastest first. Measured for both f32
// and f64 on an AVX-512 CPU (docs/matmul.md): the AVX-512 kernels are about twice the AVX2
// ones, so one order serves both types. SkylakeX comes before Cooperlake, whose sgemm/dgemm
// are the same code (it adds bf16 kernels) but which asks more of the CPU.
std::span<const KernelSpec> openblas_kernels();

// Where the kernel request came from; to_string() gives what reports print ("CPU features",
// "--kernel", "FORKPOOL_MATMUL_KERNEL").
enum class KernelSource {
  cpu_features,  // nothing asked: the fastest this CPU runs
  flag,          // --kernel NAME
  environment,   // FORKPOOL_MATMUL_KERNEL=NAME
};
std::string_view to_string(KernelSource source) noexcept;

// What to run: a kernel's name, or none (nullopt) for "choose by the CPU's features".
struct KernelRequest {
  std::optional<std::string> name;  // set for flag and environment
  KernelSource source = KernelSource::cpu_features;
};

// The request from, in order: --kernel (nullopt when not given), then FORKPOOL_MATMUL_KERNEL
// (a null pointer when unset; empty counts as unset); "auto" from either means: choose by the
// CPU's features, as does neither. OPENBLAS_CORETYPE is not followed: it names a machine, and
// environments set it for other programs (this project's machines set Haswell on AVX-512 CPUs),
// so a process that chooses by features would otherwise run half as fast without saying why.
KernelRequest kernel_request(std::optional<std::string_view> flag, const char* env_kernel);

// The kernel to run for `requested` (nullopt: the first of `available` that `cpu` covers)
// among `available` (this build's kernels, fastest first). Otherwise one line saying
// why not: a name this build does not have (listing those it has), or a kernel this CPU cannot
// run (naming the missing features and the kernels it can).
std::expected<KernelSpec, std::string> decide_kernel(std::optional<std::string_view> requested,
                                                     CpuFeatures cpu,
                                                     std::span<const KernelSpec> available);

}  // namespace forkpool::matmul
