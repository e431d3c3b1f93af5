#pragma once
// --job-timeout, for the commands that run their work as executor jobs (images, matmul).

#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <string>

#include "cli.hpp"

namespace forkpool::cli {

// The most a timeout may be: 30 days, far below what the milliseconds of ExecutorOptions hold.
inline constexpr double kMaxJobTimeoutSeconds = 30.0 * 24 * 3600;

// Adds --job-timeout SECONDS to `command`; `seconds` stays negative when it is not given.
inline void add_job_timeout_flag(CLI::App& command, double& seconds, const std::string& default_text) {
  seconds = -1;
  command
      .add_option("--job-timeout", seconds,
                  "Kill a worker whose job runs longer than this many seconds, retry the job once, "
                  "then fail it; 0: no limit. Needs --backend processes (a thread cannot be "
                  "stopped). Default: " + default_text)
      ->type_name("SECONDS")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            double value = 0;
            if (CLI::detail::lexical_cast(text, value) && value >= 0 && value <= kMaxJobTimeoutSeconds)
              return {};
            return "'" + text + "' is not a number of seconds from 0 (no limit) to 2592000 (30 days)";
          },
          ""));
}

// Sets options.job_timeout from the flag, or to `default_seconds` (0: none) where the backend
// can stop a running job and the flag was not given. An explicit timeout elsewhere is bad usage.
inline void apply_job_timeout(ExecutorOptions& options, double seconds, double default_seconds) {
  if (seconds < 0) {
    if (!stops_running_jobs(options)) return;
    seconds = default_seconds;
  } else if (seconds > 0 && !stops_running_jobs(options)) {
    throw InputError("--job-timeout needs --backend processes: " +
                     std::string(to_string(options.backend)) +
                     " cannot stop a job that is running (use --job-timeout 0 or leave it out)");
  }
  // At least 1 ms: a positive timeout never rounds to "no limit".
  auto ms = static_cast<long long>(std::ceil(seconds * 1000.0));
  options.job_timeout = std::chrono::milliseconds(ms);
}

}  // namespace forkpool::cli
