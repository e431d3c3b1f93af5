#pragma once
// What the subcommands of `forkpool compare` share: the common flags, the measuring and
// reporting of a workload, and the registry through which a subcommand built apart (images,
// only where OpenCV is) adds itself under `compare`. Main thread only.

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "compare_report.hpp"
#include "forkpool/compare/held_interrupts.hpp"
#include "forkpool/compare/measure.hpp"

namespace forkpool::cli {

// The flags of every compare subcommand.
struct CompareFlags {
  std::vector<std::string> backends;
  std::vector<std::string> transports;
  std::vector<unsigned> workers;
  unsigned repeats = 3;
  std::string json_path, csv_path, plot_path;
  bool quiet = false;
};

// Adds --backends, --transports, -j/--workers, --repeats, --json, --csv, --plot and -q.
void add_compare_flags(CLI::App& cmd, CompareFlags& f);

// Measures `workload` on every configuration the flags ask for and writes what they ask.
// `checks` are filled by the caller's workload as it runs (outputs compared), and read after.
// `held` is the caller's, made before anything the caller must clean up. Returns the exit code.
int run_compare(const CompareFlags& f, compare_output::CompareReport report,
                const compare::Workload& workload,
                const std::function<std::vector<std::string>()>& checks, compare::HeldInterrupts& held);

// Adds one subcommand to `compare`; its parse callback stores its runner in `chosen`.
using CompareSubcommandSetup = void (*)(CLI::App& compare, CommandRunner& chosen);

// A subcommand's file registers itself with a namespace-scope
//   const bool registered = forkpool::cli::register_compare_subcommand(&setup);
// and is added after tasks and matmul.
bool register_compare_subcommand(CompareSubcommandSetup setup);

}  // namespace forkpool::cli
