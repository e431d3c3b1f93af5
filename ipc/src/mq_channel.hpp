#pragma once
// Channel over two POSIX message queues, one per direction, chunking large messages.

#include "forkpool/ipc/channel.hpp"
#include "forkpool/ipc/message_queue.hpp"
#include "forkpool/ipc/unique_fd.hpp"
#include "mq_chunks.hpp"
#include "peer_link.hpp"

namespace forkpool::ipc::detail {

// One end: sends on one queue, receives on the other. A message is one or more queue messages
// of at most mq_msgsize bytes (ChunkAssembler), so nothing is ever truncated. Queues are
// non-blocking; waits poll the queue together with the PeerLink, so deadlines hold and a peer
// that exits is seen. Receive state survives a deadline; a send cut short mid-message breaks
// the sending side (EPIPE afterwards). wait_fd() is an epoll fd over the receive queue and the
// PeerLink. One sending and one receiving thread per end, as for every Channel.
class MqChannel final : public Channel {
 public:
  // Takes the sender of one queue and the receiver of the other, with their message sizes.
  static Result<std::unique_ptr<MqChannel>> create(MessageQueue send_q, long send_size,
                                                   MessageQueue recv_q, long recv_size,
                                                   PeerLink link,
                                                   std::size_t max_message_bytes = kDefaultMaxMessageBytes);

  Result<void> send(std::span<const std::byte> message, Deadline deadline) override;
  Result<bool> receive(Bytes& out, Deadline deadline) override;
  [[nodiscard]] int wait_fd() const noexcept override { return wait_epoll_.get(); }
  [[nodiscard]] Transport transport() const noexcept override { return Transport::mq; }

 private:
  MqChannel(std::size_t recv_size, std::size_t max_message_bytes) noexcept
      : assembler_(recv_size, max_message_bytes) {}
  Result<void> send_chunk(const std::byte* data, std::size_t size, Deadline deadline);
  // Size of the queue message received into `buf` (room for recv_size_ bytes), or nothing
  // when the queue is empty and the peer is gone.
  Result<std::optional<std::size_t>> receive_chunk(std::byte* buf, Deadline deadline);

  MessageQueue send_q_;
  MessageQueue recv_q_;
  std::size_t send_size_ = 0;  // mq_msgsize of each queue
  std::size_t recv_size_ = 0;
  PeerLink link_;
  UniqueFd wait_epoll_;
  // One queue message each: the first chunk sent, the first chunk and short tails received.
  // Separate, so that one thread may send while another receives.
  Bytes send_scratch_;
  Bytes recv_scratch_;
  bool send_broken_ = false;
  std::size_t max_message_bytes_ = 0;

  // Receive state that survives a deadline.
  ChunkAssembler assembler_;
};

Result<ChannelPair> make_mq_pair(const ChannelOptions& options);

}  // namespace forkpool::ipc::detail
