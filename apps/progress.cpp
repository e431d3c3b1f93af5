#include "progress.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>

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

void ProgressBar::draw() {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  constexpr int kWidth = 30;
  int filled = total_ == 0 ? kWidth : static_cast<int>(kWidth * done_ / total_);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::string eta = "--";
  if (rate > 0 && done_ < total_) {
    auto left = static_cast<long>(static_cast<double>(total_ - done_) / rate + 0.5);
    eta = fmt::format("{}:{:02}", left / 60, left % 60);
  }
  fmt::print(stderr, "\r\x1b[2K{} [{}] {}/{} {}  {:.1f} {}/s  ETA {}", label_, bar, done_, total_,
             unit_, rate, unit_, eta);
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (!enabled_) return;
  fmt::print(stderr, "\r\x1b[2K");
  std::fflush(stderr);
  enabled_ = false;
}

}  // namespace forkpool::cli
