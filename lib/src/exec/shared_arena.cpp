#include "forkpool/exec/shared_arena.hpp"

#include <stdexcept>

namespace forkpool {

SharedArena::SharedArena(std::size_t capacity) {
  auto memory = ipc::SharedMemory::create(capacity);
  if (!memory) throw std::runtime_error("shared arena: " + memory.error().message());
  memory_ = std::move(*memory);
}

std::size_t SharedArena::allocate(std::size_t bytes, std::size_t alignment) {
  std::size_t offset = (used_ + alignment - 1) / alignment * alignment;
  if (offset > memory_.size() || bytes > memory_.size() - offset)
    throw std::runtime_error("shared arena full: " + std::to_string(bytes) + " bytes requested, " +
                             std::to_string(memory_.size() - used_) + " left");
  used_ = offset + bytes;
  return offset;
}

}  // namespace forkpool
