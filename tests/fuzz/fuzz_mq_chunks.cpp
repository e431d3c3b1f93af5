// Fuzzes the reassembly of mq channel messages from queue messages (ChunkAssembler) with the
// chunks a peer could put in the queue.
//
// Input: bytes 0-1 the queue's message size (9 + value % 1024), byte 2 the channel's maximum
// (2^(b % 21) bytes); then chunks, each a length byte L (the chunk has L % (size + 1) bytes)
// followed by its bytes. Every message completed must be what the chunks said (the first
// chunk's length within the maximum, the payload the bytes after it); every error must be a
// malformed message (EBADMSG) and stay one.

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "mq_chunks.hpp"

using namespace forkpool::ipc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::size_t chunk_size = 9 + (std::size_t{data[0]} | std::size_t{data[1]} << 8) % 1024;
  const std::size_t max = std::size_t{1} << (data[2] % 21);
  detail::ChunkAssembler assembler(chunk_size, max);
  Bytes scratch(chunk_size);
  Bytes expected;  // the payload bytes of the message in progress
  std::uint64_t announced = 0;
  Bytes out;

  std::size_t at = 3;
  while (at < size) {
    const std::size_t n = std::min<std::size_t>(data[at] % (chunk_size + 1), size - at - 1);
    const auto* chunk = reinterpret_cast<const std::byte*>(data + at + 1);
    at += 1 + n;
    const bool first = !assembler.in_message();
    std::byte* buf = assembler.next_buffer(scratch.data());
    if (buf != scratch.data() && first) std::abort();  // a first chunk always goes to scratch
    std::memcpy(buf, chunk, n);
    auto whole = assembler.accept(scratch.data(), n);
    if (!whole) {
      if (whole.error().code != EBADMSG && whole.error().code != ENOMEM) std::abort();
      if (whole.error().code == EBADMSG && assembler.usable()) std::abort();
      return 0;
    }
    if (first) {
      announced = detail::decode_length(chunk);
      expected.assign(chunk + detail::kLengthPrefixSize, chunk + n);
    } else {
      expected.insert(expected.end(), chunk, chunk + n);
    }
    if (expected.size() > announced) std::abort();
    if (*whole) {
      assembler.take(out);
      if (out.size() != announced || out.size() > max || out != expected) std::abort();
      expected.clear();
    }
  }
  return 0;
}
