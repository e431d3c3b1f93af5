#pragma once
// Channel over byte streams (pipe, unix socketpair, tcp): each message is an 8-byte
// little-endian length followed by the payload.

#include "forkpool/ipc/channel.hpp"
#include "forkpool/ipc/unique_fd.hpp"
#include "length_prefix.hpp"

namespace forkpool::ipc::detail {

// One end over a read fd and a write fd (the same socket for unix/tcp, two pipes for pipe).
// Both fds are non-blocking; waits use poll() so deadlines hold. A receive interrupted by its
// deadline keeps what it read and resumes on the next call. A send interrupted by its deadline
// mid-message leaves the stream unusable, so further sends fail with EPIPE. Messages over
// `max_message_bytes` are refused both ways (see Channel).
class StreamChannel final : public Channel {
 public:
  StreamChannel(UniqueFd read_fd, UniqueFd write_fd, Transport transport,
                std::size_t max_message_bytes = kDefaultMaxMessageBytes);

  Result<void> send(std::span<const std::byte> message, Deadline deadline) override;
  Result<bool> receive(Bytes& out, Deadline deadline) override;
  [[nodiscard]] int wait_fd() const noexcept override { return read_fd_.get(); }
  [[nodiscard]] Transport transport() const noexcept override { return transport_; }

 private:
  // Writes header then body; marks the channel broken if it stops after the first byte.
  Result<void> write_all(std::span<const std::byte> header, std::span<const std::byte> body,
                         Deadline deadline);
  // Reads into buf[*got, size); false on EOF before anything of the message was read.
  Result<bool> read_into(std::byte* buf, std::size_t size, std::size_t& got, Deadline deadline,
                         bool eof_ok);
  [[nodiscard]] bool is_socket() const noexcept { return transport_ != Transport::pipe; }

  UniqueFd read_fd_;
  UniqueFd write_fd_;  // empty for sockets: read_fd_ serves both ways
  Transport transport_;
  bool send_broken_ = false;
  std::size_t max_message_bytes_;

  // Receive state that survives a deadline.
  PartialFrame frame_;
};

Result<ChannelPair> make_pipe_pair(const ChannelOptions& options);
Result<ChannelPair> make_unix_pair(const ChannelOptions& options);
Result<ChannelPair> make_tcp_pair(const ChannelOptions& options);

}  // namespace forkpool::ipc::detail
