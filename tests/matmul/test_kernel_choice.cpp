// Which kernel is chosen: the rules on made-up CPUs and requests, and the features read from
// this CPU against what the OS reports in /proc/cpuinfo.

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "forkpool/matmul/cpu_features.hpp"
#include "forkpool/matmul/kernel_choice.hpp"

namespace forkpool::matmul {
namespace {

using F = CpuFeature;

const CpuFeatures kAvx2Cpu{F::sse3, F::avx, F::fma, F::avx2};
const CpuFeatures kAvx512Cpu{F::sse3,     F::avx,      F::fma,      F::avx2,    F::avx512f,
                             F::avx512cd, F::avx512bw, F::avx512dq, F::avx512vl};

std::vector<KernelSpec> all() { return {openblas_kernels().begin(), openblas_kernels().end()}; }

std::string chosen(CpuFeatures cpu, std::optional<std::string_view> requested = std::nullopt,
                   const std::vector<KernelSpec>& available = all()) {
  auto k = decide_kernel(requested, cpu, available);
  return k ? k->name : "error: " + k.error();
}

TEST(KernelChoice, TheFastestKernelTheCpuRuns) {
  EXPECT_EQ(chosen(kAvx512Cpu), "openblas-skylakex");
  CpuFeatures bf16 = kAvx512Cpu;
  bf16.add(F::avx512_bf16);
  EXPECT_EQ(chosen(bf16), "openblas-skylakex") << "Cooperlake's gemm is SkylakeX's";
  EXPECT_EQ(chosen(kAvx2Cpu), "openblas-haswell");
  EXPECT_EQ(chosen({F::sse3, F::avx}), "openblas-sandybridge");
  EXPECT_EQ(chosen({F::sse3}), "openblas-prescott");
  EXPECT_NE(chosen({F::sse3, F::avx}, "auto").find("unknown kernel 'auto'"), std::string::npos)
      << "kernel_request() turns \"auto\" into no name";
  EXPECT_NE(chosen(kAvx2Cpu, "").find("unknown kernel ''"), std::string::npos);
}

// AVX-512F alone (an early Xeon Phi has no BW/DQ/VL), or AVX2 without FMA, is not enough.
TEST(KernelChoice, EveryFeatureAKernelNeedsCounts) {
  EXPECT_EQ(chosen({F::sse3, F::avx, F::fma, F::avx2, F::avx512f, F::avx512cd}), "openblas-haswell");
  EXPECT_EQ(chosen({F::sse3, F::avx, F::avx2}), "openblas-sandybridge");
  EXPECT_EQ(chosen({F::sse3, F::avx, F::fma}), "openblas-sandybridge");
}

TEST(KernelChoice, OnlyKernelsTheLibraryHoldsAreChosen) {
  std::vector<KernelSpec> without_avx512;
  for (const KernelSpec& k : all())
    if (!k.needs.has(F::avx512f)) without_avx512.push_back(k);
  EXPECT_EQ(chosen(kAvx512Cpu, std::nullopt, without_avx512), "openblas-haswell");
  std::string refused = chosen(kAvx512Cpu, "openblas-skylakex", without_avx512);
  EXPECT_NE(refused.find("unknown kernel 'openblas-skylakex'"), std::string::npos) << refused;
  EXPECT_NE(refused.find("openblas-haswell"), std::string::npos) << refused;
  // A build for one CPU, or without OpenBLAS: one kernel that needs nothing.
  EXPECT_EQ(chosen({}, std::nullopt, {{"eigen", "", {}}}), "eigen");
  EXPECT_EQ(chosen({}, "eigen", {{"eigen", "", {}}}), "eigen");
}

TEST(KernelChoice, AKernelTheCpuLacksFeaturesForIsRefusedByName) {
  std::string refused = chosen(kAvx2Cpu, "openblas-skylakex");
  EXPECT_EQ(refused,
            "error: kernel 'openblas-skylakex' needs avx512f, avx512cd, avx512bw, avx512dq, "
            "avx512vl, which this CPU or its OS does not offer (this CPU runs: openblas-haswell, "
            "openblas-zen, openblas-sandybridge, openblas-prescott)");
  EXPECT_EQ(chosen(kAvx512Cpu, "openblas-cooperlake"),
            "error: kernel 'openblas-cooperlake' needs avx512_bf16, which this CPU or its OS does "
            "not offer (this CPU runs: openblas-skylakex, openblas-haswell, openblas-zen, "
            "openblas-sandybridge, openblas-prescott)");
  EXPECT_EQ(chosen(kAvx2Cpu, "openblas-haswell"), "openblas-haswell");
  EXPECT_NE(chosen({}).find("error: no kernel of this build runs on this CPU"), std::string::npos);
}

TEST(KernelChoice, AnUnknownNameIsRefusedOnOneLine) {
  EXPECT_EQ(chosen(kAvx2Cpu, "SkylakeX"),
            "error: unknown kernel 'SkylakeX' (this build has: auto, openblas-skylakex, "
            "openblas-cooperlake, openblas-haswell, openblas-zen, openblas-sandybridge, "
            "openblas-prescott)");
  std::string refused = chosen(kAvx2Cpu, "a\nb");
  EXPECT_EQ(refused.find('\n'), std::string::npos) << refused;
  EXPECT_NE(refused.find("'a\\x0ab'"), std::string::npos) << refused;
}

TEST(KernelChoice, TheFlagThenTheVariableThenTheCpu) {
  auto req = kernel_request(std::string_view("openblas-zen"), "openblas-haswell");
  EXPECT_EQ(req.name, "openblas-zen");
  EXPECT_EQ(req.source, KernelSource::flag);
  req = kernel_request(std::nullopt, "openblas-haswell");
  EXPECT_EQ(req.name, "openblas-haswell");
  EXPECT_EQ(req.source, KernelSource::environment);
  req = kernel_request(std::nullopt, nullptr);
  EXPECT_EQ(req.name, std::nullopt);
  EXPECT_EQ(req.source, KernelSource::cpu_features);
  req = kernel_request(std::nullopt, "");  // empty is unset
  EXPECT_EQ(req.name, std::nullopt);
  EXPECT_EQ(req.source, KernelSource::cpu_features);
  // "auto" chooses by the CPU.
  req = kernel_request(std::string_view("auto"), "openblas-haswell");
  EXPECT_EQ(req.name, std::nullopt);
  EXPECT_EQ(req.source, KernelSource::cpu_features);
  req = kernel_request(std::nullopt, "auto");
  EXPECT_EQ(req.source, KernelSource::cpu_features);
  // An empty --kernel is a name (refused later), not "not given".
  req = kernel_request(std::string_view(""), nullptr);
  EXPECT_EQ(req.name, "");
}

TEST(CpuFeatures, ParsesNamesAndSaysWhatIsMissing) {
  EXPECT_EQ(parse_cpu_features("avx,fma,avx2"), (CpuFeatures{F::avx, F::fma, F::avx2}));
  EXPECT_EQ(parse_cpu_features(""), CpuFeatures{});
  EXPECT_EQ(parse_cpu_features("avx,sse9"), std::nullopt);
  EXPECT_EQ(kAvx2Cpu.missing(kAvx512Cpu), "avx512f, avx512cd, avx512bw, avx512dq, avx512vl");
  EXPECT_EQ(kAvx512Cpu.missing(kAvx2Cpu), "");
  EXPECT_TRUE(kAvx512Cpu.covers(kAvx2Cpu));
  EXPECT_FALSE(kAvx2Cpu.covers(kAvx512Cpu));
}

// Linux lists a feature in /proc/cpuinfo only when the CPU has it and the kernel enabled its
// register state: the same rule as detect_cpu_features().
TEST(CpuFeatures, DetectedFeaturesAreThoseProcCpuinfoLists) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  std::set<std::string> flags;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    for (std::string w; words >> w;) flags.insert(w);
    break;
  }
  if (flags.empty()) GTEST_SKIP() << "/proc/cpuinfo lists no flags (not x86)";
  CpuFeatures cpu = detect_cpu_features();
  for (int i = 0; i < static_cast<int>(F::count_); ++i) {
    auto f = static_cast<F>(i);
    std::string name(f == F::sse3 ? "pni" : to_string(f));
    EXPECT_EQ(cpu.has(f), flags.contains(name)) << name;
  }
}

}  // namespace
}  // namespace forkpool::matmul
