#pragma once
// The consumer half of one shm ring: takes messages out of the slots and the byte ring, and
// believes nothing the producer wrote until it has checked it.

#include <algorithm>
#include <cstdint>

#include "forkpool/ipc/channel.hpp"
#include "length_prefix.hpp"
#include "shm_ring.hpp"

namespace forkpool::ipc::detail {

// Receive state of one ring end (ShmChannel's consumer side), with the waiting left to the
// caller, so that the same code runs over a live ring and over the fuzz harness's bytes. Every
// value read from shared memory is checked before use: a commit word whose length is neither a
// slot payload size nor "streamed", a length over the channel's maximum, a head more than a
// ring ahead of the tail (or behind it): EBADMSG (is_malformed_message), and every later
// receive fails the same way. A crashed or hostile producer can make a receive fail or wait,
// never read outside the ring. Receive state survives a deadline. One receiving thread.
class RingReader {
 public:
  RingReader() = default;
  // Starts at the ring's current tail and message tail.
  RingReader(RingView ring, std::size_t max_message_bytes) noexcept
      : ring_(ring),
        tail_(ring.tail_acquire()),
        head_seen_(tail_),
        message_tail_(ring.message_tail_acquire()),
        frame_(max_message_bytes) {}

  // Receives the next message into `out`. `wait(has_data)` returns once has_data() holds
  // (true), or the peer is gone and has_data() still does not hold (false), or an error such
  // as ETIMEDOUT; it may call has_data() any number of times. `wake()` wakes the producer
  // (called when the ring says it sleeps) and returns Result<void>.
  template <class Wait, class Wake>
  Result<bool> receive(Bytes& out, Wait&& wait, Wake&& wake) {
    if (broken_) return malformed("shm receive", "the ring was corrupted earlier");
    if (!streaming_) {
      std::uint32_t length = 0;
      auto committed = [&] { return ring_.committed(message_tail_, length); };
      if (!committed()) {
        auto w = wait(committed);
        if (!w || !*w) return w;  // an error, or the peer gone with nothing more sent
      }
      const bool streamed = length == kStreamedMessage;
      if (!streamed && length > kSlotPayload)
        return fail("slot length " + std::to_string(length) + " over the slot's " +
                    std::to_string(kSlotPayload) + " bytes");
      if (!streamed && length > frame_.max_message_bytes()) {
        broken_ = true;
        return length_over_max("shm receive", length, frame_.max_message_bytes());
      }
      const std::uint64_t message = message_tail_++;
      if (!streamed) {
        out.resize(length);
        ring_.copy_small_out(message, out.data(), length);
      }
      streaming_ = streamed;
      if (ring_.publish_message_tail(message_tail_)) {
        if (auto r = wake(); !r) return std::unexpected(r.error());
      }
      if (!streamed) return true;
    }
    auto r = frame_.receive(out, [&](std::byte* buf, std::size_t size, std::size_t& got, bool) {
      // The slot promised this message: the peer going before its end is no clean end.
      return read_into(buf, size, got, wait, wake);
    });
    if (r) streaming_ = false;
    if (!r && is_malformed_message(r.error())) broken_ = true;
    return r;
  }

 private:
  std::unexpected<SysError> fail(std::string what) {
    broken_ = true;
    return malformed("shm receive", std::move(what));
  }

  // Bytes between the tail and the head last seen, or EBADMSG when the head is not within one
  // ring ahead of the tail.
  Result<std::uint64_t> available() {
    const std::uint64_t avail = head_seen_ - tail_;
    if (avail > ring_.capacity())
      return fail("head " + std::to_string(head_seen_) + " is not within the ring's " +
                  std::to_string(ring_.capacity()) + " bytes after the tail " + std::to_string(tail_));
    return avail;
  }

  template <class Wait, class Wake>
  Result<bool> read_into(std::byte* buf, std::size_t size, std::size_t& got, Wait& wait, Wake& wake) {
    while (got < size) {
      auto avail = available();
      if (!avail) return std::unexpected(avail.error());
      if (*avail == 0) {
        head_seen_ = ring_.head_acquire();
        avail = available();
        if (!avail) return std::unexpected(avail.error());
      }
      if (*avail == 0) {
        auto has_data = [&] {
          head_seen_ = ring_.head_acquire();
          return head_seen_ != tail_;
        };
        auto w = wait(has_data);
        if (!w) return std::unexpected(w.error());
        if (!*w) return sys_failure("shm receive", "peer gone mid-message", ECONNRESET);
        continue;
      }
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(*avail, size - got));
      ring_.copy_out(tail_, buf + got, n);
      tail_ += n;
      got += n;
      if (ring_.publish_tail(tail_)) {
        if (auto r = wake(); !r) return std::unexpected(r.error());
      }
    }
    return true;
  }

 public:
  // Whether at least `n` whole messages are committed and not yet received (looks, takes
  // nothing). False inside a streamed message.
  [[nodiscard]] bool has_messages(std::uint32_t n) const noexcept {
    if (broken_ || streaming_) return false;
    std::uint32_t length = 0;
    for (std::uint32_t i = 0; i < n; ++i)
      if (!ring_.committed(message_tail_ + i, length)) return false;
    return true;
  }

 private:
  RingView ring_;
  std::uint64_t tail_ = 0;       // bytes taken
  std::uint64_t head_seen_ = 0;  // the producer's head as last read
  std::uint64_t message_tail_ = 0;
  // Inside a streamed message (its slot taken) or not; survives a deadline like frame_.
  bool streaming_ = false;
  bool broken_ = false;
  PartialFrame frame_;
};

}  // namespace forkpool::ipc::detail
