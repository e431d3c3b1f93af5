#include "live_log.hpp"

#include <fmt/core.h>

#include <cstddef>
#include <span>

#include "cli.hpp"
#include "progress.hpp"

namespace forkpool::cli {

LiveLog::LiveLog(const std::string& path) : path_(path) {
  auto opened = ipc::OutputFile::open(path, {.live = true});
  if (!opened) throw InputError(fmt::format("--log {}: {}", path, opened.error().message()));
  file_.emplace(std::move(*opened));
}

void LiveLog::write_line(std::string_view line) {
  if (failed_ || !file_) return;
  std::string text(line);
  text += '\n';
  if (auto written = file_->write(std::as_bytes(std::span(text.data(), text.size()))); !written)
    fail(written.error().message());
}

bool LiveLog::finish() {
  if (file_ && !failed_) {
    if (auto committed = file_->commit(); !committed) fail(committed.error().message());
  }
  file_.reset();
  return !failed_;
}

void LiveLog::fail(const std::string& reason) {
  failed_ = true;
  file_.reset();
  // On a line of its own, not after a progress bar being drawn.
  fmt::print(stderr, "{}forkpool: cannot write the log {}: {}\n", stderr_is_terminal() ? "\r\x1b[2K" : "", path_,
             reason);
}

}  // namespace forkpool::cli
