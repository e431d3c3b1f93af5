// The compare plot: speed-up against workers per backend/transport, beside the per-job
// overhead (log scale), drawn by gnuplot.

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "compare_report.hpp"
#include "gnuplot.hpp"

namespace forkpool::cli::compare_output {
namespace {

// "threads", "processes/shm": one line of the plot each.
std::string series_name(const compare::Configuration& c) {
  std::string out(to_string(c.backend));
  if (c.transport) out += "/" + std::string(ipc::to_string(*c.transport));
  return out;
}

std::string script(const CompareReport& report) {
  std::vector<std::string> names;
  std::map<std::string, std::vector<std::pair<double, double>>> speedup, overhead;
  unsigned max_workers = 1;
  for (const auto& m : report.result.rows) {
    if (m.config.backend == Backend::serial) continue;  // the baseline: 1 by definition
    std::string name = series_name(m.config);
    if (std::ranges::find(names, name) == names.end()) names.push_back(name);
    double w = m.config.workers;
    max_workers = std::max(max_workers, m.config.workers);
    speedup[name].emplace_back(w, m.speedup);
    // A log scale has no room for 0 or less (as fast as serial per worker, or better).
    if (m.overhead_us_per_job > 0) overhead[name].emplace_back(w, m.overhead_us_per_job);
  }
  std::string s = "set encoding utf8\n";
  s += "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
       "  set terminal pngcairo size 1600,700 noenhanced font \",11\"\n"
       "} else {\n"
       "  set terminal png size 1600,700 noenhanced\n"
       "}\n"
       "set output\n";
  for (std::size_t i = 0; i < names.size(); ++i) {
    s += datablock(fmt::format("speedup{}", i), speedup[names[i]]);
    s += datablock(fmt::format("overhead{}", i), overhead[names[i]]);
  }
  s += datablock("ideal", {{1, 1}, {static_cast<double>(max_workers), static_cast<double>(max_workers)}});
  s += fmt::format("set multiplot layout 1,2 title {}\n",
                   gp_string(fmt::format("forkpool compare {}: {} ({}, {} cores, load {})",
                                         report.subcommand, report.workload,
                                         report.machine.cpu_model, report.machine.cores_online,
                                         report.machine.load_average)));
  s += "set grid\nset key outside below horizontal\nset xlabel \"workers\"\n";
  s += fmt::format("set xrange [0.8:{}]\nset xtics 1\n", max_workers + 0.2);
  s += "set title \"speed-up over serial (median wall time)\"\nset ylabel \"speed-up\"\n"
       "set yrange [0:*]\n";
  std::string p = "plot ";
  for (std::size_t i = 0; i < names.size(); ++i)
    p += fmt::format("$speedup{} using 1:2 with linespoints lw 2 pt 7 title {}, ", i, gp_string(names[i]));
  s += p + "$ideal using 1:2 with lines dt 2 lw 2 lc rgb \"black\" title \"linear (ideal)\"\n";
  s += "set title \"overhead per job: (wall x workers - serial wall) / jobs\"\n"
       "set ylabel \"overhead per job\"\nset logscale y\nset yrange [*:*]\n"
       "set format y \"%.0s %cs\"\n";
  std::string q;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (overhead[names[i]].empty()) continue;
    // microseconds in the data, seconds on the axis (gnuplot's %c prefixes)
    q += fmt::format("{}$overhead{} using 1:($2*1e-6) with linespoints lw 2 pt 7 title {}",
                     q.empty() ? "plot " : ", ", i, gp_string(names[i]));
  }
  if (q.empty()) q = "set label 1 \"no configuration cost more than serial per job\" at graph 0.5,0.5 center\n"
                     "unset logscale y\nplot [0:1] [0:1] NaN notitle";
  s += q + "\nunset multiplot\nset output\n";
  return s;
}

}  // namespace

std::string draw_plot(const CompareReport& report) { return gnuplot_png(script(report)); }

}  // namespace forkpool::cli::compare_output
