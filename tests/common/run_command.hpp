#pragma once
// Runs a program (the built forkpool CLI, in end-to-end tests) and captures what it did.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace forkpool::testing {

struct CommandOutcome {
  int exit_code = -1;    // the exit status, or 128 + signal number when it was killed
  std::string out;       // everything it wrote to stdout
  std::string err;       // everything it wrote to stderr
};

struct CommandOptions {
  // Its stdout is a pipe whose reader has already gone (`forkpool ... | head -c0`): every write
  // there raises SIGPIPE or fails with EPIPE. `out` stays empty.
  bool stdout_reader_gone = false;
  // Written to its stdin (a pipe, closed after the last byte), when set; otherwise stdin is
  // this test's own.
  std::optional<std::string> stdin_data = std::nullopt;
};

// Runs argv[0] with the arguments (no shell), waits for it, and returns its outcome. Kills it
// with SIGKILL and fails the current test if it runs longer than `limit`. The program starts
// as a shell would start it, whatever this test process did to its own signals: every signal
// at its default action, none blocked.
CommandOutcome run_command(const std::vector<std::string>& argv,
                           std::chrono::seconds limit = std::chrono::seconds(120),
                           CommandOptions options = {});

// Waits (up to a minute) until `pid` blocks and catches SIGINT, as forkpool does from the start
// of a command that handles Ctrl-C: after that a SIGINT is handled, not fatal. False if it never
// did.
bool wait_until_it_blocks_sigint(pid_t pid);

// Waits up to `limit` for the child `pid` to end and returns its wait status; past `limit` it
// kills it (SIGKILL), reaps it and returns nothing.
std::optional<int> wait_for_exit(pid_t pid, std::chrono::seconds limit = std::chrono::seconds(60));

// Starts argv[0] with the arguments (no shell) and stdout/stderr discarded, without waiting:
// for tests that signal the program while it runs. The caller reaps the pid. -1 on failure.
pid_t spawn_quiet(const std::vector<std::string>& argv);

}  // namespace forkpool::testing
