#pragma once
// The instruction-set features of this CPU that decide which matrix kernel may run, read with
// cpuid and xgetbv: a feature counts only when the CPU has it AND the OS saves the registers it
// uses (an AVX-512 CPU under an OS that does not save ZMM state cannot run AVX-512 code).

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace forkpool::matmul {

enum class CpuFeature : std::uint8_t {
  sse3,
  avx,          // with the OS saving YMM state (XCR0 bits 1, 2)
  fma,
  avx2,
  avx512f,      // this and the AVX-512 ones below: with the OS saving ZMM state (XCR0 5, 6, 7)
  avx512cd,
  avx512bw,
  avx512dq,
  avx512vl,
  avx512_bf16,
  count_
};

// Its name as /proc/cpuinfo spells it ("avx512bw", "avx512_bf16"), except sse3, which
// /proc/cpuinfo calls "pni".
std::string_view to_string(CpuFeature feature) noexcept;

// A set of features; a plain value, so that tests can make any CPU they like.
class CpuFeatures {
 public:
  constexpr CpuFeatures() = default;
  constexpr CpuFeatures(std::initializer_list<CpuFeature> features) {
    for (CpuFeature f : features) add(f);
  }
  constexpr void add(CpuFeature f) noexcept { bits_ |= bit(f); }
  [[nodiscard]] constexpr bool has(CpuFeature f) const noexcept { return (bits_ & bit(f)) != 0; }
  // Whether every feature of `needed` is here.
  [[nodiscard]] constexpr bool covers(CpuFeatures needed) const noexcept {
    return (needed.bits_ & ~bits_) == 0;
  }
  // The features of `needed` that are not here, as "avx512bw, avx512vl"; empty when none.
  [[nodiscard]] std::string missing(CpuFeatures needed) const;
  friend constexpr bool operator==(CpuFeatures, CpuFeatures) = default;

 private:
  static constexpr std::uint32_t bit(CpuFeature f) noexcept {
    return std::uint32_t{1} << static_cast<unsigned>(f);
  }
  std::uint32_t bits_ = 0;
};

// A comma-separated list of to_string() names ("avx,fma,avx2"; empty: none); nullopt when a
// name is unknown. For tests that pretend to be another CPU.
std::optional<CpuFeatures> parse_cpu_features(std::string_view text);

// This CPU's usable features (cpuid leaves 1 and 7, XCR0 through xgetbv). Empty on a CPU that
// is not x86-64. Any thread.
CpuFeatures detect_cpu_features() noexcept;

}  // namespace forkpool::matmul
