#include "forkpool/exec/pool_memory.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace forkpool {

std::optional<std::size_t> pss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string line;
  while (std::getline(in, line)) {
    // "Pss:              1234 kB"; Pss_Anon and the like come after it.
    if (line.rfind("Pss:", 0) != 0) continue;
    std::istringstream fields(line.substr(4));
    std::size_t kib = 0;
    if (fields >> kib) return kib * 1024;
    return std::nullopt;
  }
  return std::nullopt;
}

std::vector<pid_t> child_pids() {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream in(task.path() / "children");
    pid_t pid = 0;
    while (in >> pid) out.push_back(pid);
  }
  return out;
}

PoolMemory pool_memory() {
  PoolMemory out;
  std::vector<pid_t> pids = child_pids();
  pids.insert(pids.begin(), ::getpid());
  for (pid_t pid : pids) {
    if (auto bytes = pss_bytes(pid)) {
      out.bytes += *bytes;
      ++out.processes;
    }
  }
  return out;
}

void PeakPoolMemory::sample() {
  const auto start = std::chrono::steady_clock::now();
  PoolMemory now = pool_memory();
  last_ = std::chrono::steady_clock::now();
  gap_ = std::max<std::chrono::steady_clock::duration>(interval_, (last_ - start) * kGapPerSampleTime);
  ++samples_;
  if (now.bytes > peak_.bytes) peak_ = now;
}

void PeakPoolMemory::sample_now_and_then() {
  if (samples_ > 0 && std::chrono::steady_clock::now() - last_ < gap_) return;
  sample();
}

}  // namespace forkpool
