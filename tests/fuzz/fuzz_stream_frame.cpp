// Fuzzes the length-prefixed frame decoder of the byte-stream transports (PartialFrame: pipe,
// unix, tcp, and the shm ring's streamed messages) with the bytes a peer could send, arriving
// in pieces and cut short by deadlines, as StreamChannel::read_into delivers them.
//
// Input: byte 0 picks the channel's maximum (2^(b % 21) bytes), byte 1 the piece size pattern
// and the first receive window;
// the rest is the stream. Every message decoded must be exactly what the stream says (its
// length within the maximum, its bytes those that followed the length); every error must be
// a malformed message (EBADMSG) or the stream's end mid-message (ECONNRESET).

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "length_prefix.hpp"

using namespace forkpool::ipc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t max = std::size_t{1} << (data[0] % 21);
  const unsigned pattern = data[1];
  const auto* stream = reinterpret_cast<const std::byte*>(data + 2);
  const std::size_t length = size - 2;

  // A small first window, so that short inputs reach the buffer's growth.
  detail::PartialFrame frame(max, 1 + pattern % 64);
  std::size_t offset = 0;     // bytes of the stream handed out so far
  std::size_t message_start = 0;  // where the current message's length began
  unsigned piece = 0;
  // Serves the stream like a non-blocking fd: in pieces of 1..16 bytes, with a "deadline"
  // (ETIMEDOUT) between pieces now and then, and end of stream when it is used up.
  auto read_into = [&](std::byte* buf, std::size_t want, std::size_t& got, bool eof_ok) -> Result<bool> {
    while (got < want) {
      if (offset == length) {
        if (eof_ok && got == 0) return false;
        return sys_failure("read", "fuzz", ECONNRESET);
      }
      ++piece;
      if ((pattern >> (piece % 8)) & 1 && piece % 3 == 0) return sys_failure("poll", "fuzz", ETIMEDOUT);
      std::size_t n = 1 + (pattern + piece * 7) % 16;
      n = std::min({n, want - got, length - offset});
      std::memcpy(buf + got, stream + offset, n);
      got += n;
      offset += n;
    }
    return true;
  };

  Bytes out;
  for (int calls = 0; calls < 10000; ++calls) {
    auto r = frame.receive(out, read_into);
    if (!r) {
      const int code = r.error().code;
      if (code == ETIMEDOUT) continue;
      if (code != EBADMSG && code != ECONNRESET) std::abort();
      // A malformed frame stays an error.
      if (code == EBADMSG && frame.receive(out, read_into).has_value()) std::abort();
      return 0;
    }
    if (!*r) return 0;  // clean end between messages
    // The message is the length's claim and the bytes that followed it.
    if (message_start + detail::kLengthPrefixSize + out.size() != offset) std::abort();
    if (out.size() > max) std::abort();
    if (detail::decode_length(stream + message_start) != out.size()) std::abort();
    if (!out.empty() &&
        std::memcmp(out.data(), stream + message_start + detail::kLengthPrefixSize, out.size()) != 0)
      std::abort();
    message_start = offset;
  }
  return 0;
}
