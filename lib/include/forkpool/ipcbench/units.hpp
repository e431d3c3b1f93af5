#pragma once
// The text forms of sizes and durations that ipc-bench takes ("4K", "16M", "0.5s", "200ms").

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace forkpool::ipcbench {

// Largest message ipc-bench accepts: both ends hold a few copies of it at once.
inline constexpr std::size_t kMaxMessageBytes = std::size_t{1} << 30;

// "64", "4K", "4k", "4KiB", "64KB", "1M", "1G" (binary multiples: K = 1024); nullopt for
// anything else, for 0 and above kMaxMessageBytes. Pure function, any thread.
std::optional<std::size_t> parse_size(std::string_view text);

// "2s", "0.5s", "500ms", "250us", "1m", or a bare number of seconds; nullopt for anything else
// or a negative value. Pure function, any thread.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

// "64 B", "4 KiB", "1.5 MiB": exact binary units where they fit, else 3 significant digits.
std::string format_size(std::size_t bytes);

}  // namespace forkpool::ipcbench
