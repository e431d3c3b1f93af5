// The ipc-bench plot: the gnuplot script of latency and throughput against size.

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "forkpool/ipcbench/units.hpp"
#include "gnuplot.hpp"
#include "ipc_bench_output.hpp"

namespace forkpool::cli::ipc_bench {
namespace {

using ipcbench::BenchMode;

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

}  // namespace

std::string draw_plot(const ipcbench::BenchReport& report) { return gnuplot_png(script(report)); }

}  // namespace forkpool::cli::ipc_bench
