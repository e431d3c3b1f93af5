#pragma once
// A log written line by line while a command runs (`images --log FILE`), GNU parallel's
// --joblog for forkpool: a person can `tail -f` it, a script can read each line as it comes.

#include <optional>
#include <string>
#include <string_view>

#include "forkpool/ipc/output_file.hpp"

namespace forkpool::cli {

// One log file, opened before any work and written through the one writer, live
// (OutputOptions::live): a regular file is created or truncated when opened and holds each
// line as soon as it is written; a FIFO or device is written in place; "-" is stdout. It is
// not a temporary renamed at the end, since a log that appears only when the batch is over
// tells nothing while it runs; so an interrupted run leaves the lines of the items that ended.
// Main thread (the thread that gets the executor's results).
class LiveLog {
 public:
  // Opens `path`; throws InputError "--log PATH: REASON" when it cannot (nothing done yet).
  explicit LiveLog(const std::string& path);

  // Writes `line` and a newline in one write(2). The first failure prints "forkpool: cannot
  // write the log PATH: REASON" on stderr once; the lines after it are dropped.
  void write_line(std::string_view line);

  // Closes the log (reporting a late write error as above). Returns whether every line was
  // written: the caller exits 2 otherwise (the work was done, its log is not whole).
  bool finish();

 private:
  void fail(const std::string& reason);

  std::string path_;
  std::optional<ipc::OutputFile> file_;
  bool failed_ = false;
};

}  // namespace forkpool::cli
