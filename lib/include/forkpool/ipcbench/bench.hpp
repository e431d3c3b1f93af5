#pragma once
// forkpool ipc-bench's harness: latency and throughput of each IPC transport between two
// forked processes, next to the machine's own limits measured in the same run.

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "forkpool/ipc/channel.hpp"
#include "forkpool/ipcbench/latency_summary.hpp"
#include "forkpool/ipcbench/machine.hpp"

namespace forkpool::ipcbench {

enum class BenchMode { latency, throughput };
std::string_view to_string(BenchMode m) noexcept;
std::optional<BenchMode> parse_mode(std::string_view name) noexcept;

// A transport as benchmarked: shm runs in two labelled ways, spinning briefly before it sleeps
// ("shm-spin", the channel's default) and waking the peer through an eventfd for every message
// ("shm-block").
struct BenchTransport {
  ipc::Transport transport = ipc::Transport::pipe;
  bool shm_blocking = false;

  // "pipe", "unix", "tcp", "mq", "shm-spin", "shm-block"
  [[nodiscard]] std::string label() const;
  friend bool operator==(const BenchTransport&, const BenchTransport&) = default;
};
// Every label above, in that order.
std::vector<BenchTransport> all_bench_transports();
// A label above, or "shm" for both shm modes; empty for an unknown name.
std::vector<BenchTransport> parse_bench_transport(std::string_view name);

// Most measured round trips (latency) or messages (throughput) one run takes: --count's limit,
// and where a latency run given a duration stops early, since it keeps every sample (8 bytes).
inline constexpr std::uint64_t kMaxCount = 10'000'000;
// Longest measured phase, and longest warm-up, of one run.
inline constexpr std::chrono::nanoseconds kMaxRunTime = std::chrono::hours(1);

struct BenchOptions {
  std::vector<BenchTransport> transports = all_bench_transports();
  std::vector<std::size_t> sizes = {64, 4 << 10, 64 << 10, 1 << 20, 16 << 20};
  std::vector<BenchMode> modes = {BenchMode::latency, BenchMode::throughput};
  // How long each run measures, after its warm-up; ignored when `count` is set. A latency run
  // also ends at kMaxCount samples.
  std::chrono::nanoseconds duration = std::chrono::milliseconds(300);
  // Exact number of measured round trips (latency) or messages (throughput) per run.
  std::optional<std::uint64_t> count;
  std::chrono::nanoseconds warmup = std::chrono::milliseconds(100);
  // CPUs for the two processes (initiator, responder); nullopt leaves them to the scheduler.
  std::optional<std::array<int, 2>> pin;
  // A peer that makes no progress for this long is an error, not a hang. Each wait of a run
  // also gets the time its messages take to move at a crawl (see detail::wait_allowance), so
  // that a 1 GiB message is not a stall.
  std::chrono::nanoseconds stall_timeout = std::chrono::seconds(10);
  // How long an idle shm channel is watched for CPU use (0: skip that check).
  std::chrono::nanoseconds idle_check = std::chrono::milliseconds(200);

  // Called in the benchmarking process before each step ("shm-spin 4 KiB latency") and after
  // it; for progress output.
  std::function<void(std::string_view step)> on_step;
  std::function<void()> on_step_done;
  // Called once the two processes of a run have started. Tests use it to kill a peer.
  std::function<void(pid_t initiator, pid_t responder)> on_peers_started;
};

// Throws std::invalid_argument naming what is wrong: an empty list, a size of 0 or above
// kMaxMessageBytes, a --pin CPU this process may not use, a zero duration without a count, a
// count above kMaxCount, a duration or warm-up above kMaxRunTime.
void validate(const BenchOptions& options);

// User and system CPU seconds of the two processes of a run, whole lives (warm-up included).
struct CpuTimes {
  double initiator_user_s = 0;
  double initiator_sys_s = 0;
  double responder_user_s = 0;
  double responder_sys_s = 0;
  [[nodiscard]] double total_s() const noexcept {
    return initiator_user_s + initiator_sys_s + responder_user_s + responder_sys_s;
  }
};

// One transport x size x mode.
struct RunResult {
  BenchTransport transport;
  BenchMode mode = BenchMode::latency;
  std::size_t size = 0;
  bool ok = false;
  std::string error;  // why not ok: a corrupted payload, a peer that died or stalled, ...

  std::uint64_t warmup_count = 0;  // round trips (latency) or messages (throughput)
  std::uint64_t count = 0;         // measured ones
  double elapsed_s = 0;            // the measured phase, on the initiator's clock
  LatencySummary rtt;              // latency mode: round-trip times (RTT, not RTT/2)
  double messages_per_s = 0;       // messages in one direction per second
  double bytes_per_s = 0;          // payload bytes in one direction per second
  CpuTimes cpu;
  // CPU of both processes over their whole lives divided by every message they exchanged
  // (warm-up included; a round trip is two messages).
  double cpu_per_message_s = 0;
  double wall_s = 0;               // both processes, from the first fork to the last reap
  std::size_t chunk_bytes = 0;     // mq: the largest piece one queue message carries
};

// The physical floor: two processes bouncing one cache line through shared memory.
struct CacheLineResult {
  bool ok = false;
  std::string error;
  LatencySummary rtt;
  CpuTimes cpu;
};

// The copy a transport cannot beat: memcpy of one message inside one process.
struct MemcpyResult {
  std::size_t size = 0;
  std::uint64_t copies = 0;
  double seconds_per_copy = 0;
  double bytes_per_s = 0;
};

// CPU an shm channel uses while nobody sends: its receiver blocked for `idle_s`.
struct IdleResult {
  BenchTransport transport;
  bool ok = false;
  std::string error;
  double idle_s = 0;
  double wait_cpu_s = 0;  // user + system CPU of the waiting process during the wait itself
  double life_cpu_s = 0;  // ... over its whole life (fork, setup and exit included)
};

struct BenchReport {
  MachineInfo machine;
  std::optional<std::array<int, 2>> pinned;
  CacheLineResult cache_line;
  std::vector<MemcpyResult> memcpy_rows;  // one per size
  std::vector<IdleResult> idle_rows;      // one per shm mode requested
  std::vector<RunResult> runs;            // transport-major, then size, then mode
  bool interrupted = false;               // SIGINT/SIGTERM arrived: the report is incomplete
  int interrupt_signal = 0;
  [[nodiscard]] std::size_t failed_runs() const noexcept;
};

// Runs the reference measurements, then every transport x size x mode, each in two freshly
// forked processes. A run that fails (corrupted payload, dead or stalled peer) is recorded and
// the rest go on. SIGINT/SIGTERM stop it early: the processes are killed and reaped and the
// report says interrupted. Call from the main thread of a process that has no other threads
// (it forks); it blocks SIGINT and SIGTERM while it runs and restores the mask after.
// Throws std::invalid_argument for bad options, std::runtime_error when it cannot set up.
BenchReport run_ipc_bench(const BenchOptions& options);

}  // namespace forkpool::ipcbench
