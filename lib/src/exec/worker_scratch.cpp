#include "forkpool/exec/worker_scratch.hpp"

#include <sys/mman.h>

#include <stdexcept>

namespace forkpool {

WorkerScratch::WorkerScratch(unsigned workers, std::size_t bytes_each) {
  regions_.reserve(workers);
  for (unsigned w = 0; w < workers; ++w) {
    auto memory = ipc::PrivateMemory::create(bytes_each);
    if (!memory) throw std::runtime_error("worker scratch: " + memory.error().message());
    // Inherited by no fork but its worker's (inherit_at_next_fork): a sibling holding a
    // worker's pages would make each of that worker's first writes a copy.
    ::madvise(memory->data(), memory->size(), MADV_DONTFORK);  // advice only: errors ignored
    regions_.push_back(std::move(*memory));
  }
}

void WorkerScratch::map_pages() const {
  for (const ipc::PrivateMemory& r : regions_) ipc::map_for_writing(r.data(), r.size());
}

std::span<std::byte> WorkerScratch::region(unsigned index) const noexcept {
  if (index >= regions_.size()) return {};
  return {regions_[index].data(), regions_[index].size()};
}

void WorkerScratch::inherit_at_next_fork(unsigned index) const noexcept {
  if (auto r = region(index); !r.empty()) ::madvise(r.data(), r.size(), MADV_DOFORK);
}

void WorkerScratch::let_go(unsigned index) noexcept {
  if (index < regions_.size()) regions_[index] = {};
}

}  // namespace forkpool
