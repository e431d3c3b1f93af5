#pragma once
// A one-line progress bar on stderr for long batches.

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace forkpool::cli {

// What the bar shows at one moment. Plain value.
struct ProgressFigures {
  std::string_view label;  // "images"
  std::size_t done = 0;
  std::size_t total = 0;
  std::string_view unit;   // "images"
  double rate = 0;         // units per second
  long eta_seconds = -1;   // negative: not known yet (or done)
};

// The bar's line for a terminal `columns` wide, in at most columns - 1 of them (a character in
// the last column makes some terminals wrap): "images [#######.......] 12/40 images  3.1
// images/s  ETA 0:09". Narrower terminals drop parts rather than wrap, least useful first: the
// bar shrinks to 10 cells, then the label goes, then the rate, then the bar, then the unit,
// then the ETA; what is left (the count) is cut to fit. ASCII only, so one char per column.
std::string progress_line(const ProgressFigures& figures, std::size_t columns);

// Shows "label  done/total unit  rate unit/s  ETA" on stderr, redrawn at most ~10 times a
// second, as wide as the terminal is at each redraw (so a resized window is followed without a
// SIGWINCH handler), only when `enabled` (pass !quiet && stderr_is_terminal(): a log file or a pipe gets
// nothing). Call from one thread.
class ProgressBar {
 public:
  ProgressBar(std::string label, std::size_t total, std::string unit, bool enabled);
  ~ProgressBar() { finish(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void advance(std::size_t n = 1);
  // Prints `line` and a newline to `out` (stdout or stderr) above the bar: the bar is cleared,
  // the line printed and flushed (a log reading a pipe sees it now), the bar drawn again.
  void print_line(std::FILE* out, std::string_view line);
  // Clears the line so that what is printed next starts clean. Idempotent.
  void finish();

 private:
  void draw();

  std::string label_;
  std::size_t total_;
  std::string unit_;
  bool enabled_;
  std::size_t done_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
};

bool stderr_is_terminal();

}  // namespace forkpool::cli
