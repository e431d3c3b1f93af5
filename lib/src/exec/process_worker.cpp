#include "process_worker.hpp"

#include <stdexcept>
#include <string>

#include "batch_ledger.hpp"
#include "wire.hpp"

namespace forkpool::detail {
namespace {

Bytes text_bytes(const std::string& text) {
  auto* p = reinterpret_cast<const std::byte*>(text.data());
  return Bytes(p, p + text.size());
}

// Exit codes tell the coordinator's log what went wrong; it reacts to the exit, not the code.
constexpr int kExitProtocol = 3;
constexpr int kExitChannel = 4;
constexpr int kExitInit = 5;

}  // namespace

int worker_main(ipc::Channel& channel, const JobFunction& fn,
                const std::function<void()>& worker_init, unsigned worker_index,
                std::span<std::byte> scratch, std::size_t max_result_bytes) {
  if (worker_init) {
    try {
      worker_init();
    } catch (...) {
      Bytes message = text_bytes(current_exception_message());
      wire::append_frame(message, {0, wire::Kind::init_failed, 0});
      (void)channel.send(message);
      return kExitInit;
    }
  }

  Bytes shared;
  auto got = channel.receive(shared);
  if (!got || !*got) return kExitChannel;
  if (!wire::check_request(shared, /*first=*/true)) return kExitProtocol;
  WorkerContext context{worker_index, shared, scratch};

  Bytes input;
  for (;;) {
    auto r = channel.receive(input);
    if (!r) return kExitChannel;
    if (!*r) return 0;  // the coordinator closed the channel: the batch is over
    auto job = wire::check_request(input, /*first=*/false);
    if (!job) return kExitProtocol;

    Bytes out;
    wire::Kind kind = wire::Kind::done;
    try {
      out = fn(input, context);
      if (out.size() > max_result_bytes)
        throw std::length_error("result of " + std::to_string(out.size()) +
                                " bytes is over the limit of " + std::to_string(max_result_bytes) +
                                " bytes");
    } catch (...) {
      kind = wire::Kind::failed;
      out = text_bytes(current_exception_message());
    }
    wire::append_frame(out, {job->index, kind, 0});
    // With more jobs queued the coordinator may sleep on: it is woken once for several results.
    if (!channel.send_while_busy(out)) return kExitChannel;
  }
}

}  // namespace forkpool::detail
