#pragma once
// Writing another process's memory in one copy (process_vm_writev: "cross-memory attach", as
// Open MPI's shared-memory transport uses it for large messages).

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "forkpool/ipc/sys_error.hpp"

namespace forkpool::ipc {

// `bytes` bytes from `from` in this process to address `to` in the other one.
struct MemoryCopy {
  const std::byte* from = nullptr;
  std::uintptr_t to = 0;
  std::size_t bytes = 0;
};

// Copies every one of `copies` into process `pid`'s memory, straight from this process's pages
// to its pages: no shared segment in between, and the target's pages are its own (private
// memory in huge pages, say), which the copy faults in there. The kernel allows it where this
// process may ptrace `pid` (same user, `pid` dumpable, and under Yama's ptrace_scope 1 only an
// ancestor or a process `pid` named: see WritableByDescendants); a seccomp filter may refuse it.
// Fails with the first error (EPERM, ENOSYS, EFAULT for an address that is not mapped
// writable there, ESRCH when `pid` is gone); what was copied before it stays copied. Any thread.
Result<void> write_to_process(pid_t pid, std::span<const MemoryCopy> copies);

// While it lives, this process's descendants may write its memory with write_to_process()
// where Yama's ptrace_scope 1 (Ubuntu's default) would otherwise refuse them, since it lets
// only ancestors attach (prctl PR_SET_PTRACER with this process's own pid; a kernel without
// Yama has nothing to set). Restores "nobody named" when it ends. One at a time per process.
class WritableByDescendants {
 public:
  WritableByDescendants() noexcept;
  ~WritableByDescendants();
  WritableByDescendants(const WritableByDescendants&) = delete;
  WritableByDescendants& operator=(const WritableByDescendants&) = delete;

 private:
  bool set_ = false;
};

}  // namespace forkpool::ipc
