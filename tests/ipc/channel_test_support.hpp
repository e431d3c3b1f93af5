#pragma once
// Helpers for the channel tests: recognisable payloads and forked peers that are always reaped.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "forkpool/ipc/channel.hpp"

namespace forkpool::testing {

// `size` bytes that differ with position and `seed`, so a lost, repeated or reordered chunk
// shows up as a mismatch.
inline ipc::Bytes pattern(std::size_t size, std::uint64_t seed) {
  ipc::Bytes out(size);
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i < size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(out.data() + i, &x, std::min<std::size_t>(8, size - i));
  }
  return out;
}

inline std::span<const std::byte> as_bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

inline std::string as_string(const ipc::Bytes& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// A forked child that runs `body` and _exit()s with its return value (never returns into
// GoogleTest in the child). The destructor SIGKILLs and reaps a child the test did not wait
// for, so a failed assertion leaves nothing behind.
class ForkedChild {
 public:
  template <class Body>
  explicit ForkedChild(Body&& body) {
    pid_ = ::fork();
    if (pid_ == 0) ::_exit(body());
  }
  ForkedChild(const ForkedChild&) = delete;
  ForkedChild& operator=(const ForkedChild&) = delete;
  ~ForkedChild() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }

  [[nodiscard]] bool started() const { return pid_ > 0; }

  // Reaps the child: its exit code, or 128 + signal number.
  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
};

}  // namespace forkpool::testing
