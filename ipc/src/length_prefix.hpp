#pragma once
// The 8-byte little-endian length that starts every message on the byte-stream transports
// (pipe, unix, tcp, shm) and the first chunk of an mq message.

#include <cstddef>
#include <cstdint>

#include "forkpool/ipc/channel.hpp"

namespace forkpool::ipc::detail {

inline constexpr std::size_t kLengthPrefixSize = 8;

inline void encode_length(std::uint64_t n, std::byte* out) noexcept {
  for (std::size_t i = 0; i < kLengthPrefixSize; ++i) out[i] = static_cast<std::byte>(n >> (8 * i));
}

inline std::uint64_t decode_length(const std::byte* in) noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < kLengthPrefixSize; ++i)
    n |= std::to_integer<std::uint64_t>(in[i]) << (8 * i);
  return n;
}

// What a byte-stream receive has read so far of one length-prefixed message, so that a receive
// cut short by its deadline resumes where it stopped. Owned by one channel end.
class PartialFrame {
 public:
  // `read_into(buf, size, got, eof_ok)` fills buf[got, size), advancing `got`, and returns
  // false on end of stream before anything of the message was read (when eof_ok).
  template <class ReadInto>
  Result<bool> receive(Bytes& out, ReadInto&& read_into) {
    if (header_got_ < kLengthPrefixSize) {
      auto r = read_into(header_, kLengthPrefixSize, header_got_, /*eof_ok=*/true);
      if (!r || !*r) return r;
      pending_.resize(decode_length(header_));
      body_got_ = 0;
    }
    auto r = read_into(pending_.data(), pending_.size(), body_got_, /*eof_ok=*/false);
    if (!r) return r;
    header_got_ = 0;
    out.swap(pending_);
    pending_.clear();
    return true;
  }

 private:
  std::byte header_[kLengthPrefixSize]{};
  std::size_t header_got_ = 0;
  std::size_t body_got_ = 0;
  Bytes pending_;
};

}  // namespace forkpool::ipc::detail
