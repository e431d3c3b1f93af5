#pragma once
// What every forkpool subcommand shares: exit codes, the input-error type, the registry
// through which each subcommand adds itself, and the common executor flags.

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "forkpool/exec/executor.hpp"

namespace forkpool::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitBadInput = 1;     // bad usage or input: one line on stderr
inline constexpr int kExitSomeFailed = 2;   // finished, but some items failed (each named)
inline constexpr int kExitInterrupted = 130;

// Bad usage or input found by a command: main prints "forkpool: <what()>" and exits 1.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs the chosen subcommand after parsing and returns its exit code.
using CommandRunner = std::function<int()>;

// Adds one subcommand to `root`; its parse callback stores its runner in `chosen`.
using CommandSetup = void (*)(CLI::App& root, CommandRunner& chosen);

// Each subcommand's file registers itself with a namespace-scope
//   const bool registered = forkpool::cli::register_command(&setup);
// so adding a command touches only its own file and the CMake source list.
bool register_command(CommandSetup setup);

// The flags every batch-running command takes (-j, --backend, --transport, --json, -q, -v).
struct CommonFlags {
  unsigned workers = 0;
  std::string backend = "processes";
  std::string transport = "shm";
  std::string json_path;
  bool quiet = false;
  bool verbose = false;

  // Validated ExecutorOptions; throws InputError for an unknown backend or transport.
  [[nodiscard]] ExecutorOptions executor_options() const;
};
void add_common_flags(CLI::App& command, CommonFlags& flags);

}  // namespace forkpool::cli
