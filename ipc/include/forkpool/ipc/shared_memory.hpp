#pragma once
// A POSIX shared-memory segment, mapped, whose name is already gone.

#include <cstddef>
#include <string>

#include "forkpool/ipc/sys_error.hpp"

namespace forkpool::ipc {

// Move-only owner of a MAP_SHARED mapping of a POSIX shared-memory object. create() makes the
// object with a random name, O_EXCL and mode 0600, reserves its pages (posix_fallocate: a full
// /dev/shm is ENOSPC from create(), with a hint, never a SIGBUS when a page is first touched),
// maps it and unlinks the name before it returns: processes forked afterwards inherit the
// mapping, and nothing can be left behind in /dev/shm on any exit path. Unmaps on destruction. Any thread; the bytes are the users' to
// synchronise.
class SharedMemory {
 public:
  SharedMemory() = default;
  static Result<SharedMemory> create(std::size_t bytes);

  SharedMemory(SharedMemory&& other) noexcept;
  SharedMemory& operator=(SharedMemory&& other) noexcept;
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  ~SharedMemory();

  [[nodiscard]] std::byte* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  SharedMemory(std::byte* data, std::size_t size) noexcept : data_(data), size_(size) {}
  void release() noexcept;

  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// "512 bytes", "2.0 MiB", "1.5 GiB": a size for a person.
std::string describe_bytes(std::size_t bytes);

// A fresh name for a named IPC object: "/forkpool-<pid>-<16 random hex digits>".
std::string random_object_name();

}  // namespace forkpool::ipc
