#pragma once
// Reassembly of one mq channel message from its queue messages ("chunks").

#include <cstddef>
#include <cstdint>

#include "forkpool/ipc/channel.hpp"
#include "length_prefix.hpp"

namespace forkpool::ipc::detail {

// A message is one or more chunks of at most the queue's message size: the first starts with
// the total length (8 bytes, little endian) and the payload follows, across as many chunks as
// it needs. This checks every chunk against what the first announced (a first chunk without a
// whole length, a length over the channel's maximum, a chunk past the end: EBADMSG, and every
// later call fails the same way) and grows the message with the chunks, not with the claim.
// Pure: the caller receives the chunks (into next_buffer()), which is how the fuzz harness
// drives it. Owned by one channel end; one receiving thread.
class ChunkAssembler {
 public:
  // `chunk_size`: the queue's mq_msgsize (> kLengthPrefixSize).
  ChunkAssembler(std::size_t chunk_size, std::size_t max_message_bytes) noexcept
      : chunk_size_(chunk_size), max_(max_message_bytes) {}

  // Where the next chunk (up to chunk_size bytes) should be received: straight into the
  // message while at least a whole chunk of it is left, else into `scratch` (chunk_size bytes).
  std::byte* next_buffer(std::byte* scratch);
  // Takes the chunk of `n` bytes (n <= chunk_size) just received into next_buffer(scratch):
  // true when the message is complete (then take() it).
  Result<bool> accept(const std::byte* scratch, std::size_t n);
  // Moves the completed message into `out` and gets ready for the next one.
  void take(Bytes& out);

  [[nodiscard]] bool in_message() const noexcept { return in_message_; }
  // EBADMSG once a bad chunk has been seen: the stream of chunks cannot be resynchronised.
  [[nodiscard]] Result<void> usable() const;

 private:
  std::unexpected<SysError> fail(std::unexpected<SysError> e) noexcept {
    broken_ = true;
    return e;
  }

  std::size_t chunk_size_;
  std::size_t max_;
  bool in_message_ = false;
  bool broken_ = false;
  bool direct_ = false;  // the last next_buffer() pointed into the message
  std::uint64_t length_ = 0;
  std::size_t got_ = 0;
  Bytes pending_;
};

}  // namespace forkpool::ipc::detail
