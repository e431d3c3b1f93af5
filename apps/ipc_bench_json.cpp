// The ipc-bench report as JSON and CSV: every figure, and the machine it was measured on.

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ipc_bench_output.hpp"
#include "output_files.hpp"
#include "report_header.hpp"

namespace forkpool::cli::ipc_bench {
namespace {

using json = nlohmann::ordered_json;

json latency_json(const ipcbench::LatencySummary& s) {
  return {{"count", s.count},    {"min", s.min_ns},   {"mean", s.mean_ns},
          {"p50", s.p50_ns},     {"p90", s.p90_ns},   {"p99", s.p99_ns},
          {"p99_9", s.p999_ns},  {"max", s.max_ns}};
}

json cpu_json(const ipcbench::CpuTimes& c) {
  return {{"initiator_user", c.initiator_user_s}, {"initiator_system", c.initiator_sys_s},
          {"responder_user", c.responder_user_s}, {"responder_system", c.responder_sys_s},
          {"total", c.total_s()}};
}

json transport_json(const ipcbench::BenchTransport& t) {
  return {{"label", t.label()},
          {"transport", std::string(ipc::to_string(t.transport))},
          {"shm_mode", t.transport == ipc::Transport::shm
                           ? json(t.shm_blocking ? "blocking" : "spin-then-sleep")
                           : json(nullptr)}};
}

json run_json(const ipcbench::RunResult& r) {
  json j = transport_json(r.transport);
  j["mode"] = std::string(ipcbench::to_string(r.mode));
  j["size"] = r.size;
  j["ok"] = r.ok;
  if (!r.ok) {
    j["error"] = r.error;
    return j;
  }
  j["warmup_count"] = r.warmup_count;
  j["count"] = r.count;
  j["elapsed_s"] = r.elapsed_s;
  if (r.mode == ipcbench::BenchMode::latency) j["rtt_ns"] = latency_json(r.rtt);
  j["messages_per_s"] = r.messages_per_s;
  j["bytes_per_s"] = r.bytes_per_s;
  j["cpu_s"] = cpu_json(r.cpu);
  j["cpu_per_message_s"] = r.cpu_per_message_s;
  j["wall_s"] = r.wall_s;
  if (r.transport.transport == ipc::Transport::mq) j["chunk_bytes"] = r.chunk_bytes;
  return j;
}

json settings_json(const ReportSettings& s, const ipcbench::BenchReport& report) {
  const auto& o = *s.options;
  json transports = json::array(), modes = json::array();
  for (const auto& t : o.transports) transports.push_back(t.label());
  for (auto m : o.modes) modes.push_back(std::string(ipcbench::to_string(m)));
  return {{"transports", transports},
          {"sizes", o.sizes},
          {"modes", modes},
          {"duration_s", o.count ? json(nullptr)
                                 : json(std::chrono::duration<double>(o.duration).count())},
          {"count", o.count ? json(*o.count) : json(nullptr)},
          {"warmup_s", std::chrono::duration<double>(o.warmup).count()},
          {"pinned", report.pinned ? json(*report.pinned) : json(nullptr)},
          {"latency", "round-trip time (RTT) in ns, one full-size message each way"},
          {"cpu_per_message", "user+system CPU s of both processes / messages exchanged, "
                              "warm-up included; a round trip is 2 messages"}};
}

// RFC 4180: quote a field that holds a comma, a quote or a line break.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string num(double v) { return fmt::format("{:.9g}", v); }

}  // namespace

nlohmann::ordered_json machine_json(const ipcbench::MachineInfo& m) {
  json mq = m.mq_message_size > 0
                ? json{{"message_size", m.mq_message_size}, {"max_messages", m.mq_max_messages}}
                : json{{"error", m.mq_error}};
  return {{"cpu_model", m.cpu_model},         {"cores_online", m.cores_online},
          {"cores_available", m.cores_available}, {"kernel", m.kernel},
          {"load_average", m.load_average},   {"mq_limits", mq}};
}

std::string format_json(const ipcbench::BenchReport& report, const ReportSettings& s) {
  json limits;
  const auto& cl = report.cache_line;
  limits["cache_line_rtt"] = cl.ok ? json{{"ok", true}, {"rtt_ns", latency_json(cl.rtt)},
                                          {"cpu_s", cpu_json(cl.cpu)}}
                                   : json{{"ok", false}, {"error", cl.error}};
  limits["memcpy"] = json::array();
  for (const auto& m : report.memcpy_rows)
    limits["memcpy"].push_back({{"size", m.size},
                                {"copies", m.copies},
                                {"seconds_per_copy", m.seconds_per_copy},
                                {"bytes_per_s", m.bytes_per_s}});
  json idle = json::array();
  for (const auto& i : report.idle_rows) {
    json j = transport_json(i.transport);
    j["ok"] = i.ok;
    if (i.ok) {
      j["idle_s"] = i.idle_s;
      j["wait_cpu_s"] = i.wait_cpu_s;
      j["wait_cpu_fraction"] = i.idle_s > 0 ? i.wait_cpu_s / i.idle_s : 0.0;
      j["process_life_cpu_s"] = i.life_cpu_s;
    } else {
      j["error"] = i.error;
    }
    idle.push_back(j);
  }
  json results = json::array();
  for (const auto& r : report.runs) results.push_back(run_json(r));
  json doc = {{"machine", machine_json(report.machine)},
              {"settings", settings_json(s, report)},
              {"limits", limits},
              {"idle", idle},
              {"results", results},
              {"failed_runs", report.failed_runs()}};
  return json_text(with_report_header("ipc-bench", doc));
}

std::string format_csv(const ipcbench::BenchReport& report) {
  static const char* kColumns[] = {
      "kind", "transport", "mode", "size_bytes", "ok", "error", "count", "warmup_count",
      "elapsed_s", "rtt_min_ns", "rtt_mean_ns", "rtt_p50_ns", "rtt_p90_ns", "rtt_p99_ns",
      "rtt_p99_9_ns", "rtt_max_ns", "messages_per_s", "bytes_per_s", "seconds_per_copy",
      "cpu_initiator_user_s", "cpu_initiator_system_s", "cpu_responder_user_s",
      "cpu_responder_system_s", "cpu_per_message_s", "wall_s", "idle_wait_cpu_s", "chunk_bytes",
      "pinned",
      "cpu_model", "cores_online", "cores_available", "kernel", "load_average",
      "mq_message_size", "mq_max_messages"};
  constexpr std::size_t kCount = std::size(kColumns);
  const auto& m = report.machine;
  std::string pinned = report.pinned ? fmt::format("{} {}", (*report.pinned)[0], (*report.pinned)[1])
                                     : "no";
  std::vector<std::string> machine = {pinned, m.cpu_model,
                                      std::to_string(m.cores_online),
                                      std::to_string(m.cores_available), m.kernel,
                                      m.load_average, std::to_string(m.mq_message_size),
                                      std::to_string(m.mq_max_messages)};

  std::string out;
  for (std::size_t i = 0; i < kCount; ++i) {
    if (i) out += ',';
    out += kColumns[i];
  }
  out += "\n";
  // Cells by column name: every row has every column, empty where a figure does not apply.
  auto emit = [&](std::vector<std::pair<std::string, std::string>> cells) {
    std::vector<std::string> row(kCount);
    for (auto& [name, value] : cells)
      for (std::size_t i = 0; i < kCount; ++i)
        if (name == kColumns[i]) row[i] = std::move(value);
    for (std::size_t i = 0; i < machine.size(); ++i) row[kCount - machine.size() + i] = machine[i];
    for (std::size_t i = 0; i < kCount; ++i) {
      if (i) out += ',';
      out += csv_field(row[i]);
    }
    out += "\n";
  };
  auto latency_cells = [](const ipcbench::LatencySummary& s) {
    return std::vector<std::pair<std::string, std::string>>{
        {"rtt_min_ns", std::to_string(s.min_ns)}, {"rtt_mean_ns", num(s.mean_ns)},
        {"rtt_p50_ns", std::to_string(s.p50_ns)}, {"rtt_p90_ns", std::to_string(s.p90_ns)},
        {"rtt_p99_ns", std::to_string(s.p99_ns)}, {"rtt_p99_9_ns", std::to_string(s.p999_ns)},
        {"rtt_max_ns", std::to_string(s.max_ns)}, {"count", std::to_string(s.count)}};
  };
  auto cpu_cells = [](const ipcbench::CpuTimes& c) {
    return std::vector<std::pair<std::string, std::string>>{
        {"cpu_initiator_user_s", num(c.initiator_user_s)},
        {"cpu_initiator_system_s", num(c.initiator_sys_s)},
        {"cpu_responder_user_s", num(c.responder_user_s)},
        {"cpu_responder_system_s", num(c.responder_sys_s)}};
  };
  auto join = [](auto a, const auto& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };

  const auto& cl = report.cache_line;
  std::vector<std::pair<std::string, std::string>> cells = {
      {"kind", "limit"}, {"transport", "cache-line"}, {"mode", "latency"}, {"size_bytes", "64"},
      {"ok", cl.ok ? "true" : "false"}, {"error", cl.error}};
  if (cl.ok) cells = join(join(cells, latency_cells(cl.rtt)), cpu_cells(cl.cpu));
  emit(cells);
  for (const auto& mc : report.memcpy_rows)
    emit({{"kind", "limit"}, {"transport", "memcpy"}, {"mode", "throughput"},
          {"size_bytes", std::to_string(mc.size)}, {"ok", "true"},
          {"count", std::to_string(mc.copies)}, {"seconds_per_copy", num(mc.seconds_per_copy)},
          {"messages_per_s", num(1.0 / mc.seconds_per_copy)}, {"bytes_per_s", num(mc.bytes_per_s)}});
  for (const auto& i : report.idle_rows)
    emit({{"kind", "idle"}, {"transport", i.transport.label()}, {"ok", i.ok ? "true" : "false"},
          {"error", i.error}, {"elapsed_s", num(i.idle_s)}, {"idle_wait_cpu_s", num(i.wait_cpu_s)}});
  for (const auto& r : report.runs) {
    cells = {{"kind", "run"},
             {"transport", r.transport.label()},
             {"mode", std::string(ipcbench::to_string(r.mode))},
             {"size_bytes", std::to_string(r.size)},
             {"ok", r.ok ? "true" : "false"},
             {"error", r.error}};
    if (r.ok) {
      if (r.mode == ipcbench::BenchMode::latency) cells = join(cells, latency_cells(r.rtt));
      cells = join(cells, cpu_cells(r.cpu));
      cells = join(cells, std::vector<std::pair<std::string, std::string>>{
                              {"count", std::to_string(r.count)},
                              {"warmup_count", std::to_string(r.warmup_count)},
                              {"elapsed_s", num(r.elapsed_s)},
                              {"messages_per_s", num(r.messages_per_s)},
                              {"bytes_per_s", num(r.bytes_per_s)},
                              {"cpu_per_message_s", num(r.cpu_per_message_s)},
                              {"wall_s", num(r.wall_s)}});
      if (r.transport.transport == ipc::Transport::mq)
        cells.emplace_back("chunk_bytes", std::to_string(r.chunk_bytes));
    }
    emit(cells);
  }
  return out;
}

}  // namespace forkpool::cli::ipc_bench
