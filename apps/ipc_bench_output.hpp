#pragma once
// How forkpool ipc-bench presents a report: the table on stdout, JSON, CSV and a gnuplot PNG.

#include <nlohmann/json.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "forkpool/ipcbench/bench.hpp"
#include "gnuplot.hpp"

namespace forkpool::cli::ipc_bench {

// What the report was asked to cover (the settings section of JSON and the table's header).
struct ReportSettings {
  const ipcbench::BenchOptions* options = nullptr;
  std::string duration_text;  // as the run was limited: "300 ms per run" or "1000 per run"
};

// Units for people: "812 ns", "1.23 us", "4.56 ms"; "1.23 M/s"; "3.4 GB/s" (decimal SI).
std::string format_ns(double ns);
std::string format_rate(double per_second);
std::string format_bandwidth(double bytes_per_second);

// "shm-spin 4 KiB latency"
std::string run_name(const ipcbench::RunResult& r);

// The aligned table: header lines (machine, pinning, what latency means), the limit rows
// first, then one row per transport x size with the latency and throughput columns side by
// side, then the idle check and any failures.
void print_table(std::FILE* out, const ipcbench::BenchReport& report, const ReportSettings& s);

// Every figure and the machine description, as JSON and as CSV text. The command writes them
// through the one output writer (output_files.hpp).
std::string format_json(const ipcbench::BenchReport& report, const ReportSettings& s);
std::string format_csv(const ipcbench::BenchReport& report);

// The machine as the JSON reports show it (ipc-bench's, compare's).
nlohmann::ordered_json machine_json(const ipcbench::MachineInfo& m);

// Latency and throughput against message size, log-log, one line per transport and the
// limits dashed, drawn by gnuplot (found on PATH): the PNG's bytes, which gnuplot writes to
// its stdout. Throws PlotToolMissing when gnuplot cannot be found, std::runtime_error when it
// fails.
std::string draw_plot(const ipcbench::BenchReport& report);

}  // namespace forkpool::cli::ipc_bench
