#pragma once
// The 8-byte little-endian length that starts every message on the byte-stream transports
// (pipe, unix, tcp, shm) and the first chunk of an mq message.

#include <cstddef>
#include <cstdint>

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

}  // namespace forkpool::ipc::detail
