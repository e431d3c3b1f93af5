#include "report_header.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>

namespace forkpool::cli {
namespace {

// Taken when the program starts (static initialisation), not when the report is written, so
// that started_at means what it says however long the command ran.
const auto kStartedAt = std::chrono::system_clock::now();

std::string started_at() {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(kStartedAt);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(seconds)));
}

template <class Json>
nlohmann::ordered_json prepend_header(std::string_view command, const Json& body) {
  nlohmann::ordered_json report{{"tool", "forkpool"},
                                {"version", FORKPOOL_VERSION},
                                {"command", command},
                                {"started_at", started_at()},
                                {"schema_version", kReportSchemaVersion}};
  for (const auto& [key, value] : body.items()) report[key] = value;
  return report;
}

}  // namespace

nlohmann::ordered_json with_report_header(std::string_view command, const nlohmann::json& body) {
  return prepend_header(command, body);
}

nlohmann::ordered_json with_report_header(std::string_view command, const nlohmann::ordered_json& body) {
  return prepend_header(command, body);
}

}  // namespace forkpool::cli
