#pragma once
// Memory every worker of a batch can read and write, addressed by offsets.

#include <cstddef>

#include "forkpool/ipc/shared_memory.hpp"

namespace forkpool {

// A shared-memory segment with a bump allocator, for executors whose shares_memory() is true.
// Create it, and fill it, before Executor::run():
// forked workers inherit the mapping, threads share it anyway. Jobs carry offsets, never
// pointers. allocate() is for the coordinator before the batch; workers only read and write
// the regions they were given. Throws std::runtime_error when the segment cannot be made.
class SharedArena {
 public:
  explicit SharedArena(std::size_t capacity);

  // Reserves `bytes` aligned to `alignment` and returns its offset; throws when full.
  std::size_t allocate(std::size_t bytes, std::size_t alignment = 64);

  [[nodiscard]] std::byte* at(std::size_t offset) const noexcept { return memory_.data() + offset; }
  template <class T>
  [[nodiscard]] T* as(std::size_t offset) const noexcept {
    return reinterpret_cast<T*>(at(offset));
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return memory_.size(); }
  [[nodiscard]] std::size_t used() const noexcept { return used_; }

 private:
  ipc::SharedMemory memory_;
  std::size_t used_ = 0;
};

}  // namespace forkpool
