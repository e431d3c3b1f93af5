// What the forkpool command line does before any subcommand runs: help, version, bad usage.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/run_command.hpp"
#include "common/temp_dir.hpp"

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

// The libraries mapped into a running process, by file name.
std::string mapped_files(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  return {std::istreambuf_iterator<char>(maps), {}};
}

// The commands that need no images run without OpenCV mapped (it is loaded, with the images
// commands, only for a command line that may need them): their start and every fork of a
// worker are the cheaper for it.
TEST(Cli, CommandsWithoutImagesDoNotMapOpenCv) {
  const pid_t pid = spawn_quiet({FORKPOOL_BINARY, "compare", "tasks", "--kind", "sleep", "--ms",
                                 "400", "--count", "4", "--workers", "1", "--backends", "serial",
                                 "--repeats", "1", "-q"});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(wait_until_it_blocks_sigint(pid));
  const std::string maps = mapped_files(pid);
  const std::optional<int> status = wait_for_exit(pid);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_NE(maps.find("libtbb"), std::string::npos) << maps;
  EXPECT_EQ(maps.find("libopencv"), std::string::npos) << "OpenCV mapped into compare tasks";
}

// A binary whose images module is missing says so in one line, and the images commands are
// unknown to it (exit 1); the other commands work.
TEST(Cli, AMissingImagesModuleIsOneLineAndTheRestWorks) {
  const std::filesystem::path binary = FORKPOOL_BINARY;
  if (!std::filesystem::exists(binary.parent_path() / "forkpool-images.so"))
    GTEST_SKIP() << "a build without the images commands";
  TempDir dir;
  const auto alone = dir.path() / "forkpool";
  std::filesystem::copy_file(binary, alone);
  CommandOutcome images = run_command({alone.string(), "images", "in", "out", "--op", "gray"});
  EXPECT_EQ(images.exit_code, 1);
  EXPECT_NE(images.err.find("forkpool: the images commands cannot be loaded: forkpool-images.so "
                            "not found beside " + dir.path().string()),
            std::string::npos) << images.err;
  CommandOutcome matmul = run_command({alone.string(), "matmul", "--random", "8x8x8", "-q"});
  EXPECT_EQ(matmul.exit_code, 0) << matmul.err;
  EXPECT_EQ(matmul.err, "");
}

TEST(Cli, AnUnknownSubcommandIsOneLineAndExitOne) {
  CommandOutcome r = forkpool({"resize"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("forkpool: ", 0), 0u) << r.err;
}

// Every subcommand's --help names what each option takes (FILE, N, SECONDS, ...): never
// CLI11's bare TEXT, INT, UINT or FLOAT, which tell a person nothing. And every option with a
// fixed set of choices lists them ({a,b}), which the bash completion offers.
TEST(Cli, EveryOptionThatTakesAValueNamesIt) {
  const std::vector<std::vector<std::string>> commands = {
      {"images"}, {"matmul"}, {"ipc-bench"}, {"compare", "tasks"}, {"compare", "matmul"},
      {"compare", "images"}};
  // "  -o,--output PATTERN   ..." or "  paths PATH ...": the names, then the value's name.
  const std::regex option_line(R"(^  ((?:-[A-Za-z0-9],)?--[a-z0-9-]+|[a-z]+) ([^ ]+))");
  const std::set<std::string> bare{"TEXT", "INT", "UINT", "FLOAT", "ENUM", "BOOLEAN"};
  const std::set<std::string> with_choices{
      "images --format", "images --colorspace", "images --backend", "images --transport",
      "matmul --dtype", "matmul --kernel", "matmul --backend", "matmul --transport",
      "ipc-bench --transport", "ipc-bench --mode", "compare tasks --kind", "compare tasks --backends",
      "compare tasks --transports", "compare matmul --dtype", "compare images --format",
      "compare images --jpeg-subsampling"};
  std::set<std::string> seen_choices;
  std::size_t checked = 0;
  for (auto args : commands) {
    std::string command;
    for (const auto& word : args) command += (command.empty() ? "" : " ") + word;
    args.push_back("--help");
    CommandOutcome r = forkpool(args);
    ASSERT_EQ(r.exit_code, 0) << command;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      std::smatch m;
      if (!std::regex_search(line, m, option_line)) continue;
      const std::string names = m[1];
      const std::string value = m[2];
      const std::string value_name = value.substr(0, value.find_first_of(":="));
      const std::string flag = names.substr(names.find(',') == std::string::npos ? 0 : names.find(',') + 1);
      ++checked;
      EXPECT_FALSE(bare.contains(value_name)) << command << " " << names << ": " << line;
      EXPECT_TRUE(std::regex_match(value_name, std::regex("[A-Z][A-Za-z,]*"))) << command << " " << names << ": " << line;
      if (value.find(":{") != std::string::npos) seen_choices.insert(command + " " + flag);
    }
  }
  EXPECT_GT(checked, 40u) << "the help's layout changed: this test reads none of it";
  for (const auto& option : with_choices)
    EXPECT_TRUE(seen_choices.contains(option)) << option << " does not list its choices";
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
