#pragma once
// A duplex, message-oriented channel between two processes, and the transports behind it.

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "forkpool/ipc/deadline.hpp"
#include "forkpool/ipc/sys_error.hpp"

namespace forkpool::ipc {

using Bytes = std::vector<std::byte>;

enum class Transport { pipe, unix_socket, tcp, mq, shm };

inline constexpr Transport kAllTransports[] = {Transport::pipe, Transport::unix_socket,
                                               Transport::tcp, Transport::mq, Transport::shm};

// "pipe", "unix", "tcp", "mq", "shm"
std::string_view to_string(Transport t) noexcept;
std::optional<Transport> parse_transport(std::string_view name) noexcept;

// One end of a duplex channel: what one end sends, the other receives, whole and in order.
// Messages may be of any size up to the channel's maximum, 0 bytes included. An end may be
// used by one sending thread and one receiving thread at the same time (send() and receive()
// share no state); two threads must not both send, or both receive, on one end.
//
// Sizes: a message over the channel's maximum (ChannelOptions::max_message_bytes) is refused
// by send() with EMSGSIZE before anything goes out (the channel stays usable). A receive that
// meets a frame or chunk header claiming more than the maximum, or any other header or ring
// index that no well-behaved peer writes, fails with EBADMSG (is_malformed_message()) and
// never allocates what it claims; the receiving side then stays failed.
//
// Peer exit: when the process holding the other end exits (however it exits) or destroys its
// end, receive() returns the messages already sent and then end of stream (false), or an error
// if the peer went away in the middle of a message; it never hangs. send() to a peer that has
// gone fails with EPIPE: at once on pipe/unix/tcp, on mq and shm as soon as the send would have
// to wait for room (those transports have no EOF; each end watches a pipe the peer holds).
class Channel {
 public:
  virtual ~Channel() = default;
  Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Sends one whole message. Blocks while the transport is full, until `deadline`
  // (ETIMEDOUT). A peer that has gone away gives EPIPE (see above). A send that times out or
  // fails after part of the message went out leaves the channel unusable for sending: later
  // sends fail with EPIPE. A message over the maximum: EMSGSIZE, and nothing is sent.
  virtual Result<void> send(std::span<const std::byte> message,
                            Deadline deadline = Deadline::never()) = 0;

  // send(), from a side that has more to do before it waits (a worker with jobs queued): the
  // transport may leave a sleeping peer asleep until this side next sends with send(), or
  // waits (a receive that finds nothing, a send that finds no room), so that the peer wakes
  // once for several messages. shm does so while two or more messages wait here to be received
  // and the message fits a slot; the other transports send at once, as send() (the kernel
  // wakes their reader).
  virtual Result<void> send_while_busy(std::span<const std::byte> message,
                                       Deadline deadline = Deadline::never()) {
    return send(message, deadline);
  }

  // Receives the next whole message into `out` (resized to fit). Returns false on end of
  // stream (the peer closed its end or exited), an error with ETIMEDOUT when `deadline` passes
  // first. Never returns a partial message: a receive cut short by its deadline keeps what it
  // has and the next call goes on from there. An already-expired deadline makes a
  // non-blocking try. What the peer sent that is not a valid message: EBADMSG, for good.
  virtual Result<bool> receive(Bytes& out, Deadline deadline = Deadline::never()) = 0;

  // An fd for epoll/poll (readable = receive() may make progress), owned by the channel.
  // Contract, for every transport: after a receive() that returned ETIMEDOUT (for example a
  // non-blocking try with an expired deadline), and while a receive() is blocked, wait_fd()
  // becomes readable when the next message or the peer's end of stream arrives. So an event
  // loop drains a ready channel with expired deadlines until ETIMEDOUT, then waits on wait_fd()
  // again. Spurious readiness is allowed: receive() then times out.
  [[nodiscard]] virtual int wait_fd() const noexcept = 0;

  [[nodiscard]] virtual Transport transport() const noexcept = 0;
};

// True for a receive() that failed because the peer sent bytes that are not a message (a
// malformed length or chunk header, a length over the channel's maximum, a corrupted shm
// ring): the peer is broken or hostile, so treat it as crashed. Such a channel receives no more.
[[nodiscard]] inline bool is_malformed_message(const SysError& e) noexcept { return e.code == EBADMSG; }

// The default largest message: four times ipc-bench's largest (1 GiB), so that callers' own
// framing and a large operand sent whole (a matrix over a copying transport) fit. A claim that
// large costs a receiver address space only: it grows its buffer as the bytes arrive.
inline constexpr std::size_t kDefaultMaxMessageBytes = std::size_t{4} << 30;

// Tuning of a channel pair; transports ignore what does not concern them.
struct ChannelOptions {
  // The largest message either end sends or accepts, in bytes (see Channel).
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;
  // Bytes of each direction's ring for shm (rounded up to a power of two, at least 64).
  // Messages larger than the ring stream through it in pieces.
  std::size_t shm_ring_bytes = std::size_t{1} << 20;
  // How long an shm end spins on an empty (receive) or full (send) ring before it sleeps on an
  // eventfd. Spinning catches a busy peer without a syscall; zero means block at once (an
  // eventfd wake-up for every message that finds the peer asleep).
  std::chrono::nanoseconds shm_spin = std::chrono::microseconds(20);
};

// Both ends of a fresh channel, created in one process before fork(): the parent keeps one and
// destroys the other, the child does the reverse. Destroying the unused end closes every
// descriptor that tells the peer this process is there (its half of a pipe or socket, its
// liveness pipe), so the peer sees end of stream when the process that kept the end exits.
// (What both ends must share, the shm mapping and its eventfds, stays with the kept end.)
// A process forked later inherits whatever ends exist at that moment and should destroy those
// it does not use, for the same reason. Named objects (mq, shm) are unlinked before this
// returns, so nothing is left in /dev/shm or /dev/mqueue whatever happens next.
// Any thread; errors: ENOMEM/EMFILE and the like from the OS (with a hint that names the limit
// that was reached: SysError::hint), EINVAL for an shm ring over 1 GiB. The shm segment is
// reserved in /dev/shm here (ENOSPC when it does not fit), never found missing later.
struct ChannelPair {
  std::unique_ptr<Channel> first;
  std::unique_ptr<Channel> second;
};

Result<ChannelPair> make_channel_pair(Transport transport, const ChannelOptions& options = {});

}  // namespace forkpool::ipc
