// The ipc-bench plot: gnuplot, fed a script with inline data through a pipe, the PNG read
// back from its stdout.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "forkpool/ipc/sys_call.hpp"
#include "forkpool/ipc/unique_fd.hpp"
#include "forkpool/ipcbench/units.hpp"
#include "ipc_bench_output.hpp"

extern char** environ;

namespace forkpool::cli::ipc_bench {
namespace {

using ipcbench::BenchMode;

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

// A gnuplot double-quoted string: backslash escapes apply inside it.
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

std::string script(const ipcbench::BenchReport& report) {
  std::vector<std::string> labels;  // transports in the order measured
  std::map<std::string, std::vector<std::pair<double, double>>> latency, throughput;
  for (const auto& r : report.runs) {
    if (!r.ok) continue;
    std::string label = r.transport.label();
    if (std::find(labels.begin(), labels.end(), label) == labels.end()) labels.push_back(label);
    double x = static_cast<double>(r.size);
    if (r.mode == BenchMode::latency) latency[label].emplace_back(x, static_cast<double>(r.rtt.p50_ns) * 1e-9);
    else throughput[label].emplace_back(x, r.bytes_per_s);
  }
  std::vector<std::pair<double, double>> memcpy_time, memcpy_rate, line;
  double min_size = 0, max_size = 0;
  for (const auto& m : report.memcpy_rows) {
    double x = static_cast<double>(m.size);
    memcpy_time.emplace_back(x, m.seconds_per_copy);
    memcpy_rate.emplace_back(x, m.bytes_per_s);
    min_size = min_size == 0 ? x : std::min(min_size, x);
    max_size = std::max(max_size, x);
  }
  if (report.cache_line.ok && max_size > 0) {
    line.emplace_back(min_size, static_cast<double>(report.cache_line.rtt.p50_ns) * 1e-9);
    line.emplace_back(max_size, static_cast<double>(report.cache_line.rtt.p50_ns) * 1e-9);
  }

  std::string s;
  s += "set encoding utf8\n";
  s += "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
       "  set terminal pngcairo size 1600,700 noenhanced font \",11\"\n"
       "} else {\n"
       "  set terminal png size 1600,700 noenhanced\n"
       "}\n";
  s += "set output\n";  // stdout
  for (std::size_t i = 0; i < labels.size(); ++i) {
    s += datablock(fmt::format("lat{}", i), latency[labels[i]]);
    s += datablock(fmt::format("thr{}", i), throughput[labels[i]]);
  }
  s += datablock("memcpy_time", memcpy_time) + datablock("memcpy_rate", memcpy_rate) +
       datablock("cache_line", line);

  std::string xtics;
  for (const auto& m : report.memcpy_rows)
    xtics += fmt::format("{}{} {}", xtics.empty() ? "" : ", ",
                         gp_string(ipcbench::format_size(m.size)), m.size);
  std::string pin = report.pinned ? fmt::format("pinned to CPUs {} and {}", (*report.pinned)[0],
                                                (*report.pinned)[1])
                                  : "not pinned";
  s += fmt::format("set multiplot layout 1,2 title {}\n",
                   gp_string(fmt::format("forkpool ipc-bench: {}, {} cores, {}",
                                      report.machine.cpu_model, report.machine.cores_online, pin)));
  s += "set logscale xy\nset grid\nset key outside below horizontal\nset xlabel \"message size\"\n";
  if (!xtics.empty()) s += "set xtics (" + xtics + ")\n";
  if (min_size == max_size && min_size > 0)
    s += fmt::format("set xrange [{}:{}]\n", min_size / 2, max_size * 2);

  auto plot = [&](const char* prefix, const std::string& limits) {
    std::string p = "plot ";
    bool any = false;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const auto& data = std::string(prefix) == "lat" ? latency[labels[i]] : throughput[labels[i]];
      if (data.empty()) continue;
      p += fmt::format("${}{} using 1:2 with linespoints lw 2 pt 7 title {}, ", prefix, i,
                       gp_string(labels[i]));
      any = true;
    }
    p += limits;
    (void)any;
    return p + "\n";
  };
  s += "set title \"latency: round-trip time p50 (full-size message each way)\"\n"
       "set ylabel \"round-trip time\"\nset format y \"%.0s %cs\"\n";
  std::string lat_limits = "$memcpy_time using 1:2 with lines dt 2 lw 2 lc rgb \"black\" "
                           "title \"memcpy, one copy (limit)\"";
  if (!line.empty())
    lat_limits += ", $cache_line using 1:2 with lines dt 3 lw 2 lc rgb \"red\" "
                  "title \"cache-line round trip (limit)\"";
  s += plot("lat", lat_limits);
  s += "set title \"throughput: payload bytes per second, one way\"\n"
       "set ylabel \"payload bytes per second\"\nset format y \"%.0s %cB/s\"\n";
  s += plot("thr", "$memcpy_rate using 1:2 with lines dt 2 lw 2 lc rgb \"black\" "
                   "title \"memcpy bandwidth (limit)\"");
  s += "unset multiplot\nset output\n";
  return s;
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

std::string draw_plot(const ipcbench::BenchReport& report) {
  std::string gnuplot = find_on_path("gnuplot");
  if (gnuplot.empty())
    throw PlotToolMissing("--plot: gnuplot not found on PATH (Debian: apt-get install "
                          "gnuplot-nox); the other outputs were written, the plot was not");
  // gnuplot writes the PNG to its stdout: the command writes it to the file as it writes any.
  std::string png, messages;
  int status = run_gnuplot(gnuplot, script(report), png, messages);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || png.empty()) {
    while (!messages.empty() && (messages.back() == '\n' || messages.back() == ' ')) messages.pop_back();
    fail(fmt::format("gnuplot failed{}{}", messages.empty() ? "" : ": ", messages));
  }
  return png;
}

}  // namespace forkpool::cli::ipc_bench
