#pragma once
// How forkpool ipc-bench presents a report: the table on stdout, JSON, CSV and a gnuplot PNG.

#include <cstdio>
#include <stdexcept>
#include <string>

#include "forkpool/ipcbench/bench.hpp"

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

// Every figure and the machine description. Written to a temporary name in the target's
// directory and renamed into place; throws std::runtime_error naming the file on failure.
void write_json(const std::string& path, const ipcbench::BenchReport& report,
                const ReportSettings& s);
void write_csv(const std::string& path, const ipcbench::BenchReport& report);

// The plotting tool is not installed: the caller reports it and still writes the rest.
struct PlotToolMissing : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Latency and throughput against message size, log-log, one line per transport and the
// limits dashed, drawn by gnuplot (found on PATH) into `path`. Throws PlotToolMissing when
// gnuplot cannot be found, std::runtime_error when it fails.
void write_plot(const std::string& path, const ipcbench::BenchReport& report);

// Writes `content` to `path` through a temporary file in the same directory and a rename, so
// that an interrupted run never leaves a half-written file. Throws std::runtime_error.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace forkpool::cli::ipc_bench
