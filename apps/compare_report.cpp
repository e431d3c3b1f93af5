// The compare report as a table, JSON and CSV.

#include "compare_report.hpp"

#include <fmt/core.h>

#include "forkpool/ipcbench/units.hpp"
#include "ipc_bench_output.hpp"
#include "output_files.hpp"
#include "report_header.hpp"

namespace forkpool::cli::compare_output {
namespace {

using json = nlohmann::ordered_json;

std::string seconds_text(double s) { return ipc_bench::format_ns(s * 1e9); }

std::string bytes_text(std::uint64_t bytes) {
  return bytes == 0 ? "-" : ipcbench::format_size(static_cast<std::size_t>(bytes));
}

json row_json(const compare::Measurement& m) {
  json j;
  j["backend"] = std::string(to_string(m.config.backend));
  j["transport"] = m.config.transport ? json(std::string(ipc::to_string(*m.config.transport))) : json(nullptr);
  j["workers"] = m.config.workers;
  j["jobs"] = m.jobs;
  j["wall_s"] = m.wall_s;
  j["wall_s_min"] = m.wall_s_min;
  j["wall_s_max"] = m.wall_s_max;
  j["wall_s_runs"] = m.wall_runs_s;
  j["speedup"] = m.speedup;
  j["efficiency"] = m.efficiency;
  j["overhead_us_per_job"] = m.overhead_us_per_job;
  j["cpu_s"] = m.cpu_s;
  j["startup_s"] = m.startup_s;
  j["peak_pss_bytes"] = m.peak_pss_bytes;
  j["channel_bytes"] = m.channel_bytes;
  j["failed"] = m.failed;
  if (m.failed > 0) j["first_error"] = m.first_error;
  return j;
}

}  // namespace

void print_table(std::FILE* out, const CompareReport& r) {
  const auto& m = r.machine;
  std::string text = fmt::format("forkpool compare {}: {}\n", r.subcommand, r.workload);
  text += fmt::format("machine: {}, {} cores online, {} available, {}, load {}\n", m.cpu_model,
                      m.cores_online, m.cores_available, m.kernel, m.load_average);
  unsigned repeats = r.result.rows.empty() ? 0 : static_cast<unsigned>(r.result.rows[0].wall_runs_s.size());
  text += fmt::format("wall: median of {} runs [min-max]; speed-up and efficiency against serial; "
                      "overhead: (wall x workers - serial wall) / jobs\n\n",
                      repeats);
  text += fmt::format("{:<20} {:>10} {:>22} {:>8} {:>6} {:>12} {:>9} {:>9} {:>10} {:>10}\n",
                      "configuration", "wall", "[min - max]", "speed-up", "effic", "overhead/job",
                      "CPU", "start-up", "peak PSS", "channels");
  for (const auto& row : r.result.rows) {
    text += fmt::format(
        "{:<20} {:>10} {:>22} {:>7.2f}x {:>6.2f} {:>12} {:>9} {:>9} {:>10} {:>10}{}\n",
        row.config.label(), seconds_text(row.wall_s),
        fmt::format("[{} - {}]", seconds_text(row.wall_s_min), seconds_text(row.wall_s_max)),
        row.speedup, row.efficiency, ipc_bench::format_ns(row.overhead_us_per_job * 1e3),
        seconds_text(row.cpu_s), row.startup_s > 0 ? seconds_text(row.startup_s) : "-",
        bytes_text(row.peak_pss_bytes), bytes_text(row.channel_bytes),
        row.failed > 0 ? fmt::format("  {} failed: {}", row.failed, row.first_error) : "");
  }
  if (!r.checks.empty()) text += "\n";
  for (const auto& c : r.checks) text += c + "\n";
  std::fputs(text.c_str(), out);
}

std::string format_json(const CompareReport& r) {
  json body;
  body["subcommand"] = r.subcommand;
  body["workload"] = r.workload;
  body["settings"] = r.settings;
  body["machine"] = ipc_bench::machine_json(r.machine);
  body["overhead_formula"] = "(wall_s * workers - serial wall_s) / jobs, in microseconds";
  json rows = json::array();
  for (const auto& m : r.result.rows) rows.push_back(row_json(m));
  body["configurations"] = rows;
  body["checks"] = r.checks;
  return json_text(with_report_header("compare", body));
}

std::string format_csv(const CompareReport& r) {
  std::string out =
      "backend,transport,workers,jobs,wall_s,wall_s_min,wall_s_max,speedup,efficiency,"
      "overhead_us_per_job,cpu_s,startup_s,peak_pss_bytes,channel_bytes,failed\n";
  for (const auto& m : r.result.rows)
    out += fmt::format("{},{},{},{},{:.9g},{:.9g},{:.9g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{},{},{}\n",
                       to_string(m.config.backend),
                       m.config.transport ? std::string(ipc::to_string(*m.config.transport)) : "",
                       m.config.workers, m.jobs, m.wall_s, m.wall_s_min, m.wall_s_max, m.speedup,
                       m.efficiency, m.overhead_us_per_job, m.cpu_s, m.startup_s, m.peak_pss_bytes,
                       m.channel_bytes, m.failed);
  return out;
}

}  // namespace forkpool::cli::compare_output
