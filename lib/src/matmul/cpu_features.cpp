#include "forkpool/matmul/cpu_features.hpp"

#include <algorithm>
#include <array>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace forkpool::matmul {

namespace {

constexpr std::array<std::string_view, static_cast<std::size_t>(CpuFeature::count_)> kNames = {
    "sse3",     "avx",      "fma",      "avx2",     "avx512f",
    "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16"};

#if defined(__x86_64__) || defined(__i386__)
// XCR0: which register states the OS saves on a context switch. Read with the instruction's
// bytes, since the intrinsic needs -mxsave, which a portable build does not have.
std::uint64_t read_xcr0() noexcept {
  std::uint32_t eax = 0, edx = 0;
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
  return (std::uint64_t{edx} << 32) | eax;
}
#endif

}  // namespace

std::string_view to_string(CpuFeature feature) noexcept {
  auto i = static_cast<std::size_t>(feature);
  return i < kNames.size() ? kNames[i] : "?";
}

std::string CpuFeatures::missing(CpuFeatures needed) const {
  std::string out;
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    auto f = static_cast<CpuFeature>(i);
    if (needed.has(f) && !has(f)) {
      if (!out.empty()) out += ", ";
      out += kNames[i];
    }
  }
  return out;
}

std::optional<CpuFeatures> parse_cpu_features(std::string_view text) {
  CpuFeatures out;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view name = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    auto it = std::find(kNames.begin(), kNames.end(), name);
    if (it == kNames.end()) return std::nullopt;
    out.add(static_cast<CpuFeature>(it - kNames.begin()));
  }
  return out;
}

CpuFeatures detect_cpu_features() noexcept {
  CpuFeatures out;
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return out;
  if (ecx & bit_SSE3) out.add(CpuFeature::sse3);
  // OSXSAVE: the OS uses XSAVE and lets us read XCR0; without it no AVX state is saved.
  const bool osxsave = (ecx & bit_OSXSAVE) != 0;
  const std::uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  const bool ymm_saved = (xcr0 & 0x6) == 0x6;         // SSE and AVX state
  const bool zmm_saved = (xcr0 & 0xe6) == 0xe6;       // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!ymm_saved) return out;
  if (ecx & bit_AVX) out.add(CpuFeature::avx);
  if (ecx & bit_FMA) out.add(CpuFeature::fma);
  unsigned max_leaf = __get_cpuid_max(0, nullptr);
  if (max_leaf < 7) return out;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  if (ebx & bit_AVX2) out.add(CpuFeature::avx2);
  if (!zmm_saved) return out;
  if (ebx & bit_AVX512F) out.add(CpuFeature::avx512f);
  if (ebx & bit_AVX512CD) out.add(CpuFeature::avx512cd);
  if (ebx & bit_AVX512BW) out.add(CpuFeature::avx512bw);
  if (ebx & bit_AVX512DQ) out.add(CpuFeature::avx512dq);
  if (ebx & bit_AVX512VL) out.add(CpuFeature::avx512vl);
  const unsigned subleaves = eax;
  if (subleaves >= 1) {
    __cpuid_count(7, 1, eax, ebx, ecx, edx);
    if (eax & bit_AVX512BF16) out.add(CpuFeature::avx512_bf16);
  }
#endif
  return out;
}

}  // namespace forkpool::matmul
