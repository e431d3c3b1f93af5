#pragma once
// Memory the coordinator makes ready for each worker before a batch, for the worker to write.

#include <cstddef>
#include <span>
#include <vector>

#include "forkpool/ipc/private_memory.hpp"

namespace forkpool {

// One region per worker of private memory in huge pages (ipc::PrivateMemory), whose pages the
// coordinator maps before the batch (map_pages(), on a core the load leaves idle), so that a
// worker writes into it without first being given fresh pages. On this project's VM a fresh
// huge page cost up to 2.6 ms per MiB to zero (docs/matmul.md).
//
// A forked worker gets its region as its own: the region alone is inherited by the fork of its
// slot (fork copies one page-table entry per huge page), and the coordinator unmaps it right
// after that fork, before the worker is sent anything. The worker's pages are then mapped by it
// alone, so its first write to each takes the page as it is, without the copy that a page
// still shared with the coordinator would cost. A worker forked later into the same slot (a
// replacement) finds no region: the first one took it. Workers that are threads of this
// process (threads, serial) use the regions in place. Not thread-safe; the coordinator's.
class WorkerScratch {
 public:
  // `workers` regions of at least `bytes_each`. Throws std::runtime_error when the memory
  // cannot be reserved; its pages are only given when mapped.
  WorkerScratch(unsigned workers, std::size_t bytes_each);

  // Maps every region's pages for writing (madvise(MADV_POPULATE_WRITE); nothing where the
  // kernel lacks it). Any thread, while nothing else uses the regions.
  void map_pages() const;

  [[nodiscard]] unsigned workers() const noexcept { return static_cast<unsigned>(regions_.size()); }

  // Worker `index`'s region; empty when there is none (index out of range, or handed over).
  // In a forked worker: the region it inherited, or empty.
  [[nodiscard]] std::span<std::byte> region(unsigned index) const noexcept;

  // Around the fork of worker `index`, in the coordinator: before it, the region becomes the
  // one the fork inherits; after it (forked or not), the coordinator lets go of it.
  void inherit_at_next_fork(unsigned index) const noexcept;
  void let_go(unsigned index) noexcept;

 private:
  std::vector<ipc::PrivateMemory> regions_;
};

}  // namespace forkpool
