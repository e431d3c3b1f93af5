// The ipc-bench table on stdout.

#include <fmt/core.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "forkpool/ipcbench/units.hpp"
#include "ipc_bench_output.hpp"

namespace forkpool::cli::ipc_bench {
namespace {

using ipcbench::BenchMode;
using ipcbench::BenchReport;
using ipcbench::RunResult;

constexpr int kNameWidth = 11;
constexpr int kSizeWidth = 8;
constexpr int kLatencyWidth = 9;
constexpr int kLatencyColumns = 6;  // p50 p90 p99 p99.9 max CPU/msg
constexpr int kRateWidth = 10;
constexpr int kBandwidthWidth = 11;
constexpr int kCpuWidth = 9;

struct Row {
  Row(std::string n, std::string s) : name(std::move(n)), size(std::move(s)) {}
  std::string name, size;
  std::vector<std::string> latency = std::vector<std::string>(kLatencyColumns);
  std::string rate, bandwidth, cpu, note;
};

class Table {
 public:
  Table(bool latency, bool throughput) : latency_(latency), throughput_(throughput) {}

  std::string header() const {
    std::string top = fmt::format("{:<{}} {:<{}}", "", kNameWidth, "", kSizeWidth);
    std::string names = fmt::format("{:<{}} {:<{}}", "transport", kNameWidth, "size", kSizeWidth);
    if (latency_) {
      int width = kLatencyColumns * (kLatencyWidth + 1) - 1;
      top += fmt::format(" | {:^{}}", "latency: round-trip time (RTT)", width);
      names += " |";
      for (const char* c : {"p50", "p90", "p99", "p99.9", "max", "CPU/msg"})
        names += fmt::format(" {:>{}}", c, kLatencyWidth);
    }
    if (throughput_) {
      int width = kRateWidth + kBandwidthWidth + kCpuWidth + 2;
      top += fmt::format(" | {:^{}}", "throughput (one way)", width);
      names += fmt::format(" | {:>{}} {:>{}} {:>{}}", "msgs/s", kRateWidth, "bytes/s",
                           kBandwidthWidth, "CPU/msg", kCpuWidth);
    }
    names += " | note";
    top += " |";
    return top + "\n" + names + "\n" + std::string(names.size(), '-') + "\n";
  }

  std::string row(const Row& r) const {
    std::string line = fmt::format("{:<{}} {:<{}}", r.name, kNameWidth, r.size, kSizeWidth);
    if (latency_) {
      line += " |";
      for (const auto& cell : r.latency) line += fmt::format(" {:>{}}", cell, kLatencyWidth);
    }
    if (throughput_)
      line += fmt::format(" | {:>{}} {:>{}} {:>{}}", r.rate, kRateWidth, r.bandwidth,
                          kBandwidthWidth, r.cpu, kCpuWidth);
    line += " | " + r.note;
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line + "\n";
  }

