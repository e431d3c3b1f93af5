#pragma once
// The memory a pool of processes takes: the sum of the proportional set sizes (PSS) of this
// process and of its children, from /proc/PID/smaps_rollup. PSS charges each shared page to
// the processes that map it in equal shares, so the sum counts the shared arena once however
// many workers map it, where adding up RSS would count it once per worker.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

namespace forkpool {

// PSS of one process in bytes; nullopt when it is gone or /proc cannot be read. Any thread.
std::optional<std::size_t> pss_bytes(pid_t pid);

// The children of every thread of this process (/proc/self/task/*/children), workers included;
// empty where the kernel does not list them. Any thread.
std::vector<pid_t> child_pids();

// PSS of this process and its children, and how many of them were counted.
struct PoolMemory {
  std::size_t bytes = 0;
  unsigned processes = 0;
};
PoolMemory pool_memory();

// The largest pool_memory() of the samples taken. Sampling costs a walk of each process's page
// tables (about a millisecond per GiB mapped, several on a virtual machine), so
// sample_now_and_then() skips samples closer than `interval` to the last one, or than 50 times
// the last sample took: sampling never takes more than 2 % of the calling thread, which is the
// coordinator's, whose time is what is measured. Used by one thread.
class PeakPoolMemory {
 public:
  explicit PeakPoolMemory(std::chrono::milliseconds interval = std::chrono::milliseconds(20))
      : interval_(interval) {}

  void sample();
  void sample_now_and_then();
  [[nodiscard]] PoolMemory peak() const noexcept { return peak_; }
  [[nodiscard]] unsigned samples() const noexcept { return samples_; }

 private:
  static constexpr int kGapPerSampleTime = 50;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::duration gap_{interval_};
  std::chrono::steady_clock::time_point last_{};
  PoolMemory peak_;
  unsigned samples_ = 0;
};

}  // namespace forkpool
