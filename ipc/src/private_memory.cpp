#include "forkpool/ipc/private_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "forkpool/ipc/sys_call.hpp"

namespace forkpool::ipc {

namespace {
constexpr std::size_t kHugePage = std::size_t{2} << 20;
}

Result<PrivateMemory> PrivateMemory::create(std::size_t bytes) {
  // Whole huge pages, so the last one can be huge too (and at least one: mmap refuses zero).
  std::size_t length = (std::max<std::size_t>(bytes, 1) + kHugePage - 1) / kHugePage * kHugePage;
  // Over-map by a huge page and trim, so the mapping starts on a 2 MiB boundary: an unaligned
  // start would leave the first and last partial huge pages in 4 KiB pages.
  auto map = sys_call("mmap", "private memory", [&] {
    return ::mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                  -1, 0);
  });
  if (!map) return std::unexpected(map.error());
  auto start = reinterpret_cast<std::uintptr_t>(*map);
  auto aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) ::munmap(*map, aligned - start);
  if (std::uintptr_t tail = start + length + kHugePage - (aligned + length); tail > 0)
    ::munmap(reinterpret_cast<void*>(aligned + length), tail);
  auto* data = reinterpret_cast<std::byte*>(aligned);
  ::madvise(data, length, MADV_HUGEPAGE);  // advice only: 4 KiB pages where THP is off
  return PrivateMemory(data, length);
}

PrivateMemory::PrivateMemory(PrivateMemory&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

PrivateMemory& PrivateMemory::operator=(PrivateMemory&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

PrivateMemory::~PrivateMemory() { release(); }

void PrivateMemory::release() noexcept {
  if (data_) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

void map_for_writing(const std::byte* begin, std::size_t bytes) noexcept {
#ifdef MADV_POPULATE_WRITE
  if (bytes == 0) return;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  auto first = reinterpret_cast<std::uintptr_t>(begin) / page * page;
  auto end = reinterpret_cast<std::uintptr_t>(begin) + bytes;
  ::madvise(reinterpret_cast<void*>(first), end - first, MADV_POPULATE_WRITE);  // errors ignored
#else
  (void)begin;
  (void)bytes;
#endif
}

}  // namespace forkpool::ipc
