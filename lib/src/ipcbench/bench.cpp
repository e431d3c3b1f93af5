#include "forkpool/ipcbench/bench.hpp"

#include <sched.h>
#include <signal.h>

#include <fmt/core.h>

#include <new>
#include <stdexcept>

#include "forkpool/ipc/message_queue.hpp"
#include "forkpool/ipc/shared_memory.hpp"
#include "forkpool/ipc/signal_catcher.hpp"
#include "forkpool/ipcbench/units.hpp"
#include "peer.hpp"
#include "peer_pair.hpp"
#include "reference.hpp"

namespace forkpool::ipcbench {

using detail::PeerPlan;
using detail::PeerSpec;
using detail::RunReports;

std::string_view to_string(BenchMode m) noexcept {
  return m == BenchMode::latency ? "latency" : "throughput";
}

std::optional<BenchMode> parse_mode(std::string_view name) noexcept {
  if (name == "latency") return BenchMode::latency;
  if (name == "throughput") return BenchMode::throughput;
  return std::nullopt;
}

std::string BenchTransport::label() const {
  if (transport == ipc::Transport::shm) return shm_blocking ? "shm-block" : "shm-spin";
  return std::string(ipc::to_string(transport));
}

std::vector<BenchTransport> all_bench_transports() {
  std::vector<BenchTransport> out;
  for (ipc::Transport t : ipc::kAllTransports) {
    out.push_back({t, false});
    if (t == ipc::Transport::shm) out.push_back({t, true});
  }
  return out;
}

std::vector<BenchTransport> parse_bench_transport(std::string_view name) {
  if (name == "shm") return {{ipc::Transport::shm, false}, {ipc::Transport::shm, true}};
  for (const BenchTransport& t : all_bench_transports())
    if (t.label() == name) return {t};
  return {};
}

std::size_t BenchReport::failed_runs() const noexcept {
  std::size_t n = 0;
  for (const RunResult& r : runs) n += r.ok ? 0 : 1;
  return n;
}

void validate(const BenchOptions& o) {
  if (o.transports.empty()) throw std::invalid_argument("no transport to measure");
  if (o.sizes.empty()) throw std::invalid_argument("no message size to measure");
  if (o.modes.empty()) throw std::invalid_argument("no mode to measure");
  for (std::size_t s : o.sizes)
    if (s == 0 || s > kMaxMessageBytes)
      throw std::invalid_argument(fmt::format("message size {} is outside 1 B..{}", s,
                                              format_size(kMaxMessageBytes)));
  if (o.count && (*o.count == 0 || *o.count > kMaxCount))
    throw std::invalid_argument(fmt::format("--count must be from 1 to {}", kMaxCount));
  if (!o.count && o.duration <= std::chrono::nanoseconds::zero())
    throw std::invalid_argument("the duration must be above zero");
  const auto hours = std::chrono::duration_cast<std::chrono::hours>(kMaxRunTime).count();
  if (o.duration > kMaxRunTime)
    throw std::invalid_argument(fmt::format("the duration must be at most {} h per run", hours));
  if (o.warmup < std::chrono::nanoseconds::zero())
    throw std::invalid_argument("the warm-up must not be negative");
  if (o.warmup > kMaxRunTime)
    throw std::invalid_argument(fmt::format("the warm-up must be at most {} h per run", hours));
  if (o.pin) {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0)
      throw std::invalid_argument("cannot read this process's CPU affinity for --pin");
    for (int cpu : *o.pin)
      if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed))
        throw std::invalid_argument(
            fmt::format("--pin: CPU {} is not one this process may run on", cpu));
  }
}

namespace {

struct Step {
  const BenchOptions& options;
  explicit Step(const BenchOptions& o, std::string_view what) : options(o) {
    if (options.on_step) options.on_step(what);
  }
  ~Step() {
    if (options.on_step_done) options.on_step_done();
  }
};

// Creates the shared block both peers report into, in this process, before the forks.
struct SharedReports {
  ipc::SharedMemory memory;
  RunReports* reports = nullptr;

