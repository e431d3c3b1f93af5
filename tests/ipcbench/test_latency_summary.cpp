#include "forkpool/ipcbench/latency_summary.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace forkpool::ipcbench {
namespace {

TEST(LatencySummary, NearestRankPercentiles) {
  std::vector<std::int64_t> samples;
  for (int i = 1000; i >= 1; --i) samples.push_back(i);  // unsorted on purpose
  LatencySummary s = summarize(samples);
  EXPECT_EQ(s.count, 1000u);
  EXPECT_EQ(s.min_ns, 1);
  EXPECT_EQ(s.p50_ns, 500);
  EXPECT_EQ(s.p90_ns, 900);
  EXPECT_EQ(s.p99_ns, 990);
  EXPECT_EQ(s.p999_ns, 999);
  EXPECT_EQ(s.max_ns, 1000);
  EXPECT_DOUBLE_EQ(s.mean_ns, 500.5);
}

TEST(LatencySummary, FewSamplesGiveRealSamples) {
  std::vector<std::int64_t> one = {42};
  LatencySummary s = summarize(one);
  EXPECT_EQ(s.p50_ns, 42);
  EXPECT_EQ(s.p999_ns, 42);
  EXPECT_EQ(s.max_ns, 42);
  std::vector<std::int64_t> three = {30, 10, 20};
  s = summarize(three);
  EXPECT_EQ(s.p50_ns, 20);
  EXPECT_EQ(s.p90_ns, 30);
}

TEST(LatencySummary, EmptyIsAllZero) {
  std::vector<std::int64_t> none;
  LatencySummary s = summarize(none);
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.max_ns, 0);
}

TEST(LatencySummary, PercentilesAreOrdered) {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> d(8, 1.5);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::int64_t> samples(1 + rng() % 5000);
    for (auto& v : samples) v = static_cast<std::int64_t>(d(rng));
    LatencySummary s = summarize(samples);
    EXPECT_LE(s.min_ns, s.p50_ns);
    EXPECT_LE(s.p50_ns, s.p90_ns);
    EXPECT_LE(s.p90_ns, s.p99_ns);
    EXPECT_LE(s.p99_ns, s.p999_ns);
    EXPECT_LE(s.p999_ns, s.max_ns);
  }
}

}  // namespace
}  // namespace forkpool::ipcbench
