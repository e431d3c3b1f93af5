#pragma once
// The producer half of one shm ring: puts messages into the slots and the byte ring, and
// checks what the consumer wrote (its indices) before it believes it.

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>

#include "forkpool/ipc/channel.hpp"
#include "length_prefix.hpp"
#include "shm_ring.hpp"

namespace forkpool::ipc::detail {

// Send state of one ring end (ShmChannel's producer side), with the waiting left to the
// caller. A message of up to kSlotPayload bytes travels in its slot; a larger one is committed
// as "streamed" and follows as an 8-byte length and the payload through the byte ring, in
// pieces when it is larger than the ring. The consumer's indices are checked where they are
// read: a tail ahead of the head or more than a ring behind it, a message tail ahead of the
// messages sent: EBADMSG, and the sending side is broken from then on (a corrupted consumer
// can make a send fail or wait, never write outside the ring). A send cut short mid-message
// breaks the sending side too (EPIPE afterwards). One sending thread.
class RingWriter {
 public:
  RingWriter() = default;
  // Starts at the ring's current head, with every slot free (a fresh ring).
  RingWriter(RingView ring, std::size_t max_message_bytes) noexcept
      : ring_(ring),
        head_(ring.head_acquire()),
        tail_seen_(ring.tail_acquire()),
        message_head_(ring.message_tail_acquire()),
        message_tail_seen_(message_head_),
        max_(max_message_bytes) {}

  // `wait(has_space)` returns once has_space() holds, or fails (ETIMEDOUT, EPIPE for a peer
  // gone); `wake()` wakes the consumer when the ring says it sleeps. Both return Result<void>.
  template <class Wait, class Wake>
  Result<void> send(std::span<const std::byte> message, Wait&& wait, Wake&& wake) {
    if (broken_) return sys_failure("shm send", "broken channel", EPIPE);
    if (message.size() > max_) return message_too_large("shm send", message.size(), max_);
    if (message_head_ - message_tail_seen_ >= kSlotCount) {
      auto has_slot = [&] {
        message_tail_seen_ = ring_.message_tail_acquire();
        return corrupt_message_tail() || message_head_ - message_tail_seen_ < kSlotCount;
      };
      // Nothing of the message is out yet: a timeout here leaves the channel usable.
      if (auto w = wait(has_slot); !w) return w;
      if (corrupt_message_tail()) return fail_message_tail();
    }
    if (message.size() > kSlotPayload) return send_streamed(message, wait, wake);
    const bool sleeping = ring_.commit_small(message_head_, message.data(), message.size());
    ++message_head_;
    if (sleeping) return wake();
    return {};
  }

 private:
  // The consumer cannot have freed slots the producer never filled, nor hold more than all.
  bool corrupt_message_tail() const noexcept {
    return message_head_ - message_tail_seen_ > kSlotCount;
  }
  std::unexpected<SysError> fail_message_tail() {
    broken_ = true;
    return malformed("shm send", "the consumer's message tail " + std::to_string(message_tail_seen_) +
                                     " is ahead of the " + std::to_string(message_head_) +
                                     " messages sent");
  }
  // The consumer's tail must lie within one ring before the head.
  bool corrupt_tail() const noexcept { return head_ - tail_seen_ > ring_.capacity(); }
  std::unexpected<SysError> fail_tail() {
    broken_ = true;
    return malformed("shm send", "the consumer's tail " + std::to_string(tail_seen_) +
                                     " is not within the ring's " + std::to_string(ring_.capacity()) +
                                     " bytes before the head " + std::to_string(head_));
  }

  template <class Wait, class Wake>
  Result<void> send_streamed(std::span<const std::byte> message, Wait& wait, Wake& wake) {
    std::byte header[kLengthPrefixSize];
    encode_length(message.size(), header);
    const std::span<const std::byte> parts[2] = {header, message};
    std::size_t part = 0, offset = 0;
    std::size_t remaining = kLengthPrefixSize + message.size();
    const std::uint64_t cap = ring_.capacity();
    bool started = false;
    for (;;) {
      if (cap - (head_ - tail_seen_) < remaining) tail_seen_ = ring_.tail_acquire();
      if (corrupt_tail()) return fail_tail();
      std::uint64_t free = cap - (head_ - tail_seen_);
      const std::uint64_t before = head_;
      while (remaining > 0 && free > 0) {
        if (offset == parts[part].size()) {
          ++part;
          offset = 0;
          continue;
        }
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(free, parts[part].size() - offset));
        ring_.copy_in(head_, parts[part].data() + offset, n);
        head_ += n;
        offset += n;
        free -= n;
        remaining -= n;
      }
      if (head_ != before) {
        // The first bytes go out with the slot's commit, so a consumer that takes the slot
        // always finds the length's first byte behind it.
        bool sleeping;
        if (started) {
          sleeping = ring_.publish_head(head_);
        } else {
          sleeping = ring_.commit_streamed(message_head_, head_);
          ++message_head_;
          started = true;
        }
        if (sleeping) {
          if (auto r = wake(); !r) {
            broken_ = remaining > 0;
            return r;
          }
        }
      }
      if (remaining == 0) return {};
      auto has_space = [&] {
        tail_seen_ = ring_.tail_acquire();
        return corrupt_tail() || head_ - tail_seen_ < cap;
      };
      if (auto w = wait(has_space); !w) {
        // Part of the message is in the ring: the stream cannot be resynchronised.
        if (started) broken_ = true;
        return w;
      }
    }
  }

  RingView ring_;
  std::uint64_t head_ = 0;       // bytes written
  std::uint64_t tail_seen_ = 0;  // the consumer's tail as last read
  std::uint64_t message_head_ = 0;       // messages committed
  std::uint64_t message_tail_seen_ = 0;  // slots the consumer freed, as last read
  std::size_t max_ = kDefaultMaxMessageBytes;
  bool broken_ = false;
};

}  // namespace forkpool::ipc::detail