 private:
  bool latency_, throughput_;
};

void fill_latency(Row& row, const ipcbench::LatencySummary& s) {
  row.latency[0] = format_ns(static_cast<double>(s.p50_ns));
  row.latency[1] = format_ns(static_cast<double>(s.p90_ns));
  row.latency[2] = format_ns(static_cast<double>(s.p99_ns));
  row.latency[3] = format_ns(static_cast<double>(s.p999_ns));
  row.latency[4] = format_ns(static_cast<double>(s.max_ns));
}

std::string transport_note(const RunResult& r) {
  if (r.transport.transport == ipc::Transport::mq && r.chunk_bytes > 0) {
    std::size_t chunks = (r.size + 8 + r.chunk_bytes - 1) / r.chunk_bytes;
    return fmt::format("chunk {}{}", ipcbench::format_size(r.chunk_bytes),
                       chunks > 1 ? fmt::format(", {} per message", chunks) : "");
  }
  if (r.transport.transport == ipc::Transport::shm)
    return r.transport.shm_blocking ? "blocking: eventfd wake-up" : "spin, then sleep";
  return "";
}

const RunResult* find_run(const BenchReport& report, const ipcbench::BenchTransport& t,
                          std::size_t size, BenchMode mode) {
  for (const RunResult& r : report.runs)
    if (r.transport == t && r.size == size && r.mode == mode) return &r;
  return nullptr;
}

std::string pin_text(const BenchReport& report) {
  if (!report.pinned) return "not pinned";
  return fmt::format("pinned: initiator on CPU {}, responder on CPU {}", (*report.pinned)[0],
                     (*report.pinned)[1]);
}

}  // namespace

void print_table(std::FILE* out, const BenchReport& report, const ReportSettings& s) {
  const ipcbench::BenchOptions& o = *s.options;
  const ipcbench::MachineInfo& m = report.machine;
  bool latency = std::ranges::find(o.modes, BenchMode::latency) != o.modes.end();
  bool throughput = std::ranges::find(o.modes, BenchMode::throughput) != o.modes.end();

  std::string text;
  text += fmt::format("forkpool ipc-bench: two forked processes per run, {}\n", pin_text(report));
  text += fmt::format("machine: {}, {} cores online, {} available to this process, {}, load {}\n",
                      m.cpu_model, m.cores_online, m.cores_available, m.kernel, m.load_average);
  if (m.mq_message_size > 0)
    text += fmt::format("mq: {} messages of at most {} per queue (mq_getattr)\n",
                        m.mq_max_messages, ipcbench::format_size(static_cast<std::size_t>(m.mq_message_size)));
  else
    text += fmt::format("mq: limits unknown ({})\n", m.mq_error);
  text += fmt::format("each run: {}\n", s.duration_text);
  if (latency)
    text += "latency: round-trip time (RTT) of one full-size message each way, printed as is "
            "(one-way is about RTT/2)\n";
  text += "CPU/msg: user+system CPU of both processes over their whole lives / messages "
          "exchanged (spinning counts)\n\n";

  Table table(latency, throughput);
  text += table.header();

  Row line{"cache-line", "64 B"};
  if (report.cache_line.ok) {
    fill_latency(line, report.cache_line.rtt);
    line.note = "limit: 2 processes bouncing one atomic in shared memory";
  } else {
    line.latency[0] = "FAILED";
    line.note = "limit failed: " + report.cache_line.error;
  }
  text += table.row(line);
  for (const auto& mc : report.memcpy_rows) {
    Row row{"memcpy", ipcbench::format_size(mc.size)};
    row.latency[0] = format_ns(mc.seconds_per_copy * 1e9);
    row.rate = format_rate(1.0 / mc.seconds_per_copy);
    row.bandwidth = format_bandwidth(mc.bytes_per_s);
    row.note = "limit: one copy inside one process";
    text += table.row(row);
  }
  text += "\n";

  std::size_t failed = 0;
  for (const auto& t : o.transports) {
    for (std::size_t size : o.sizes) {
      Row row{t.label(), ipcbench::format_size(size)};
      const RunResult* lat = find_run(report, t, size, BenchMode::latency);
      const RunResult* thr = find_run(report, t, size, BenchMode::throughput);
      if (!lat && !thr) continue;  // not reached before an interruption
      if (lat && lat->ok) {
        fill_latency(row, lat->rtt);
        row.latency[5] = format_ns(lat->cpu_per_message_s * 1e9);
      } else if (lat) {
        row.latency[0] = "FAILED";
        ++failed;
      }
      if (thr && thr->ok) {
        row.rate = format_rate(thr->messages_per_s);
        row.bandwidth = format_bandwidth(thr->bytes_per_s);
        row.cpu = format_ns(thr->cpu_per_message_s * 1e9);
      } else if (thr) {
        row.rate = "FAILED";
        ++failed;
      }
      row.note = transport_note(lat ? *lat : *thr);
      text += table.row(row);
    }
  }

  if (!report.idle_rows.empty()) text += "\n";
  for (const auto& idle : report.idle_rows) {
    if (idle.ok)
      text += fmt::format("idle {}: a receiver blocked {} with nothing to receive used {} of CPU "
                          "({:.3f}% of a core)\n",
                          idle.transport.label(), format_ns(idle.idle_s * 1e9),
                          format_ns(idle.wait_cpu_s * 1e9), 100.0 * idle.wait_cpu_s / idle.idle_s);
    else
      text += fmt::format("idle {}: check failed (the reason is on stderr)\n", idle.transport.label());
  }
  // Why each run failed goes to stderr, once, with the exit code (cmd_ipc_bench.cpp).
  if (failed > 0) text += fmt::format("\n{} run(s) failed: the reasons are on stderr\n", failed);
  std::fputs(text.c_str(), out);
  std::fflush(out);
}

}  // namespace forkpool::cli::ipc_bench
