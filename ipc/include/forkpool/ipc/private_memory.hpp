#pragma once
// Private anonymous memory that asks for transparent huge pages.

#include <cstddef>

#include "forkpool/ipc/sys_error.hpp"

namespace forkpool::ipc {

// Move-only owner of a MAP_PRIVATE | MAP_ANONYMOUS mapping advised MADV_HUGEPAGE (where the
// kernel's transparent huge pages are "madvise", as on Debian, only such memory gets them).
// For data that a process fills once and then only reads, and that workers forked after the
// fill read too: fork copies the page tables of private memory (one entry per 2 MiB huge
// page), so a child reads the parent's pages without a fault and without a copy, as long as
// nobody writes them (copy-on-write). A shared segment (SharedMemory) gets neither: tmpfs
// gives it 4 KiB pages unless the system enables shmem huge pages, and a forked child maps
// each page again on its first touch. Unmaps on destruction. Any thread.
class PrivateMemory {
 public:
  PrivateMemory() = default;
  static Result<PrivateMemory> create(std::size_t bytes);

  PrivateMemory(PrivateMemory&& other) noexcept;
  PrivateMemory& operator=(PrivateMemory&& other) noexcept;
  PrivateMemory(const PrivateMemory&) = delete;
  PrivateMemory& operator=(const PrivateMemory&) = delete;
  ~PrivateMemory();

  [[nodiscard]] std::byte* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  PrivateMemory(std::byte* data, std::size_t size) noexcept : data_(data), size_(size) {}
  void release() noexcept;

  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// Maps the pages of [begin, begin + bytes) for writing with madvise(MADV_POPULATE_WRITE)
// (Linux 5.14): one call rather than one fault each. Where the kernel lacks it, nothing: the
// pages are faulted in when first written. Any thread.
void map_for_writing(const std::byte* begin, std::size_t bytes) noexcept;

}  // namespace forkpool::ipc
