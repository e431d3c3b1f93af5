#pragma once
// Percentiles of a set of latency samples.

#include <cstdint>
#include <vector>

namespace forkpool::ipcbench {

// Nanoseconds. Trivially copyable: a benchmark process writes it into shared memory for the
// process that started it.
struct LatencySummary {
  std::uint64_t count = 0;
  std::int64_t min_ns = 0;
  double mean_ns = 0;
  std::int64_t p50_ns = 0;
  std::int64_t p90_ns = 0;
  std::int64_t p99_ns = 0;
  std::int64_t p999_ns = 0;
  std::int64_t max_ns = 0;
};

// Exact percentiles (nearest rank over the sorted samples: p of n is the ceil(p*n)-th smallest),
// so p50 <= p90 <= p99 <= p99.9 <= max always holds. Sorts `samples` in place; all zero when
// empty. Any thread.
LatencySummary summarize(std::vector<std::int64_t>& samples);

}  // namespace forkpool::ipcbench
