#pragma once
// The 8-byte little-endian length that starts every message on the byte-stream transports
// (pipe, unix, tcp, shm) and the first chunk of an mq message, and the checks every receiver
// makes on it before it believes it.

#include <cstddef>
#include <cstdint>
#include <string>

#include "forkpool/ipc/channel.hpp"

namespace forkpool::ipc::detail {

inline constexpr std::size_t kLengthPrefixSize = 8;
// A receiver grows its buffer with the bytes that arrive, not with the length the peer claims:
// first this much, then twice what it holds, so a lying length costs no memory.
inline constexpr std::size_t kFirstReceiveWindow = std::size_t{1} << 20;

inline void encode_length(std::uint64_t n, std::byte* out) noexcept {
  for (std::size_t i = 0; i < kLengthPrefixSize; ++i) out[i] = static_cast<std::byte>(n >> (8 * i));
}

inline std::uint64_t decode_length(const std::byte* in) noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < kLengthPrefixSize; ++i)
    n |= std::to_integer<std::uint64_t>(in[i]) << (8 * i);
  return n;
}

// EMSGSIZE for a send of `size` bytes over `max`.
std::unexpected<SysError> message_too_large(std::string_view call, std::size_t size, std::size_t max);
// EBADMSG (is_malformed_message) for what a peer sent: `what` says what is wrong.
std::unexpected<SysError> malformed(std::string_view call, std::string what);
// EBADMSG for a claimed length over `max`.
std::unexpected<SysError> length_over_max(std::string_view call, std::uint64_t length, std::size_t max);

// Reserves room for `length` bytes in `buf` (address space only: nothing is touched), or
// ENOMEM, never an exception.
Result<void> reserve_for(Bytes& buf, std::uint64_t length, std::string_view call);
// Where `buf` (reserved for `length`) should end before the next read when `got` bytes of it
// are in: the receive window.
inline std::size_t receive_window(std::size_t got, std::uint64_t length,
                                  std::size_t first = kFirstReceiveWindow) noexcept {
  const std::uint64_t want = got < first ? first : std::uint64_t{got} * 2;
  return static_cast<std::size_t>(want < length ? want : length);
}

// What a byte-stream receive has read so far of one length-prefixed message, so that a receive
// cut short by its deadline resumes where it stopped. Checks the length against the channel's
// maximum and grows the message buffer with the bytes that arrive. After a malformed length it
// fails every later call the same way (the stream cannot be resynchronised). Owned by one
// channel end; one receiving thread. Pure: all its input comes through `read_into`, which is
// how the fuzz harness drives it.
class PartialFrame {
 public:
  // `first_window`: see kFirstReceiveWindow (smaller in the fuzz harness, to reach the growth).
  explicit PartialFrame(std::size_t max_message_bytes = kDefaultMaxMessageBytes,
                        std::size_t first_window = kFirstReceiveWindow) noexcept
      : max_(max_message_bytes), first_window_(first_window > 0 ? first_window : 1) {}

  // `read_into(buf, size, got, eof_ok)` fills buf[got, size), advancing `got` (also when it
  // fails part way), and returns false on end of stream before anything of the message was
  // read (when eof_ok).
  template <class ReadInto>
  Result<bool> receive(Bytes& out, ReadInto&& read_into) {
    if (broken_) return malformed("receive", "the stream is desynchronised by an earlier bad frame");
    if (!in_body_) {
      auto r = read_into(header_, kLengthPrefixSize, header_got_, /*eof_ok=*/true);
      if (!r || !*r) return r;
      length_ = decode_length(header_);
      if (length_ > max_) {
        broken_ = true;
        return length_over_max("receive", length_, max_);
      }
      pending_.clear();
      if (auto ok = reserve_for(pending_, length_, "receive"); !ok) {
        broken_ = true;
        return std::unexpected(ok.error());
      }
      in_body_ = true;
      body_got_ = 0;
    }
    while (body_got_ < length_) {
      pending_.resize(receive_window(body_got_, length_, first_window_));  // within the reservation
      auto r = read_into(pending_.data(), pending_.size(), body_got_, /*eof_ok=*/false);
      if (!r) return r;
    }
    in_body_ = false;
    header_got_ = 0;
    out.swap(pending_);
    pending_.clear();
    return true;
  }

  [[nodiscard]] std::size_t max_message_bytes() const noexcept { return max_; }

 private:
  std::size_t max_;
  std::size_t first_window_;
  std::byte header_[kLengthPrefixSize]{};
  std::size_t header_got_ = 0;
  bool in_body_ = false;
  bool broken_ = false;
  std::uint64_t length_ = 0;
  std::size_t body_got_ = 0;
  Bytes pending_;
};

}  // namespace forkpool::ipc::detail
