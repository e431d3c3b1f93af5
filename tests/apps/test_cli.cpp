// What the forkpool command line does before any subcommand runs: help, version, bad usage.

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace forkpool::testing
