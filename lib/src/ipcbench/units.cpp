#include "forkpool/ipcbench/units.hpp"

#include <fmt/core.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace forkpool::ipcbench {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits "12.5ms" into 12.5 and "ms"; nullopt when there is no leading number.
std::optional<std::pair<double, std::string>> split_number(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data() || !std::isfinite(value)) return std::nullopt;
  std::string_view rest(end, static_cast<std::size_t>(text.data() + text.size() - end));
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return std::pair{value, lower(rest)};
}

}  // namespace

std::optional<std::size_t> parse_size(std::string_view text) {
  // Digits only before the unit: "1.5K" or "-4" are refused rather than rounded.
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;
  std::size_t value = 0;
  std::from_chars(text.data(), text.data() + digits, value);
  std::string unit = lower(text.substr(digits));
  std::size_t scale = 0;
  if (unit.empty() || unit == "b") scale = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") scale = std::size_t{1} << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib") scale = std::size_t{1} << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib") scale = std::size_t{1} << 30;
  else return std::nullopt;
  if (value == 0 || value > kMaxMessageBytes / scale) return std::nullopt;
  return value * scale;
}

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  auto parts = split_number(text);
  if (!parts || parts->first < 0) return std::nullopt;
  auto [value, unit] = *parts;
  double ns_per_unit = 0;
  if (unit.empty() || unit == "s") ns_per_unit = 1e9;
  else if (unit == "ms") ns_per_unit = 1e6;
  else if (unit == "us") ns_per_unit = 1e3;
  else if (unit == "ns") ns_per_unit = 1;
  else if (unit == "m" || unit == "min") ns_per_unit = 60e9;
  else return std::nullopt;
  double ns = value * ns_per_unit;
  if (ns > 1e9 * 3600 * 24) return std::nullopt;  // a day: surely a typo
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(ns)));
}

std::string format_size(std::size_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB"};
  int unit = 0;
  double value = static_cast<double>(bytes);
  while (unit < 3 && value >= 1024) {
    value /= 1024;
    ++unit;
  }
  if (value == std::floor(value)) return fmt::format("{} {}", static_cast<std::size_t>(value), kUnits[unit]);
  return fmt::format("{:.3g} {}", value, kUnits[unit]);
}

}  // namespace forkpool::ipcbench
