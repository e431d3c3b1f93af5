#include "forkpool/ipcbench/payload.hpp"

#include <cstring>

namespace forkpool::ipcbench {
namespace {

constexpr std::uint64_t kStride = 0x9E3779B97F4A7C15ull;  // odd: word i's pattern never repeats

// splitmix64's finaliser: neighbouring sequence numbers get unrelated keys.
std::uint64_t mix(std::uint64_t x) noexcept {
  x += kStride;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::uint64_t key_of(std::uint64_t seq, Direction direction) noexcept {
  return mix(seq * 2 + static_cast<std::uint64_t>(direction));
}

// Word i of a message is key ^ (i * kStride): word 0 is the key itself, so the first 8 bytes
// identify the message, and every later word depends on its position as well.
}  // namespace

void fill_payload(std::span<std::byte> out, std::uint64_t seq, Direction direction) noexcept {
  const std::uint64_t key = key_of(seq, direction);
  const std::size_t words = out.size() / 8;
  std::byte* p = out.data();
  std::uint64_t position = 0;
  for (std::size_t i = 0; i < words; ++i, position += kStride) {
    std::uint64_t w = key ^ position;
    std::memcpy(p + 8 * i, &w, 8);
  }
  if (std::size_t tail = out.size() % 8) {
    std::uint64_t w = key ^ position;
    std::memcpy(p + 8 * words, &w, tail);
  }
}

std::optional<std::size_t> check_payload(std::span<const std::byte> in, std::uint64_t seq,
                                         Direction direction) noexcept {
  const std::uint64_t key = key_of(seq, direction);
  const std::size_t words = in.size() / 8;
  const std::byte* p = in.data();
  // Branch-free over the whole message (it vectorises); the slow search runs only on failure.
  std::uint64_t diff = 0;
  std::uint64_t position = 0;
  for (std::size_t i = 0; i < words; ++i, position += kStride) {
    std::uint64_t w;
    std::memcpy(&w, p + 8 * i, 8);
    diff |= w ^ key ^ position;
  }
  if (std::size_t tail = in.size() % 8) {
    std::uint64_t expected = key ^ position, w = expected;
    std::memcpy(&w, p + 8 * words, tail);
    diff |= w ^ expected;
  }
  if (diff == 0) return std::nullopt;
  std::byte expected[8];
  position = 0;
  for (std::size_t i = 0; i * 8 < in.size(); ++i, position += kStride) {
    std::uint64_t w = key ^ position;
    std::memcpy(expected, &w, 8);
    for (std::size_t b = 0; b < 8 && i * 8 + b < in.size(); ++b)
      if (p[i * 8 + b] != expected[b]) return i * 8 + b;
  }
  return std::nullopt;  // unreachable: diff != 0 means some byte differs
}

}  // namespace forkpool::ipcbench
