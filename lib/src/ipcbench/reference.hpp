#pragma once
// The limits every transport is compared with, measured on the spot.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "forkpool/ipc/signal_catcher.hpp"
#include "forkpool/ipcbench/bench.hpp"
#include "peer_pair.hpp"

namespace forkpool::ipcbench::detail {

struct ReferenceBudget {
  std::chrono::nanoseconds duration{std::chrono::milliseconds(200)};
  std::optional<std::uint64_t> count;  // exact repetitions instead of a duration
  std::chrono::nanoseconds warmup{std::chrono::milliseconds(20)};
};

// memcpy of `size` bytes between two buffers of this process, repeated; both buffers are
// touched first so that page faults are not counted. Any thread.
MemcpyResult measure_memcpy(std::size_t size, const ReferenceBudget& budget);

// Two forked processes bounce one cache line (an atomic counter in shared memory): the
// initiator writes an odd value, the responder answers with the next even one. Each sample
// is one round trip. Main thread of the benchmarking process (it forks).
CacheLineResult measure_cache_line(const ReferenceBudget& budget,
                                   const std::optional<std::array<int, 2>>& pin,
                                   std::chrono::nanoseconds stall_timeout,
                                   ipc::SignalCatcher& catcher, int& interrupt_signal);

}  // namespace forkpool::ipcbench::detail
