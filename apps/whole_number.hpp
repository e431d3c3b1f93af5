#pragma once
// A CLI11 check for options that take a count or a size: a whole number in [min, max], refused
// with a line a person can read ("--tile: '1e3' is not a whole number from 1 to 1048576") and
// before CLI11 converts it, so an out-of-range value never wraps or saturates.

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <charconv>
#include <cstdint>
#include <string>

namespace forkpool::cli {

inline CLI::Validator whole_number(std::uint64_t min, std::uint64_t max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        std::uint64_t value = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max)
          return fmt::format("'{}' is not a whole number from {} to {}", text, min, max);
        return {};
      },
      fmt::format("{}..{}", min, max));
}

}  // namespace forkpool::cli
