#pragma once
// A duplex, message-oriented channel between two processes, and the transports behind it.

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
// Messages may be of any size, 0 bytes included. One thread per end at a time: an end is
// single-producer for send() and single-consumer for receive().
class Channel {
 public:
  virtual ~Channel() = default;
  Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Sends one whole message. Blocks while the transport is full, until `deadline`
  // (ETIMEDOUT). A peer that has gone away gives EPIPE.
  virtual Result<void> send(std::span<const std::byte> message,
                            Deadline deadline = Deadline::never()) = 0;

  // Receives the next whole message into `out` (resized to fit). Returns false on end of
  // stream (the peer closed its end or exited), an error with ETIMEDOUT when `deadline` passes
  // first. Never returns a partial message.
  virtual Result<bool> receive(Bytes& out, Deadline deadline = Deadline::never()) = 0;

  // An fd that epoll reports readable when receive() may make progress (a message, or the
  // peer's end of stream). Spurious readiness is allowed; receive() then waits or times out.
  [[nodiscard]] virtual int wait_fd() const noexcept = 0;

  [[nodiscard]] virtual Transport transport() const noexcept = 0;
};

// Both ends of a fresh channel, created in one process before fork(): the parent keeps one and
// destroys the other, the child does the reverse. Named objects (mq, shm) are unlinked before
// this returns, so nothing is left in /dev/shm or /dev/mqueue whatever happens next.
struct ChannelPair {
  std::unique_ptr<Channel> first;
  std::unique_ptr<Channel> second;
};

Result<ChannelPair> make_channel_pair(Transport transport);

}  // namespace forkpool::ipc
