#pragma once
// Forks the two processes of one benchmark run and waits for both, or for SIGINT/SIGTERM.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>

#include "forkpool/ipc/child_process.hpp"
#include "forkpool/ipc/signal_catcher.hpp"
#include "forkpool/ipcbench/bench.hpp"
#include "peer_report.hpp"

namespace forkpool::ipcbench::detail {

struct PeerSpec {
  std::function<int()> body;  // runs in the child; its return value is the exit code
  int cpu = -1;               // pin the child to this CPU; -1: leave it to the scheduler
  const PeerReport* report = nullptr;  // where the child writes its error, if any
};

struct PairOutcome {
  bool ok = false;
  std::string error;         // why not ok, naming the process(es) that failed and how
  int interrupt_signal = 0;  // SIGINT/SIGTERM arrived: both processes were killed and reaped
  ipc::ExitInfo initiator;   // valid when ok
  ipc::ExitInfo responder;
  double wall_s = 0;         // from the first fork to the last reap

  // Copies why a run did not go through into `error` ("interrupted", or the failure) and the
  // signal into `interrupt_signal`; true when it went through.
  bool settle(std::string& error, int& interrupt_signal) const;
  // Both processes' user and system CPU time; valid when ok.
  [[nodiscard]] CpuTimes cpu() const noexcept;
};

struct PairHooks {
  // In this process, right after both forks: drop what only the children should hold (the
  // channel ends), so that each child sees its peer's death as a hang-up.
  std::function<void()> after_spawn;
  std::function<void(pid_t initiator, pid_t responder)> on_started;
  // Once one process has exited cleanly, how long the other may take to follow.
  std::chrono::nanoseconds finish_timeout = std::chrono::seconds(10);
};

// Forks the responder, then the initiator. Each child restores the signal state the catcher
// changed, ignores SIGINT (a terminal's Ctrl-C reaches the whole process group: this process
// decides), pins itself if asked, and runs its body. Returns when both have exited, when one
// fails (the other is killed then), or when `catcher` reports a signal. Never leaves a child
// behind. Main thread of the benchmarking process only.
PairOutcome run_pair(const PeerSpec& initiator, const PeerSpec& responder,
                     ipc::SignalCatcher& catcher, const PairHooks& hooks);

// User + system CPU seconds of a reaped child.
double cpu_seconds(const ipc::ExitInfo& info, bool system) noexcept;

}  // namespace forkpool::ipcbench::detail
