#pragma once
// Liveness of the other end for transports without an end of stream (mq, shm).

#include <utility>

#include "forkpool/ipc/deadline.hpp"
#include "forkpool/ipc/sys_error.hpp"
#include "forkpool/ipc/unique_fd.hpp"

namespace forkpool::ipc::detail {

// One end's share of two pipes that carry no data: the end holds the write end of the pipe the
// peer watches and the read end of the pipe whose write end the peer holds. When the peer's
// process exits (a crash included) or destroys its end, the last write end closes and the read
// end reports POLLHUP. Both links of a pair are made in one process before fork; each process
// must destroy the end it does not use, or the peer never sees it go. One thread per end.
class PeerLink {
 public:
  PeerLink() = default;
  static Result<std::pair<PeerLink, PeerLink>> make_pair();

  // Readable (POLLHUP) once the peer is gone; never readable before.
  [[nodiscard]] int hangup_fd() const noexcept { return peer_.get(); }

 private:
  PeerLink(UniqueFd mine, UniqueFd peer) noexcept : mine_(std::move(mine)), peer_(std::move(peer)) {}

  UniqueFd mine_;  // write end, never written: closing it is the message
  UniqueFd peer_;  // read end of the peer's pipe
};

enum class WaitOutcome { ready, peer_gone };

// Waits until `fd` reports `events` or the peer behind `link` is gone, whichever comes first;
// ETIMEDOUT once `deadline` passes (an expired deadline polls once). When both hold, reports
// ready, so callers drain what arrived before they believe the peer is gone.
Result<WaitOutcome> wait_or_peer_gone(int fd, short events, const PeerLink& link,
                                      Deadline deadline);

// An epoll fd (close-on-exec) that is readable when `fd` is readable or the peer is gone:
// the wait_fd() of transports whose data fd alone cannot report the peer's exit.
Result<UniqueFd> make_wait_epoll(int fd, const PeerLink& link);

}  // namespace forkpool::ipc::detail
