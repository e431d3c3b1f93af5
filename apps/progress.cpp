#include "progress.hpp"

#include <fmt/core.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <utility>

namespace forkpool::cli {

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(std::string label, std::size_t total, std::string unit, bool enabled)
    : label_(std::move(label)), total_(total), unit_(std::move(unit)), enabled_(enabled) {}

void ProgressBar::advance(std::size_t n) {
  done_ += n;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (done_ < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw();
}

void ProgressBar::print_line(std::FILE* out, std::string_view line) {
  if (enabled_) fmt::print(stderr, "\r\x1b[2K");
  fmt::print(out, "{}\n", line);
  std::fflush(out);
  if (enabled_) draw();
}

namespace {

// Columns of the terminal on stderr; 80 when it does not say.
std::size_t terminal_columns() {
  winsize size{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

}  // namespace

std::string progress_line(const ProgressFigures& f, std::size_t columns) {
  const std::size_t room = columns > 0 ? columns - 1 : 0;
  const std::string count = fmt::format("{}/{}", f.done, f.total);
  const std::string unit = f.unit.empty() ? "" : fmt::format(" {}", f.unit);
  const std::string rate = fmt::format("  {:.1f} {}/s", f.rate, f.unit);
  const std::string eta = f.eta_seconds < 0 ? "  ETA --"
                                            : fmt::format("  ETA {}:{:02}", f.eta_seconds / 60, f.eta_seconds % 60);
  const std::string label = f.label.empty() ? "" : fmt::format("{} ", f.label);
  auto bar = [&](std::size_t cells) {
    const std::size_t filled = f.total == 0 ? cells : std::min(cells, cells * f.done / f.total);
    std::string text(cells + 3, '.');
    text.front() = '[';
    std::fill_n(text.begin() + 1, filled, '#');
    text.replace(cells + 1, 2, "] ");
    return text;
  };
  constexpr std::size_t kFullBar = 30, kLeastBar = 10, kBrackets = 3;  // "[", "] "
  // With a bar between `before` and `after`: as wide as the room left allows, kLeastBar to
  // kFullBar cells.
  const std::pair<std::string, std::string> with_bar[] = {
      {label, count + unit + rate + eta}, {"", count + unit + rate + eta}, {"", count + unit + eta}};
  for (const auto& [before, after] : with_bar) {
    const std::size_t text = before.size() + after.size() + kBrackets;
    if (text + kLeastBar <= room) return before + bar(std::min(kFullBar, room - text)) + after;
  }
  for (const std::string& line : {count + unit + eta, count + eta, count})
    if (line.size() <= room) return line;
  return count.substr(0, room);
}

void ProgressBar::draw() {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  ProgressFigures f{label_, done_, total_, unit_, elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0, -1};
  if (f.rate > 0 && done_ < total_) f.eta_seconds = static_cast<long>(static_cast<double>(total_ - done_) / f.rate + 0.5);
  fmt::print(stderr, "\r\x1b[2K{}", progress_line(f, terminal_columns()));
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (!enabled_) return;
  fmt::print(stderr, "\r\x1b[2K");
  std::fflush(stderr);
  enabled_ = false;
}

}  // namespace forkpool::cli
