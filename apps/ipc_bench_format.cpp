// Units for people.

#include <fmt/core.h>

#include <cmath>

#include "forkpool/ipcbench/units.hpp"
#include "ipc_bench_output.hpp"

namespace forkpool::cli::ipc_bench {
namespace {

// Three significant digits in the largest unit that keeps the value at 1 or more.
std::string scaled(double value, const double* scales, const char* const* units, int n) {
  if (!std::isfinite(value)) return "-";
  int u = 0;
  while (u + 1 < n && std::abs(value) >= scales[u + 1] * 0.9995) ++u;
  double v = value / scales[u];
  if (std::abs(v) >= 99.95) return fmt::format("{:.0f} {}", v, units[u]);
  if (std::abs(v) >= 9.995) return fmt::format("{:.1f} {}", v, units[u]);
  return fmt::format("{:.2f} {}", v, units[u]);
}

}  // namespace

std::string format_ns(double ns) {
  static constexpr double kScales[] = {1, 1e3, 1e6, 1e9};
  static constexpr const char* kUnits[] = {"ns", "us", "ms", "s"};
  return scaled(ns, kScales, kUnits, 4);
}

std::string format_rate(double per_second) {
  static constexpr double kScales[] = {1, 1e3, 1e6, 1e9};
  static constexpr const char* kUnits[] = {"/s", "k/s", "M/s", "G/s"};
  return scaled(per_second, kScales, kUnits, 4);
}

std::string format_bandwidth(double bytes_per_second) {
  static constexpr double kScales[] = {1, 1e3, 1e6, 1e9, 1e12};
  static constexpr const char* kUnits[] = {"B/s", "kB/s", "MB/s", "GB/s", "TB/s"};
  return scaled(bytes_per_second, kScales, kUnits, 5);
}

std::string run_name(const ipcbench::RunResult& r) {
  return fmt::format("{} {} {}", r.transport.label(), ipcbench::format_size(r.size),
                     ipcbench::to_string(r.mode));
}

}  // namespace forkpool::cli::ipc_bench
