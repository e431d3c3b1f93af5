// Fuzzes the job wire format's checks (lib/src/exec/wire.hpp): a worker's reply as the
// coordinator reads it, and a request as a worker reads it. Whatever the bytes, a check either
// refuses them or returns a frame that is what it claims: a known kind for that direction, the
// job the coordinator expects, a zero reserved word, and a payload that re-encodes to the input.
//
// Input: byte 0 picks the check (bit 0: reply or request; bit 1: a reply expected / the first
// request), bytes 1-8 the expected job index (little-endian), the rest is the message.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "wire.hpp"

namespace wire = forkpool::detail::wire;
using forkpool::Bytes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 9) return 0;
  const std::uint8_t mode = data[0];
  std::uint64_t index = 0;
  for (int i = 0; i < 8; ++i) index |= std::uint64_t{data[1 + i]} << (8 * i);
  const auto* message_begin = reinterpret_cast<const std::byte*>(data + 9);
  const Bytes original(message_begin, message_begin + (size - 9));

  Bytes message = original;
  wire::Checked checked;
  if (mode & 1) {
    std::optional<std::uint64_t> expected;
    if (mode & 2) expected = index;
    checked = wire::check_reply(message, expected);
    if (checked) {
      const wire::Kind kind = checked->kind;
      if (kind != wire::Kind::done && kind != wire::Kind::failed && kind != wire::Kind::init_failed)
        std::abort();
      if (kind != wire::Kind::init_failed && (!expected || checked->index != *expected)) std::abort();
    }
  } else {
    const bool first = (mode & 2) != 0;
    checked = wire::check_request(message, first);
    if (checked && checked->kind != (first ? wire::Kind::shared_input : wire::Kind::job)) std::abort();
  }
  if (!checked) {
    if (checked.error().empty()) std::abort();  // a refusal always says why
    return 0;
  }
  if (checked->reserved != 0) std::abort();
  if (message.size() + sizeof(wire::Frame) != original.size()) std::abort();
  wire::append_frame(message, *checked);
  if (message != original) std::abort();
  return 0;
}
