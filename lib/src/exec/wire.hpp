#pragma once
// Messages between the process-pool coordinator and its workers.
//
// Every message is its payload followed by a fixed 16-byte frame (job index, kind, a reserved
// word that is zero). The frame sits at the end so that neither side moves the payload: the
// receiver strips it by shrinking the buffer, the sender appends it to the output it already
// holds. The two sides trust each other's code but not each other's state (a worker may be
// corrupted by the job it runs), so each checks every field of what it receives.

#include <cstdint>
#include <cstring>
#include <expected>
#include <optional>
#include <string>

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

// Reads the frame and shrinks `message` to its payload; nullopt (message untouched) for a
// message too short to hold one.
inline std::optional<Frame> strip_frame(Bytes& message) {
  if (message.size() < sizeof(Frame)) return std::nullopt;
  Frame frame;
  std::memcpy(&frame, message.data() + message.size() - sizeof frame, sizeof frame);
  message.resize(message.size() - sizeof frame);
  return frame;
}

// Why a message is not a well-formed one, for the error that names the peer's fault.
using Checked = std::expected<Frame, std::string>;

// A reply from a worker: done or failed for `expected`, the job it must answer next (the
// oldest it was sent and has not answered; nullopt when it has none), or init_failed before
// any job. On success `message` is shrunk to the payload; on failure it may not be.
inline Checked check_reply(Bytes& message, std::optional<std::uint64_t> expected) {
  auto frame = strip_frame(message);
  if (!frame)
    return std::unexpected("a " + std::to_string(message.size()) + "-byte message, shorter than its frame");
  if (frame->reserved != 0) return std::unexpected(std::string("a frame with a non-zero reserved word"));
  switch (frame->kind) {
    case Kind::init_failed: return *frame;
    case Kind::done:
    case Kind::failed:
      if (!expected)
        return std::unexpected("a reply for job " + std::to_string(frame->index) + " it was not given");
      if (frame->index != *expected)
        return std::unexpected("a reply for job " + std::to_string(frame->index) + " instead of job " +
                               std::to_string(*expected));
      return *frame;
    default:
      return std::unexpected("a message of unknown kind " +
                             std::to_string(static_cast<std::uint32_t>(frame->kind)));
  }
}

// A request to a worker: the shared input when it is the `first` message, a job after that.
// On success `message` is shrunk to the payload.
inline Checked check_request(Bytes& message, bool first) {
  auto frame = strip_frame(message);
  if (!frame) return std::unexpected(std::string("a message shorter than its frame"));
  if (frame->reserved != 0) return std::unexpected(std::string("a frame with a non-zero reserved word"));
  Kind want = first ? Kind::shared_input : Kind::job;
  if (frame->kind != want) return std::unexpected(std::string("a message of the wrong kind"));
  return *frame;
}

}  // namespace forkpool::detail::wire