  static SharedReports create() {
    auto m = ipc::SharedMemory::create(sizeof(RunReports));
    if (!m) throw std::runtime_error(m.error().message());
    SharedReports s{std::move(*m)};
    s.reports = new (s.memory.data()) RunReports{};
    return s;
  }
};

ipc::ChannelOptions channel_options(const BenchTransport& t) {
  ipc::ChannelOptions c;
  if (t.shm_blocking) c.shm_spin = std::chrono::nanoseconds::zero();
  return c;
}

int cpu_for(const BenchOptions& o, int role) { return o.pin ? (*o.pin)[role] : -1; }

// Runs `initiator` on the first end of `pair` and `responder` on the second, each in a process
// of its own that keeps only its end; this process keeps neither, so that each child sees the
// other's death as a hang-up.
detail::PairOutcome run_over_channels(
    ipc::ChannelPair& pair, const BenchOptions& options, RunReports& reports,
    ipc::SignalCatcher& catcher, const std::function<int(ipc::Channel&)>& initiator,
    const std::function<int(ipc::Channel&)>& responder,
    std::function<void(pid_t, pid_t)> on_started = {}) {
  PeerSpec a{[&] {
               pair.second.reset();
               return initiator(*pair.first);
             },
             cpu_for(options, 0), &reports.initiator};
  PeerSpec b{[&] {
               pair.first.reset();
               return responder(*pair.second);
             },
             cpu_for(options, 1), &reports.responder};
  detail::PairHooks hooks;
  hooks.after_spawn = [&] {
    pair.first.reset();
    pair.second.reset();
  };
  hooks.on_started = std::move(on_started);
  hooks.finish_timeout = options.stall_timeout;
  return detail::run_pair(a, b, catcher, hooks);
}

RunResult run_one(const BenchOptions& options, const BenchTransport& transport, BenchMode mode,
                  std::size_t size, const MachineInfo& machine, ipc::SignalCatcher& catcher,
                  int& interrupt_signal) {
  RunResult result;
  result.transport = transport;
  result.mode = mode;
  result.size = size;
  if (transport.transport == ipc::Transport::mq) {
    // Queues share a per-user budget (RLIMIT_MSGQUEUE) with every other process of this user,
    // so what a queue gets can change between runs: ask again right before this one.
    auto limits = ipc::probe_mq_limits();
    result.chunk_bytes = static_cast<std::size_t>(limits ? limits->message_size
                                                         : machine.mq_message_size);
  }

  auto pair = ipc::make_channel_pair(transport.transport, channel_options(transport));
  if (!pair) {
    result.error = pair.error().message();
    return result;
  }
  SharedReports shared = SharedReports::create();
  RunReports& reports = *shared.reports;
  PeerPlan plan{mode, size, options.warmup, options.duration, options.count,
                options.stall_timeout};

  detail::PairOutcome outcome = run_over_channels(
      *pair, options, reports, catcher,
      [&](ipc::Channel& end) { return detail::run_initiator(end, plan, reports.initiator); },
      [&](ipc::Channel& end) { return detail::run_responder(end, plan, reports.responder); },
      options.on_peers_started);
  if (!outcome.settle(result.error, interrupt_signal)) return result;

  const detail::PeerReport& r = reports.initiator;
  result.ok = true;
  result.warmup_count = r.warmup_count;
  result.count = r.count;
  result.elapsed_s = static_cast<double>(r.elapsed_ns) * 1e-9;
  result.rtt = r.rtt;
  if (result.elapsed_s > 0) {
    result.messages_per_s = static_cast<double>(r.count) / result.elapsed_s;
    result.bytes_per_s = result.messages_per_s * static_cast<double>(size);
  }
  result.cpu = outcome.cpu();
  double messages = static_cast<double>(r.warmup_count + r.count);
  if (mode == BenchMode::latency) messages *= 2;
  if (messages > 0) result.cpu_per_message_s = result.cpu.total_s() / messages;
  result.wall_s = outcome.wall_s;
  return result;
}

IdleResult idle_check(const BenchOptions& options, const BenchTransport& transport,
                      ipc::SignalCatcher& catcher, int& interrupt_signal) {
  IdleResult result;
  result.transport = transport;
  auto pair = ipc::make_channel_pair(transport.transport, channel_options(transport));
  if (!pair) {
    result.error = pair.error().message();
    return result;
  }
  SharedReports shared = SharedReports::create();
  RunReports& reports = *shared.reports;
  PeerPlan plan;
  plan.size = 1;
  plan.measure_first_wait = true;
  plan.stall_timeout = options.stall_timeout + options.idle_check;

  detail::PairOutcome outcome = run_over_channels(
      *pair, options, reports, catcher,
      [&](ipc::Channel& end) {
        return detail::run_idle_initiator(end, options.idle_check, plan.stall_timeout,
                                          reports.initiator);
      },
      [&](ipc::Channel& end) { return detail::run_responder(end, plan, reports.responder); });
  if (!outcome.settle(result.error, interrupt_signal)) return result;
  result.ok = true;
  result.idle_s = static_cast<double>(reports.initiator.elapsed_ns) * 1e-9;
  result.wait_cpu_s = static_cast<double>(reports.responder.first_wait_cpu_ns) * 1e-9;
  result.life_cpu_s = detail::cpu_seconds(outcome.responder, false) +
                      detail::cpu_seconds(outcome.responder, true);
  return result;
}

}  // namespace

