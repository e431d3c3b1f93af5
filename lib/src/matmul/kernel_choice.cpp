#include "forkpool/matmul/kernel_choice.hpp"

#include <fmt/core.h>

#include <array>

namespace forkpool::matmul {

namespace {

using F = CpuFeature;

const std::array<KernelSpec, 6>& known() {
  static const std::array<KernelSpec, 6> kernels = {{
      {"openblas-skylakex", "SkylakeX",
       {F::avx, F::fma, F::avx2, F::avx512f, F::avx512cd, F::avx512bw, F::avx512dq, F::avx512vl}},
      {"openblas-cooperlake", "Cooperlake",
       {F::avx, F::fma, F::avx2, F::avx512f, F::avx512cd, F::avx512bw, F::avx512dq, F::avx512vl,
        F::avx512_bf16}},
      {"openblas-haswell", "Haswell", {F::avx, F::fma, F::avx2}},
      {"openblas-zen", "Zen", {F::avx, F::fma, F::avx2}},
      {"openblas-sandybridge", "Sandybridge", {F::avx}},
      {"openblas-prescott", "Prescott", {F::sse3}},
  }};
  return kernels;
}

// A name as the user typed it, for a one-line message: printable ASCII as it is, any other byte
// as \xNN (a name holding a newline would otherwise print two lines).
std::string printable(std::string_view text) {
  std::string out;
  for (unsigned char ch : text.substr(0, 64)) {
    if (ch >= 0x20 && ch < 0x7f) out += static_cast<char>(ch);
    else out += fmt::format("\\x{:02x}", ch);
  }
  if (text.size() > 64) out += "...";
  return out;
}

std::string names(std::span<const KernelSpec> kernels, CpuFeatures cpu, bool runnable_only) {
  std::string out;
  for (const KernelSpec& k : kernels) {
    if (runnable_only && !cpu.covers(k.needs)) continue;
    if (!out.empty()) out += ", ";
    out += k.name;
  }
  return out.empty() ? "none" : out;
}

}  // namespace

std::span<const KernelSpec> openblas_kernels() { return known(); }

std::string_view to_string(KernelSource source) noexcept {
  switch (source) {
    case KernelSource::cpu_features: return "CPU features";
    case KernelSource::flag: return "--kernel";
    case KernelSource::environment: return "FORKPOOL_MATMUL_KERNEL";
  }
  return "?";
}

KernelRequest kernel_request(std::optional<std::string_view> flag, const char* env_kernel) {
  auto named = [](std::string_view name, KernelSource source) {
    if (name == "auto") return KernelRequest{std::nullopt, KernelSource::cpu_features};
    return KernelRequest{std::string(name), source};
  };
  if (flag) return named(*flag, KernelSource::flag);
  if (env_kernel && *env_kernel) return named(env_kernel, KernelSource::environment);
  return {};
}

std::expected<KernelSpec, std::string> decide_kernel(std::optional<std::string_view> requested,
                                                     CpuFeatures cpu,
                                                     std::span<const KernelSpec> available) {
  if (!requested) {
    for (const KernelSpec& k : available)
      if (cpu.covers(k.needs)) return k;
    return std::unexpected(fmt::format("no kernel of this build runs on this CPU (it has: {})",
                                       names(available, cpu, false)));
  }
  for (const KernelSpec& k : available) {
    if (k.name != *requested) continue;
    if (cpu.covers(k.needs)) return k;
    return std::unexpected(fmt::format(
        "kernel '{}' needs {}, which this CPU or its OS does not offer (this CPU runs: {})",
        k.name, cpu.missing(k.needs), names(available, cpu, true)));
  }
  return std::unexpected(fmt::format("unknown kernel '{}' (this build has: auto, {})", printable(*requested),
                                     names(available, cpu, false)));
}

}  // namespace forkpool::matmul
