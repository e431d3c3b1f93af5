#include <sched.h>

#include "forkpool/exec/executor.hpp"

namespace forkpool {

std::string_view to_string(Backend b) noexcept {
  switch (b) {
    case Backend::serial: return "serial";
    case Backend::threads: return "threads";
    case Backend::processes: return "processes";
    case Backend::mpi: return "mpi";
  }
  return "?";
}

std::optional<Backend> parse_backend(std::string_view name) noexcept {
  for (Backend b : kAllBackends)
    if (to_string(b) == name) return b;
  return std::nullopt;
}

std::string_view to_string(JobStatus s) noexcept {
  switch (s) {
    case JobStatus::done: return "done";
    case JobStatus::failed: return "failed";
    case JobStatus::cancelled: return "cancelled";
  }
  return "?";
}

unsigned available_cores() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  int n = CPU_COUNT(&set);
  return n > 0 ? static_cast<unsigned>(n) : 1u;
}

std::uint64_t BatchReport::payload_bytes(std::span<const Bytes> jobs,
                                         std::size_t shared_input_bytes) const noexcept {
  std::uint64_t bytes = std::uint64_t{shared_input_bytes} * workers;
  for (const Bytes& job : jobs) bytes += job.size();
  for (const JobResult& r : results) bytes += r.output.size();
  return bytes;
}

std::size_t BatchReport::count(JobStatus s) const noexcept {
  std::size_t n = 0;
  for (const auto& r : results) n += r.status == s;
  return n;
}

}  // namespace forkpool
