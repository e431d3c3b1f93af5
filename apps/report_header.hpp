#pragma once
// The fields every JSON report of forkpool starts with, so that a script reading reports of
// several commands (or versions) can tell what made each one before it reads the rest.

#include <nlohmann/json.hpp>

#include <string_view>

namespace forkpool::cli {

// Bumped when a field of a report changes meaning or goes away (adding fields does not).
inline constexpr int kReportSchemaVersion = 1;

// {"tool": "forkpool", "version", "command", "started_at" (UTC, ISO 8601, when this process
// started), "schema_version"} followed by `body`'s fields in their order. Main thread.
nlohmann::ordered_json with_report_header(std::string_view command, const nlohmann::json& body);
nlohmann::ordered_json with_report_header(std::string_view command, const nlohmann::ordered_json& body);

}  // namespace forkpool::cli
