#pragma once
// Messages between the process-pool coordinator and its workers.
//
// Every message is its payload followed by a fixed 16-byte frame (job index, kind). The frame
// sits at the end so that neither side moves the payload: the receiver strips it by shrinking
// the buffer, the sender appends it to the output it already holds.

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>

#include "forkpool/exec/executor.hpp"

namespace forkpool::detail::wire {

enum class Kind : std::uint32_t {
  shared_input = 0x5348'4152,  // coordinator -> worker, first message: the batch's shared input
  job = 0x4a4f'4221,           // coordinator -> worker: a job's input
  done = 0x444f'4e45,          // worker -> coordinator: the job's output
  failed = 0x4641'494c,        // worker -> coordinator: the job threw; payload is the message
  init_failed = 0x494e'4954,   // worker -> coordinator: worker_init threw; payload is the message
};

struct Frame {
  std::uint64_t index = 0;
  Kind kind = Kind::job;
  std::uint32_t reserved = 0;
};
static_assert(sizeof(Frame) == 16);

inline void append_frame(Bytes& message, Frame frame) {
  std::size_t at = message.size();
  message.resize(at + sizeof frame);
  std::memcpy(message.data() + at, &frame, sizeof frame);
}

// Reads the frame and shrinks `message` to its payload; nullopt for a message too short to
// hold one (a broken peer).
inline std::optional<Frame> strip_frame(Bytes& message) {
  if (message.size() < sizeof(Frame)) return std::nullopt;
  Frame frame;
  std::memcpy(&frame, message.data() + message.size() - sizeof frame, sizeof frame);
  message.resize(message.size() - sizeof frame);
  return frame;
}

}  // namespace forkpool::detail::wire
