#pragma once
// How forkpool compare presents its measurements: the table on stdout, JSON and CSV.

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "forkpool/compare/measure.hpp"
#include "forkpool/ipcbench/machine.hpp"

namespace forkpool::cli::compare_output {

struct CompareReport {
  std::string subcommand;              // "tasks", "matmul", "images"
  std::string workload;                // for people: "tiny, 20000 jobs"
  nlohmann::ordered_json settings;     // what was asked, as JSON
  ipcbench::MachineInfo machine;
  compare::CompareResult result;
  std::vector<std::string> checks;     // what was checked and found: "every C equals the serial C"
};

// The header (workload, machine, how to read it), one row per configuration, the checks.
void print_table(std::FILE* out, const CompareReport& report);

// With the report header (tool, version, command, ...): settings, machine, one object per
// configuration with every figure, checks.
std::string format_json(const CompareReport& report);
// One row per configuration, the figures of the JSON's configurations.
std::string format_csv(const CompareReport& report);

// Speed-up against workers, one line per backend (and transport) with the linear ideal dashed,
// beside the overhead per job on a log scale: the PNG's bytes, drawn by gnuplot. Throws
// PlotToolMissing when gnuplot cannot be found, std::runtime_error when it fails.
std::string draw_plot(const CompareReport& report);

}  // namespace forkpool::cli::compare_output
