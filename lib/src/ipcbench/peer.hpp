#pragma once
// The two ends of one benchmark run, each running in its own forked process.
//
// Protocol: data messages are exactly `size` bytes (size >= 1) filled by fill_payload();
// an empty message is a control message. latency: the initiator sends request `seq`, the
// responder answers with reply `seq` of the same size; at the end one control message, echoed.
// throughput: the initiator streams requests; a control message after the warm-up and one at
// the end, each answered by an empty message once the responder has consumed (and checked)
// everything before it, so the measured phase covers delivery, not just queueing.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "forkpool/ipc/channel.hpp"
#include "forkpool/ipcbench/bench.hpp"
#include "peer_report.hpp"

namespace forkpool::ipcbench::detail {

// Duration-limited runs measure at least this many samples even when they are slow.
inline constexpr std::uint64_t kMinSamples = 10;

// How slowly a run may move its messages before a peer counts as stalled. One wait can cover a
// message each way (a round trip) and the peer's filling and checking of them, and a machine
// whose cores are all busy moves a pipe's bytes at tens of MB/s: a 1 GiB round trip there
// takes most of a minute. Too slow to mistake a busy peer for a stopped one.
inline constexpr std::size_t kSlowestBytesPerSecond = std::size_t{4} << 20;

// How long one wait of a run with `size`-byte messages may take: the stall timeout plus the
// message's time at kSlowestBytesPerSecond (1 GiB: 256 s more). Pure function.
std::chrono::nanoseconds wait_allowance(std::chrono::nanoseconds stall_timeout, std::size_t size);

struct PeerPlan {
  BenchMode mode = BenchMode::latency;
  std::size_t size = 64;
  std::chrono::nanoseconds warmup{0};
  std::chrono::nanoseconds duration{0};
  std::optional<std::uint64_t> count;
  std::chrono::nanoseconds stall_timeout{std::chrono::seconds(10)};
  // A latency run given a duration ends here too: it keeps every sample.
  std::uint64_t max_samples = kMaxCount;
  // Responder: record the CPU its first receive costs (the idle check).
  bool measure_first_wait = false;
};

// Each returns the exit code for its process: 0, or 1 with `report.error` set. Called once,
// in the peer process, with the channel end that process owns.
int run_initiator(ipc::Channel& channel, const PeerPlan& plan, PeerReport& report);
int run_responder(ipc::Channel& channel, const PeerPlan& plan, PeerReport& report);

// The idle check's initiator: sleeps `idle` while the responder waits, then ends the run.
int run_idle_initiator(ipc::Channel& channel, std::chrono::nanoseconds idle,
                       std::chrono::nanoseconds stall_timeout, PeerReport& report);

}  // namespace forkpool::ipcbench::detail
