#include "forkpool/ipc/shared_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <utility>

#include "forkpool/ipc/sys_call.hpp"
#include "forkpool/ipc/unique_fd.hpp"

namespace forkpool::ipc {

std::string random_object_name() {
  unsigned long long bits = 0;
  // getrandom on a few bytes never blocks once the pool is initialised and is not interrupted.
  if (::getrandom(&bits, sizeof bits, 0) != static_cast<ssize_t>(sizeof bits))
    bits = static_cast<unsigned long long>(::getpid()) * 0x9E3779B97F4A7C15ull ^
           reinterpret_cast<std::uintptr_t>(&bits);
  char buf[64];
  std::snprintf(buf, sizeof buf, "/forkpool-%d-%016llx", static_cast<int>(::getpid()), bits);
  return buf;
}

std::string describe_bytes(std::size_t bytes) {
  char buf[32];
  if (bytes >= (std::size_t{1} << 30))
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1 << 30));
  else if (bytes >= (std::size_t{1} << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%zu bytes", bytes);
  return buf;
}

Result<SharedMemory> SharedMemory::create(std::size_t bytes) {
  // mmap refuses a zero length; a one-byte segment keeps the type simple for empty payloads.
  std::size_t length = bytes == 0 ? 1 : bytes;
  for (int attempt = 0;; ++attempt) {
    std::string name = random_object_name();
    auto fd = sys_call("shm_open", name, [&] {
      return ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    });
    if (!fd) {
      if (fd.error().code == EEXIST && attempt < 8) continue;
      return std::unexpected(fd.error());
    }
    UniqueFd owned(*fd);
    // The name only served to create the object: drop it now so no path can leak it.
    ::shm_unlink(name.c_str());
    if (auto r = sys_call("ftruncate", name, [&] {
          return ::ftruncate(owned.get(), static_cast<off_t>(length));
        });
        !r)
      return std::unexpected(r.error());
    // tmpfs gives pages only when they are touched, and a page it cannot give is a SIGBUS then,
    // in whichever process touches it, long after this returned. Reserving them now makes a
    // full /dev/shm an error here, before any work.
    if (auto r = sys_call("posix_fallocate", name, [&] {
          // Returns the error instead of setting errno.
          int code = ::posix_fallocate(owned.get(), 0, static_cast<off_t>(length));
          if (code == 0) return 0;
          errno = code;
          return -1;
        });
        !r) {
      SysError e = r.error();
      if (e.code == ENOSPC || e.code == ENOMEM)
        e.hint = "no space in /dev/shm for " + describe_bytes(length) + " of shared memory";
      return std::unexpected(std::move(e));
    }
    auto map = sys_call("mmap", name, [&] {
      return ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, owned.get(), 0);
    });
    if (!map) return std::unexpected(map.error());
    return SharedMemory(static_cast<std::byte*>(*map), length);
  }
}

SharedMemory::SharedMemory(SharedMemory&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SharedMemory& SharedMemory::operator=(SharedMemory&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SharedMemory::~SharedMemory() { release(); }

void SharedMemory::release() noexcept {
  if (data_) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace forkpool::ipc
