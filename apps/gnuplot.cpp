// gnuplot, fed a script with inline data through a pipe, the PNG read back from its stdout:
// the plots of ipc-bench and compare.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "forkpool/ipc/sys_call.hpp"
#include "forkpool/ipc/unique_fd.hpp"
#include "gnuplot.hpp"

extern char** environ;

namespace forkpool::cli {
namespace {

std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("--plot: " + what);
}

// Runs gnuplot with `input` on its stdin; `out` gets what it wrote to stdout (the PNG), `err`
// what it wrote to stderr. Returns its wait status.
int run_gnuplot(const std::string& gnuplot, const std::string& input, std::string& out, std::string& err) {
  int pipes[3][2];
  const char* names[3] = {"gnuplot stdin", "gnuplot stdout", "gnuplot stderr"};
  ipc::UniqueFd ends[3][2];
  for (int i = 0; i < 3; ++i) {
    if (auto r = ipc::sys_call("pipe2", names[i], [&] { return ::pipe2(pipes[i], O_CLOEXEC); }); !r)
      fail(r.error().message());
    ends[i][0].reset(pipes[i][0]);
    ends[i][1].reset(pipes[i][1]);
  }
  ipc::UniqueFd& in_write = ends[0][1];

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, ends[0][0].get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, ends[1][1].get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, ends[2][1].get(), STDERR_FILENO);
  // The child must not start with this process's blocked signals or a SIGPIPE left ignored.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char* argv[] = {const_cast<char*>(gnuplot.c_str()), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, gnuplot.c_str(), &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) fail(fmt::format("cannot start {}: {}", gnuplot, std::strerror(rc)));
  for (int i = 0; i < 3; ++i) ends[i][i == 0 ? 0 : 1].reset();  // the child's ends

  // Feed the script and collect both outputs together, so that no pipe can fill and stall.
  std::size_t written = 0;
  char buf[65536];
  ipc::UniqueFd* readers[2] = {&ends[1][0], &ends[2][0]};
  std::string* sinks[2] = {&out, &err};
  while (readers[0]->valid() || readers[1]->valid()) {
    pollfd fds[3] = {{readers[0]->valid() ? readers[0]->get() : -1, POLLIN, 0},
                     {readers[1]->valid() ? readers[1]->get() : -1, POLLIN, 0},
                     {in_write.valid() ? in_write.get() : -1, POLLOUT, 0}};
    if (!ipc::sys_call("poll", "gnuplot", [&] { return ::poll(fds, 3, -1); })) break;
    if (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) {
      auto n = ipc::sys_call("write", "gnuplot stdin", [&] {
        return ::write(in_write.get(), input.data() + written, input.size() - written);
      });
      if (n) written += static_cast<std::size_t>(*n);
      if (!n || written == input.size()) in_write.reset();  // EOF ends gnuplot's input
    }
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      auto n = ipc::sys_call("read", names[i + 1], [&] { return ::read(readers[i]->get(), buf, sizeof buf); });
      if (!n || *n == 0) readers[i]->reset();
      else sinks[i]->append(buf, static_cast<std::size_t>(*n));
    }
  }
  in_write.reset();
  int status = 0;
  (void)ipc::sys_call("waitpid", "gnuplot", [&] { return ::waitpid(pid, &status, 0); });
  return status;
}

}  // namespace

std::string gnuplot_png(const std::string& script) {
  std::string gnuplot = find_on_path("gnuplot");
  if (gnuplot.empty())
    throw PlotToolMissing("--plot: gnuplot not found on PATH (Debian: apt-get install "
                          "gnuplot-nox); the other outputs were written, the plot was not");
  // gnuplot writes the PNG to its stdout: the command writes it to the file as it writes any.
  std::string png, messages;
  int status = run_gnuplot(gnuplot, script, png, messages);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || png.empty()) {
    while (!messages.empty() && (messages.back() == '\n' || messages.back() == ' ')) messages.pop_back();
    fail(fmt::format("gnuplot failed{}{}", messages.empty() ? "" : ": ", messages));
  }
  return png;
}

std::string gp_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string datablock(const std::string& name, const std::vector<std::pair<double, double>>& xy) {
  std::string out = "$" + name + " << EOD\n";
  for (auto [x, y] : xy) out += fmt::format("{:.9g} {:.9g}\n", x, y);
  return out + "EOD\n";
}

}  // namespace forkpool::cli
