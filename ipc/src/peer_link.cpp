#include "peer_link.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <string>

#include "forkpool/ipc/sys_call.hpp"

namespace forkpool::ipc::detail {

Result<std::pair<PeerLink, PeerLink>> PeerLink::make_pair() {
  int a[2], b[2];
  if (auto r = sys_call("pipe2", "liveness", [&] { return ::pipe2(a, O_CLOEXEC); }); !r)
    return std::unexpected(r.error());
  UniqueFd a_read(a[0]), a_write(a[1]);
  if (auto r = sys_call("pipe2", "liveness", [&] { return ::pipe2(b, O_CLOEXEC); }); !r)
    return std::unexpected(r.error());
  UniqueFd b_read(b[0]), b_write(b[1]);
  // First end signals through pipe a and watches pipe b; second end the reverse.
  return std::pair{PeerLink(std::move(a_write), std::move(b_read)),
                   PeerLink(std::move(b_write), std::move(a_read))};
}

Result<WaitOutcome> wait_or_peer_gone(int fd, short events, const PeerLink& link,
                                      Deadline deadline) {
  pollfd fds[2] = {{fd, events, 0}, {link.hangup_fd(), POLLIN, 0}};
  for (;;) {
    int timeout = deadline.poll_timeout_ms();
    auto r = sys_call("poll", [fd] { return "fd " + std::to_string(fd); },
                      [&] { return ::poll(fds, 2, timeout); });
    if (!r) return std::unexpected(r.error());
    if (fds[0].revents != 0) return WaitOutcome::ready;
    if (fds[1].revents != 0) return WaitOutcome::peer_gone;
    if (deadline.expired() || timeout == 0)
      return sys_failure("poll", "fd " + std::to_string(fd), ETIMEDOUT);
  }
}

Result<UniqueFd> make_wait_epoll(int fd, const PeerLink& link) {
  auto ep = sys_call("epoll_create1", "wait fd", [] { return ::epoll_create1(EPOLL_CLOEXEC); });
  if (!ep) return std::unexpected(ep.error());
  UniqueFd owned(*ep);
  for (int watched : {fd, link.hangup_fd()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = watched;
    if (auto r = sys_call("epoll_ctl(ADD)", "fd " + std::to_string(watched),
                          [&] { return ::epoll_ctl(owned.get(), EPOLL_CTL_ADD, watched, &ev); });
        !r)
      return std::unexpected(r.error());
  }
  return owned;
}

}  // namespace forkpool::ipc::detail
