// forkpool: one binary, git-style subcommands. Parses, dispatches, and turns every error into
// one line on stderr and an exit code.

#include <fmt/core.h>

#include <cstdio>
#include <exception>
#include <vector>

#include "cli.hpp"
#include "progress.hpp"
#include "whole_number.hpp"

namespace forkpool::cli {

namespace {
std::vector<CommandSetup>& registry() {
  static std::vector<CommandSetup> setups;
  return setups;
}
}  // namespace

bool register_command(CommandSetup setup) {
  registry().push_back(setup);
  return true;
}

ExecutorOptions CommonFlags::executor_options() const {
  ExecutorOptions options;
  auto b = parse_backend(backend);
  if (!b) throw InputError("unknown backend '" + backend + "' (processes, threads, serial)");
  auto t = ipc::parse_transport(transport);
  if (!t) throw InputError("unknown transport '" + transport + "' (shm, pipe, unix, tcp, mq)");
  options.backend = *b;
  options.transport = *t;
  options.workers = workers == 0 ? available_cores() : workers;
  // A worker that cannot be started (process or fd limits) shrinks the pool: say so at once,
  // on a line of its own even when a progress bar is drawn.
  options.on_warning = [](const std::string& line) {
    fmt::print(stderr, "{}forkpool: {}\n", stderr_is_terminal() ? "\r\x1b[2K" : "", line);
  };
  return options;
}

// More than this many workers is a typo, not a machine: fork and fd limits would refuse it later.
constexpr unsigned kMaxWorkers = 4096;

void add_common_flags(CLI::App& command, CommonFlags& flags) {
  command.add_option("-j,--workers", flags.workers, "Workers (default: the cores available)")
      ->check(whole_number(1, kMaxWorkers));
  command.add_option("--backend", flags.backend, "processes | threads | serial")
      ->capture_default_str();
  command.add_option("--transport", flags.transport, "shm | pipe | unix | tcp | mq")
      ->capture_default_str();
  command.add_option("--json", flags.json_path, "Write a machine-readable report to FILE (- for stdout)");
  command.add_flag("-q,--quiet", flags.quiet, "Print only errors and warnings (a worker lost)");
  command.add_flag("-v,--verbose", flags.verbose, "Print more detail");
}

}  // namespace forkpool::cli

int main(int argc, char** argv) {
  using namespace forkpool::cli;
  CLI::App app{"forkpool: CPU-bound image and matrix work on process and thread pools, "
               "and what each way of running it costs"};
  app.set_version_flag("--version", "forkpool " FORKPOOL_VERSION);
  app.require_subcommand(0, 1);
  CommandRunner chosen;
  for (CommandSetup setup : registry()) setup(app, chosen);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "forkpool: {}\n", e.what());
    return kExitBadInput;
  }
  if (!chosen) {
    fmt::print("{}", app.help());
    return kExitOk;
  }
  try {
    return chosen();
  } catch (const InputError& e) {
    fmt::print(stderr, "forkpool: {}\n", e.what());
    return kExitBadInput;
  } catch (const std::exception& e) {
    fmt::print(stderr, "forkpool: {}\n", e.what());
    return kExitBadInput;
  }
}
