#pragma once
// A point in time (monotonic clock) after which a blocking call gives up.

#include <chrono>

namespace forkpool::ipc {

// Value type, any thread.
class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  static Deadline never() noexcept { return Deadline(Clock::time_point::max()); }
  static Deadline after(Clock::duration d) noexcept { return Deadline(Clock::now() + d); }
  static Deadline at(Clock::time_point t) noexcept { return Deadline(t); }

  [[nodiscard]] bool is_never() const noexcept { return when_ == Clock::time_point::max(); }
  [[nodiscard]] bool expired() const noexcept { return !is_never() && Clock::now() >= when_; }
  // Milliseconds left for poll()/epoll_wait(): -1 for never, 0 once expired, rounded up.
  [[nodiscard]] int poll_timeout_ms() const noexcept;
  [[nodiscard]] Clock::time_point when() const noexcept { return when_; }

 private:
  explicit Deadline(Clock::time_point t) noexcept : when_(t) {}
  Clock::time_point when_;
};

}  // namespace forkpool::ipc
