#pragma once
// Drawing a PNG with gnuplot (found on PATH), for the --plot of ipc-bench and compare.

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace forkpool::cli {

// The plotting tool is not installed: the caller reports it and still writes the rest.
struct PlotToolMissing : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs gnuplot on `script`, which must set a png terminal and `set output` (stdout), and
// returns the PNG's bytes. Throws PlotToolMissing when gnuplot cannot be found,
// std::runtime_error ("--plot: gnuplot failed: ...") when it fails. Main thread.
std::string gnuplot_png(const std::string& script);

// A gnuplot double-quoted string: backslash escapes apply inside it.
std::string gp_string(const std::string& s);
// An inline data block "$name << EOD ... EOD" of x y pairs.
std::string datablock(const std::string& name, const std::vector<std::pair<double, double>>& xy);

}  // namespace forkpool::cli
