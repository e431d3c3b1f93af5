#pragma once
// An epoll event loop: callbacks on fd readiness (channels' wait_fds, pidfds, a signalfd) and
// on timers.

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "forkpool/ipc/deadline.hpp"
#include "forkpool/ipc/sys_error.hpp"
#include "forkpool/ipc/unique_fd.hpp"

namespace forkpool::ipc {

// Single-threaded: one thread registers, runs and stops it; callbacks run on that thread, one
// at a time, and may add or remove any source (their own included) and call stop(). A source
// removed during a round of dispatch gets no further callback in that round. Exceptions from
// callbacks propagate out of run()/run_once(); the loop may then be destroyed or run again.
// A process forked while a loop lives calls close_after_fork() on its copy.
class EventLoop {
 public:
  using FdCallback = std::function<void(std::uint32_t events)>;  // EPOLLIN, EPOLLHUP, ...
  using TimerCallback = std::function<void()>;
  using Duration = Deadline::Clock::duration;

  struct TimerId {
    int fd = -1;
    friend bool operator==(TimerId, TimerId) = default;
  };

  static Result<EventLoop> create();

  EventLoop() = default;
  EventLoop(EventLoop&&) noexcept = default;
  EventLoop& operator=(EventLoop&&) noexcept = default;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop() = default;

  // Calls `callback` whenever `fd` is ready for `events` (level-triggered). The fd stays owned
  // by the caller and must be removed before it is closed. EEXIST if already registered.
  Result<void> add(int fd, FdCallback callback, std::uint32_t events = EPOLLIN);
  // ENOENT if not registered.
  Result<void> remove(int fd);
  [[nodiscard]] bool contains(int fd) const noexcept { return ids_.contains(fd); }

  // Calls `callback` once after `delay`, then every `interval` unless it is zero (a one-shot
  // timer removes itself after it fires). Backed by a timerfd the loop owns.
  Result<TimerId> add_timer(Duration delay, TimerCallback callback, Duration interval = {});
  Result<void> cancel_timer(TimerId id);

  // Dispatches events until stop() is called or nothing is registered any more.
  Result<void> run();
  // Waits for events until `deadline` (never: until some arrive), dispatches them once and
  // returns how many callbacks ran (0 when the deadline passed first).
  Result<std::size_t> run_once(Deadline deadline = Deadline::never());

  void stop() noexcept { stopped_ = true; }
  [[nodiscard]] bool stopped() const noexcept { return stopped_; }
  [[nodiscard]] std::size_t size() const noexcept { return ids_.size(); }

  // Closes the epoll fd and timerfds in a forked child's copy, leaving the parent's intact.
  void close_after_fork() noexcept;

 private:
  struct Source {
    int fd = -1;
    // Shared, so that a callback that removes its own source keeps running.
    std::shared_ptr<FdCallback> callback;
    std::shared_ptr<TimerCallback> timer;  // set for timers instead of `callback`
    bool repeating = false;
  };

  UniqueFd epoll_;
  std::unordered_map<std::uint64_t, Source> sources_;  // by registration id (epoll data)
  std::unordered_map<int, std::uint64_t> ids_;         // fd -> registration id
  std::unordered_map<int, UniqueFd> timers_;           // timerfd -> its owner
  std::uint64_t next_id_ = 1;
  bool stopped_ = false;
};

}  // namespace forkpool::ipc
