// forkpool: one binary, git-style subcommands (the images commands loaded from a module of
// their own: images_module.hpp). Parses, dispatches, and turns every error into one line on
// stderr and an exit code.

#include <signal.h>

#include <fmt/core.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <system_error>
#include <vector>

#include "cli.hpp"
#include "images_module.hpp"
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
  if (!b) throw InputError("unknown backend '" + backend + "' (processes, threads, serial, mpi)");
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

// The names of every value of an enum list, for CLI11's IsMember: the choices --help shows.
template <class Enum, std::size_t N>
std::vector<std::string> names_of(const Enum (&values)[N]) {
  std::vector<std::string> names;
  for (Enum v : values) names.emplace_back(to_string(v));
  return names;
}

// More than this many workers is a typo, not a machine: fork and fd limits would refuse it later.
constexpr unsigned kMaxWorkers = 4096;

void add_common_flags(CLI::App& command, CommonFlags& flags) {
  command.add_option("-j,--workers", flags.workers, "Workers (default: the cores available)")
      ->type_name("N")
      ->check(whole_number(1, kMaxWorkers));
  command.add_option("--backend", flags.backend,
                     "What runs the jobs (mpi: under mpirun, rank 0 coordinates and each other "
                     "rank runs one job at a time)")
      ->type_name("BACKEND")
      ->check(CLI::IsMember(names_of(kAllBackends)))
      ->capture_default_str();
  command.add_option("--transport", flags.transport, "How jobs and results travel (processes)")
      ->type_name("TRANSPORT")
      ->check(CLI::IsMember(names_of(ipc::kAllTransports)))
      ->capture_default_str();
  command.add_option("--json", flags.json_path, "Write a machine-readable report to FILE (- for stdout)")
      ->type_name("FILE");
  command.add_flag("-q,--quiet", flags.quiet, "Print only errors and warnings (a worker lost)");
  command.add_flag("-v,--verbose", flags.verbose, "Print more detail");
}

namespace {

// What is still buffered for stdout goes now, so that a failure to deliver it is named:
// "forkpool: cannot write to stdout: Broken pipe", and a command that had finished exits 2
// (its work is done, an output of it is missing), as when a report file cannot be written.
int finish_stdout(int exit_code) {
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return exit_code;
  fmt::print(stderr, "forkpool: cannot write to stdout: {}\n", std::strerror(errno));
  return exit_code == kExitOk ? kExitSomeFailed : exit_code;
}

}  // namespace

}  // namespace forkpool::cli

int main(int argc, char** argv) {
  using namespace forkpool::cli;
  // SIGPIPE is decided here, once, for the whole process: ignored. A write to a pipe whose
  // reader has gone (`forkpool ... --json - | head -c1`) then fails with EPIPE, which the
  // writer names in one line and turns into exit 2, instead of killing forkpool silently in
  // the middle of a batch, with workers left to die by PDEATHSIG and temporaries behind.
  // Library code never relies on this (channels guard their own pipe writes).
  ::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"forkpool: CPU-bound image and matrix work on process and thread pools, "
               "and what each way of running it costs"};
  // The usage line says "forkpool", not the path it was started by (build/apps/forkpool).
  app.name("forkpool");
  app.set_version_flag("--version", "forkpool " FORKPOOL_VERSION);
  app.require_subcommand(0, 1);
  CommandRunner chosen;
  load_images_commands_if_needed(argc, argv);
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
  if (!chosen) {  // no subcommand: a usage error, answered with the help (as git does)
    fmt::print("{}", app.help());
    return finish_stdout(kExitBadInput);
  }
  try {
    return finish_stdout(chosen());
  } catch (const std::system_error& e) {
    // fmt::print throws this when stdout cannot take what it is given (its reader went away
    // mid-run): the command was cut short by its output, not by bad input.
    if (e.code() != std::errc::broken_pipe && e.code() != std::errc::no_space_on_device) {
      fmt::print(stderr, "forkpool: {}\n", e.what());
      return kExitBadInput;
    }
    fmt::print(stderr, "forkpool: cannot write to stdout: {}\n", e.code().message());
    return kExitSomeFailed;
  } catch (const InputError& e) {
    fmt::print(stderr, "forkpool: {}\n", e.what());
    return kExitBadInput;
  } catch (const std::exception& e) {
    fmt::print(stderr, "forkpool: {}\n", e.what());
    return kExitBadInput;
  }
}
