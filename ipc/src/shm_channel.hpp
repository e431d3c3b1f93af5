#pragma once
// Channel over two single-producer/single-consumer rings in one shared-memory segment.

#include <chrono>
#include <memory>

#include "forkpool/ipc/channel.hpp"
#include "forkpool/ipc/shared_memory.hpp"
#include "forkpool/ipc/unique_fd.hpp"
#include "length_prefix.hpp"
#include "peer_link.hpp"
#include "ring_reader.hpp"
#include "ring_writer.hpp"
#include "shm_ring.hpp"

namespace forkpool::ipc::detail {

// What both ends of a pair share: the mapping (two rings) and, per ring, an eventfd the
// producer writes to wake a sleeping consumer and one the consumer writes to wake a sleeping
// producer. Created before fork; every process that holds an end holds all of it.
struct ShmSegment {
  SharedMemory memory;
  UniqueFd data_ready[2];
  UniqueFd space_ready[2];
};

// One end: producer on one ring (RingWriter), consumer on the other (RingReader). Every
// message takes the ring's next slot: one of at most kSlotPayload bytes travels in the slot
// itself (the receiver spins on that slot's commit word and finds the payload on the same
// lines), a larger one is committed as "streamed" and follows as an 8-byte length and the
// payload through the byte ring. A side that finds no message (receive) or no free slot or
// byte (send) spins for `spin` (checking its deadline), then arms its "sleeping" flag,
// re-checks, and blocks in poll() on its eventfd and the PeerLink; the other side writes the
// eventfd only when it finds the flag armed. So a busy channel makes no syscalls and an idle
// one burns no CPU. A receive that times out leaves the flag armed, which is what makes
// wait_fd() (an epoll fd over that eventfd and the PeerLink) wake for the next message.
// Receive state survives a deadline; a send cut short mid-message breaks the sending side
// (EPIPE afterwards). What the peer wrote into the shared memory is checked before use (see
// RingReader, RingWriter). One sending and one receiving thread per end, as for every Channel.
class ShmChannel final : public Channel {
 public:
  static Result<std::unique_ptr<ShmChannel>> create(std::shared_ptr<ShmSegment> segment,
                                                    int send_ring, PeerLink link,
                                                    std::chrono::nanoseconds spin,
                                                    std::size_t max_message_bytes = kDefaultMaxMessageBytes);

  Result<void> send(std::span<const std::byte> message, Deadline deadline) override;
  Result<void> send_while_busy(std::span<const std::byte> message, Deadline deadline) override;
  Result<bool> receive(Bytes& out, Deadline deadline) override;
  [[nodiscard]] int wait_fd() const noexcept override { return wait_epoll_.get(); }
  [[nodiscard]] Transport transport() const noexcept override { return Transport::shm; }

 private:
  ShmChannel() = default;
  // Spins until `ready()` or the spin time (or deadline) is over; returns the last ready().
  template <class Ready>
  bool spin_until(Ready ready, Deadline deadline) const;
  // Until `has_space()` (a free slot or free bytes), sleeping after the spin.
  template <class HasSpace>
  Result<void> wait_for_space(HasSpace has_space, Deadline deadline);
  // Until `has_data()` (a committed slot or more bytes): true when it came, false when it did
  // not and the peer is gone.
  template <class HasData>
  Result<bool> wait_for_data(HasData has_data, Deadline deadline);

  std::shared_ptr<ShmSegment> segment_;
  RingView tx_;
  RingView rx_;
  int tx_data_ready_ = -1;  // borrowed from segment_
  int tx_space_ready_ = -1;
  int rx_data_ready_ = -1;
  int rx_space_ready_ = -1;
  PeerLink link_;
  UniqueFd wait_epoll_;
  std::chrono::nanoseconds spin_{};

  // A wake-up of the consumer of tx_ that send_while_busy() took the flag for and did not
  // write: written by the next send() or before this end waits (pay_owed_wake()).
  Result<void> pay_owed_wake();

  RingWriter writer_;
  RingReader reader_;
  bool wake_owed_ = false;
};

Result<ChannelPair> make_shm_pair(const ChannelOptions& options);

}  // namespace forkpool::ipc::detail
