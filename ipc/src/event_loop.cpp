#include "forkpool/ipc/event_loop.hpp"

#include <sys/timerfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "forkpool/ipc/sys_call.hpp"

namespace forkpool::ipc {
namespace {

std::string fd_subject(int fd) { return "fd " + std::to_string(fd); }

timespec to_timespec(EventLoop::Duration d) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  if (ns < 0) ns = 0;
  return {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

}  // namespace

Result<EventLoop> EventLoop::create() {
  auto fd = sys_call("epoll_create1", {}, [] { return ::epoll_create1(EPOLL_CLOEXEC); });
  if (!fd) return std::unexpected(fd.error());
  EventLoop loop;
  loop.epoll_.reset(*fd);
  return loop;
}

Result<void> EventLoop::add(int fd, FdCallback callback, std::uint32_t events) {
  if (ids_.contains(fd)) return sys_failure("EventLoop::add", fd_subject(fd), EEXIST);
  std::uint64_t id = next_id_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  auto r = sys_call("epoll_ctl", fd_subject(fd),
                    [&] { return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev); });
  if (!r) return std::unexpected(r.error());
  sources_.emplace(id, Source{fd, std::make_shared<FdCallback>(std::move(callback)), nullptr, false});
  ids_.emplace(fd, id);
  return {};
}

Result<void> EventLoop::remove(int fd) {
  auto it = ids_.find(fd);
  if (it == ids_.end()) return sys_failure("EventLoop::remove", fd_subject(fd), ENOENT);
  sources_.erase(it->second);
  ids_.erase(it);
  auto r = sys_call("epoll_ctl", fd_subject(fd),
                    [&] { return ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); });
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<EventLoop::TimerId> EventLoop::add_timer(Duration delay, TimerCallback callback,
                                                Duration interval) {
  auto made = sys_call("timerfd_create", {}, [] {
    return ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  });
  if (!made) return std::unexpected(made.error());
  UniqueFd timer(*made);
  itimerspec spec{to_timespec(interval), to_timespec(delay)};
  // A zero it_value would disarm the timer: a timer due now fires after 1 ns.
  if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
  auto armed = sys_call("timerfd_settime", fd_subject(timer.get()),
                        [&] { return ::timerfd_settime(timer.get(), 0, &spec, nullptr); });
  if (!armed) return std::unexpected(armed.error());

  int fd = timer.get();
  auto added = add(fd, {});
  if (!added) return std::unexpected(added.error());
  Source& source = sources_.at(ids_.at(fd));
  source.timer = std::make_shared<TimerCallback>(std::move(callback));
  source.repeating = interval > Duration::zero();
  timers_.emplace(fd, std::move(timer));
  return TimerId{fd};
}

Result<void> EventLoop::cancel_timer(TimerId id) {
  auto it = timers_.find(id.fd);
  if (it == timers_.end()) return sys_failure("EventLoop::cancel_timer", fd_subject(id.fd), ENOENT);
  auto r = remove(id.fd);
  timers_.erase(it);
  return r;
}

Result<void> EventLoop::run() {
  stopped_ = false;
  while (!stopped_ && !sources_.empty()) {
    auto r = run_once();
    if (!r) return std::unexpected(r.error());
  }
  return {};
}

Result<std::size_t> EventLoop::run_once(Deadline deadline) {
  std::array<epoll_event, 64> events;
  auto n = sys_call("epoll_wait", {}, [&] {
    return ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()),
                        deadline.poll_timeout_ms());
  });
  if (!n) return std::unexpected(n.error());
  std::size_t ran = 0;
  for (int i = 0; i < *n; ++i) {
    auto it = sources_.find(events[i].data.u64);
    if (it == sources_.end()) continue;  // removed by an earlier callback of this round
    if (it->second.timer) {
      int fd = it->second.fd;
      std::uint64_t expirations = 0;
      if (::read(fd, &expirations, sizeof expirations) != sizeof expirations) continue;  // spurious
      std::shared_ptr<TimerCallback> callback = it->second.timer;
      if (!it->second.repeating) (void)cancel_timer(TimerId{fd});
      (*callback)();
    } else {
      std::shared_ptr<FdCallback> callback = it->second.callback;
      (*callback)(events[i].events);
    }
    ++ran;
  }
  return ran;
}

void EventLoop::close_after_fork() noexcept {
  for (auto& [fd, timer] : timers_) timer.reset();
  timers_.clear();
  sources_.clear();
  ids_.clear();
  epoll_.reset();
}

}  // namespace forkpool::ipc