BenchReport run_ipc_bench(const BenchOptions& options) {
  validate(options);
  auto catcher = ipc::SignalCatcher::create({SIGINT, SIGTERM});
  if (!catcher) throw std::runtime_error(catcher.error().message());

  BenchReport report;
  report.pinned = options.pin;
  report.machine = describe_machine();
  int signal = 0;
  auto interrupted = [&] {
    if (!signal) {
      auto taken = catcher->take();
      if (taken && *taken) signal = **taken;
    }
    if (signal) {
      report.interrupted = true;
      report.interrupt_signal = signal;
    }
    return signal != 0;
  };

  detail::ReferenceBudget budget;
  budget.count = options.count;
  budget.duration = std::min<std::chrono::nanoseconds>(options.duration, std::chrono::milliseconds(200));
  budget.warmup = std::min<std::chrono::nanoseconds>(options.warmup, std::chrono::milliseconds(20));
  {
    Step step(options, "limit: cache-line round trip");
    report.cache_line = detail::measure_cache_line(budget, options.pin, options.stall_timeout,
                                                   *catcher, signal);
  }
  if (interrupted()) return report;
  budget.duration = std::min<std::chrono::nanoseconds>(options.duration, std::chrono::milliseconds(100));
  for (std::size_t size : options.sizes) {
    Step step(options, fmt::format("limit: memcpy {}", format_size(size)));
    report.memcpy_rows.push_back(detail::measure_memcpy(size, budget));
    if (interrupted()) return report;
  }
  if (options.idle_check > std::chrono::nanoseconds::zero()) {
    for (const BenchTransport& t : options.transports) {
      if (t.transport != ipc::Transport::shm) continue;
      Step step(options, fmt::format("{} idle", t.label()));
      report.idle_rows.push_back(idle_check(options, t, *catcher, signal));
      if (interrupted()) return report;
    }
  }
  for (const BenchTransport& t : options.transports) {
    for (std::size_t size : options.sizes) {
      for (BenchMode mode : options.modes) {
        Step step(options, fmt::format("{} {} {}", t.label(), format_size(size), to_string(mode)));
        RunResult r = run_one(options, t, mode, size, report.machine, *catcher, signal);
        if (interrupted()) return report;
        report.runs.push_back(std::move(r));
      }
    }
  }
  return report;
}

}  // namespace forkpool::ipcbench
