#include "forkpool/ipcbench/latency_summary.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace forkpool::ipcbench {

LatencySummary summarize(std::vector<std::int64_t>& samples) {
  LatencySummary s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  const std::size_t n = samples.size();
  auto rank = [&](double p) {
    auto k = static_cast<std::size_t>(std::ceil(p * static_cast<double>(n)));
    return samples[std::clamp<std::size_t>(k, 1, n) - 1];
  };
  s.count = n;
  s.min_ns = samples.front();
  s.max_ns = samples.back();
  s.mean_ns = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(n);
  s.p50_ns = rank(0.50);
  s.p90_ns = rank(0.90);
  s.p99_ns = rank(0.99);
  s.p999_ns = rank(0.999);
  return s;
}

}  // namespace forkpool::ipcbench
