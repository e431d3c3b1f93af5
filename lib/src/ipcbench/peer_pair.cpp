#include "peer_pair.hpp"

#include <poll.h>
#include <sched.h>

#include <fmt/core.h>

#include <array>
#include <cstring>
#include <optional>

#include "forkpool/ipc/deadline.hpp"
#include "forkpool/ipc/sys_call.hpp"

namespace forkpool::ipcbench::detail {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kRoleName[2] = {"initiator", "responder"};

// The child's side of spawn, its signals already set up by ChildProcess::spawn.
int child_main(const PeerSpec& spec) {
  if (spec.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(spec.cpu, &set);
    auto r = ipc::sys_call("sched_setaffinity", fmt::format("CPU {}", spec.cpu),
                           [&] { return ::sched_setaffinity(0, sizeof set, &set); });
    if (!r) {
      // Safe: only this process writes its report until it is reaped.
      const_cast<PeerReport*>(spec.report)->set_error(r.error().message());
      return 1;
    }
  }
  return spec.body();
}

std::string describe_exit(int role, const ipc::ExitInfo& info, const PeerReport* report) {
  if (report && report->valid() && report->error[0] != '\0')
    return fmt::format("{}: {}", kRoleName[role], report->error);
  return fmt::format("{} process {}", kRoleName[role], info.describe());
}

bool clean(const ipc::ExitInfo& info) { return info.exited() && info.exit_code() == 0; }

}  // namespace

double cpu_seconds(const ipc::ExitInfo& info, bool system) noexcept {
  const timeval& tv = system ? info.usage.ru_stime : info.usage.ru_utime;
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
}

bool PairOutcome::settle(std::string& why, int& signal_out) const {
  if (interrupt_signal) {
    signal_out = interrupt_signal;
    why = "interrupted";
    return false;
  }
  if (!ok) {
    why = error;
    return false;
  }
  return true;
}

CpuTimes PairOutcome::cpu() const noexcept {
  return {cpu_seconds(initiator, false), cpu_seconds(initiator, true),
          cpu_seconds(responder, false), cpu_seconds(responder, true)};
}

PairOutcome run_pair(const PeerSpec& initiator, const PeerSpec& responder,
                     ipc::SignalCatcher& catcher, const PairHooks& hooks) {
  PairOutcome out;
  const PeerSpec* specs[2] = {&initiator, &responder};
  std::array<ipc::ChildProcess, 2> child;
  std::array<std::optional<ipc::ExitInfo>, 2> exit;
  auto began = Clock::now();

  // The responder first: it must be listening before the initiator starts its clock.
  for (int role : {1, 0}) {
    auto spawned = ipc::ChildProcess::spawn([spec = specs[role]] { return child_main(*spec); },
                                            &catcher);
    if (!spawned) {
      if (hooks.after_spawn) hooks.after_spawn();
      out.error = fmt::format("starting the {}: {}", kRoleName[role], spawned.error().message());
      return out;
    }
    child[role] = std::move(*spawned);
  }
  if (hooks.after_spawn) hooks.after_spawn();
  if (hooks.on_started) hooks.on_started(child[0].pid(), child[1].pid());

  auto reap = [&](int role) -> bool {
    auto info = child[role].wait();
    if (!info) {
      out.error = fmt::format("waiting for the {}: {}", kRoleName[role], info.error().message());
      return false;
    }
    exit[role] = *info;
    return true;
  };

  std::optional<ipc::Deadline> follow_by;
  for (;;) {
    std::array<pollfd, 3> fds{};
    fds[0] = {catcher.fd(), POLLIN, 0};
    fds[1] = {exit[0] ? -1 : child[0].pidfd(), POLLIN, 0};  // poll skips negative fds
    fds[2] = {exit[1] ? -1 : child[1].pidfd(), POLLIN, 0};
    int timeout = follow_by ? follow_by->poll_timeout_ms() : -1;
    auto ready = ipc::sys_call("poll", "benchmark processes",
                               [&] { return ::poll(fds.data(), fds.size(), timeout); });
    if (!ready) {
      out.error = ready.error().message();
      return out;  // the ChildProcess destructors kill and reap
    }
    if (fds[0].revents) {
      auto sig = catcher.take();
      if (sig && *sig) {
        out.interrupt_signal = **sig;
        return out;
      }
    }
    if (*ready == 0) {
      int late = exit[0] ? 1 : 0;
      out.error = fmt::format("the {} did not finish within {} s of the {}", kRoleName[late],
                              std::chrono::duration<double>(hooks.finish_timeout).count(),
                              kRoleName[1 - late]);
      return out;
    }
    for (int role : {0, 1}) {
      if (exit[role] || !(fds[1 + role].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (!reap(role)) return out;
      if (clean(*exit[role])) continue;
      // One failed. Its peer usually fails a moment later for the same reason (it lost its
      // partner); give it that moment, so that the report names the cause, a killed process
      // ahead of the peer that merely saw the hang-up.
      int other = 1 - role;
      std::string first = describe_exit(role, *exit[role], specs[role]->report);
      if (!exit[other]) {
        pollfd p{child[other].pidfd(), POLLIN, 0};
        auto n = ipc::sys_call("poll", "benchmark process", [&] { return ::poll(&p, 1, 200); });
        if (n && *n > 0) reap(other);
      }
      if (exit[other] && !clean(*exit[other])) {
        std::string second = describe_exit(other, *exit[other], specs[other]->report);
        if (exit[other]->signaled() && !exit[role]->signaled()) std::swap(first, second);
        out.error = first + "; " + second;
      } else {
        out.error = first;
      }
      return out;
    }
    if (exit[0] && exit[1]) break;
    if (!follow_by && (exit[0] || exit[1])) follow_by = ipc::Deadline::after(hooks.finish_timeout);
  }
  out.ok = true;
  out.initiator = *exit[0];
  out.responder = *exit[1];
  out.wall_s = std::chrono::duration<double>(Clock::now() - began).count();
  return out;
}

}  // namespace forkpool::ipcbench::detail
