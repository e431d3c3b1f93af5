#pragma once
// What each process of a benchmark run tells the process that forked it, through shared memory.

#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "forkpool/ipcbench/latency_summary.hpp"

namespace forkpool::ipcbench::detail {

// Lives in a SharedMemory segment created before fork(). Its writer is one peer process while
// it runs; the forking process reads it only after reaping that peer (wait4 orders the two).
struct PeerReport {
  static constexpr std::uint32_t kMagic = 0x49504342;  // "IPCB"
  static constexpr std::uint32_t kVersion = 2;

  std::uint32_t magic = kMagic;
  std::uint32_t version = kVersion;
  std::uint64_t warmup_count = 0;  // round trips or messages before the measured phase
  std::uint64_t count = 0;         // measured ones
  std::int64_t elapsed_ns = 0;     // the measured phase
  // The idle check's responder: CPU (user + system) it used blocked in its first receive.
  std::int64_t first_wait_cpu_ns = 0;
  LatencySummary rtt;
  char error[512] = {};

  void set_error(std::string_view text) noexcept {
    std::size_t n = text.size() < sizeof error - 1 ? text.size() : sizeof error - 1;
    std::memcpy(error, text.data(), n);
    error[n] = '\0';
  }
  [[nodiscard]] bool valid() const noexcept { return magic == kMagic && version == kVersion; }
};

// The two peers' reports of one run, side by side in one segment.
struct RunReports {
  PeerReport initiator;
  PeerReport responder;
};
static_assert(std::is_trivially_copyable_v<RunReports>);

}  // namespace forkpool::ipcbench::detail
