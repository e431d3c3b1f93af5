#pragma once
// The content of every benchmark message: a pattern derived from the message's sequence number
// and direction, so that the receiver can check every byte without a copy of what was sent.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace forkpool::ipcbench {

// Which way a message travels: the two ends of a round trip write different patterns, so a
// message echoed back unchanged (or delivered to the wrong side) fails the check.
enum class Direction : std::uint8_t { request = 0, reply = 1 };

// Writes every byte of `out` with the pattern of message `seq` in `direction`. The 8-byte
// words carry the sequence number mixed with their position, so reordered, duplicated, shifted
// or stale data is caught, not only flipped bits. Pure function, any thread.
void fill_payload(std::span<std::byte> out, std::uint64_t seq, Direction direction) noexcept;

// Reads every byte of `in` and compares it with the pattern fill_payload() writes. Returns the
// offset of the first wrong byte, or nullopt when all are right. Pure function, any thread.
std::optional<std::size_t> check_payload(std::span<const std::byte> in, std::uint64_t seq,
                                         Direction direction) noexcept;

}  // namespace forkpool::ipcbench
