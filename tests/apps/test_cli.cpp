// What the forkpool command line does before any subcommand runs: help, version, bad usage.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "common/run_command.hpp"

namespace forkpool::testing {
namespace {

CommandOutcome forkpool(std::vector<std::string> args) {
  args.insert(args.begin(), FORKPOOL_BINARY);
  return run_command(args);
}

// Like git: no subcommand is a usage error, answered with the help.
TEST(Cli, BareForkpoolPrintsHelpAndExitsOne) {
  CommandOutcome r = forkpool({});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("images"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("matmul"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ipc-bench"), std::string::npos) << r.out;
}

TEST(Cli, HelpAndVersionExitZero) {
  CommandOutcome help = forkpool({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("images"), std::string::npos) << help.out;
  CommandOutcome version = forkpool({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("forkpool ", 0), 0u) << version.out;
}

TEST(Cli, AnUnknownSubcommandIsOneLineAndExitOne) {
  CommandOutcome r = forkpool({"resize"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("forkpool: ", 0), 0u) << r.err;
}

// Scripts that read reports of several commands tell them apart by the same leading fields.
TEST(Cli, EveryJsonReportStartsWithTheSameFields) {
  const std::vector<std::vector<std::string>> commands = {
      {"matmul", "--random", "8x8x8", "--backend", "serial", "--json", "-", "-q"},
      {"ipc-bench", "--transport", "pipe", "--sizes", "64", "--mode", "latency", "--count", "10",
       "--json", "-", "-q"},
  };
  for (const auto& command : commands) {
    CommandOutcome r = forkpool(command);
    ASSERT_EQ(r.exit_code, 0) << command[0] << ": " << r.err;
    auto report = nlohmann::ordered_json::parse(r.out);
    std::vector<std::string> leading;
    for (const auto& [key, value] : report.items()) {
      if (leading.size() == 5) break;
      leading.push_back(key);
    }
    EXPECT_EQ(leading, (std::vector<std::string>{"tool", "version", "command", "started_at",
                                                 "schema_version"}))
        << command[0];
    EXPECT_EQ(report["tool"], "forkpool");
    EXPECT_EQ(report["command"], command[0]);
    EXPECT_EQ(report["schema_version"], 1);
    // UTC, to the second: 2026-11-30T09:41:07Z
    EXPECT_EQ(report["started_at"].get<std::string>().size(), 20u) << report["started_at"];
    EXPECT_EQ(report["started_at"].get<std::string>().back(), 'Z');
  }
}

}  // namespace
}  // namespace forkpool::testing
