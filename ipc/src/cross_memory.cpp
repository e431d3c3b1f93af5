#include "forkpool/ipc/cross_memory.hpp"

#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string>
#include <vector>

#include "forkpool/ipc/sys_call.hpp"

namespace forkpool::ipc {

Result<void> write_to_process(pid_t pid, std::span<const MemoryCopy> copies) {
  constexpr std::size_t kBatch = IOV_MAX;  // the most iovecs one call takes
  std::vector<iovec> local, remote;
  for (std::size_t first = 0; first < copies.size(); first += kBatch) {
    const auto batch = copies.subspan(first, std::min(kBatch, copies.size() - first));
    local.clear();
    remote.clear();
    std::size_t total = 0;
    for (const MemoryCopy& c : batch) {
      local.push_back({const_cast<std::byte*>(c.from), c.bytes});
      remote.push_back({reinterpret_cast<void*>(c.to), c.bytes});
      total += c.bytes;
    }
    auto written = sys_call("process_vm_writev", [&] { return "pid " + std::to_string(pid); }, [&] {
      return ::process_vm_writev(pid, local.data(), local.size(), remote.data(), remote.size(), 0);
    });
    if (!written) return std::unexpected(written.error());
    // A short count means the copy stopped at an address it could not write.
    if (static_cast<std::size_t>(*written) != total)
      return sys_failure("process_vm_writev", "pid " + std::to_string(pid), EFAULT);
  }
  return {};
}

WritableByDescendants::WritableByDescendants() noexcept
    : set_(::prctl(PR_SET_PTRACER, static_cast<unsigned long>(::getpid()), 0, 0, 0) == 0) {}

WritableByDescendants::~WritableByDescendants() {
  if (set_) ::prctl(PR_SET_PTRACER, 0UL, 0, 0, 0);
}

}  // namespace forkpool::ipc
