// forkpool ipc-bench end to end: the real binary, tiny counts.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/leak_check.hpp"
#include "common/run_command.hpp"

extern char** environ;

namespace forkpool {
namespace {

namespace fs = std::filesystem;
using forkpool::testing::run_command;
using nlohmann::json;
using namespace std::chrono_literals;

class IpcBenchCli : public forkpool::testing::LeakCheckedTest {
 protected:
  void SetUp() override {
    LeakCheckedTest::SetUp();
    char tmpl[] = "/tmp/forkpool-ipcbench-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    LeakCheckedTest::TearDown();
  }

  static std::vector<std::string> bench(std::vector<std::string> args) {
    std::vector<std::string> argv = {FORKPOOL_BINARY, "ipc-bench", "--count", "5", "--warmup", "0"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int count_lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

// RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false, row_open = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    row_open = true;
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += text[++i];
      else if (c == '"') quoted = false;
      else field += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      rows.back().push_back(std::move(field));
      field.clear();
      rows.emplace_back();
      row_open = false;
    } else {
      field += c;
    }
  }
  if (row_open) rows.back().push_back(std::move(field));
  else rows.pop_back();
  return rows;
}

TEST_F(IpcBenchCli, JsonHasEveryRequestedTransportSizeAndMode) {
  auto r = run_command(bench({"--transport", "pipe,mq,shm", "--sizes", "64,20K", "--json",
                              path("out.json"), "-q"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");  // -q
  json doc = json::parse(read_file(path("out.json")));

  std::multiset<std::string> seen;
  for (const auto& run : doc["results"]) {
    seen.insert(run["label"].get<std::string>() + "/" + std::to_string(run["size"].get<long>()) +
                "/" + run["mode"].get<std::string>());
    EXPECT_TRUE(run["ok"].get<bool>()) << run.dump();
    EXPECT_EQ(run["count"], 5);
    if (run["mode"] == "latency") {
      const auto& rtt = run["rtt_ns"];
      EXPECT_LE(rtt["p50"], rtt["p90"]);
      EXPECT_LE(rtt["p90"], rtt["p99"]);
      EXPECT_LE(rtt["p99"], rtt["p99_9"]);
      EXPECT_LE(rtt["p99_9"], rtt["max"]);
    }
    EXPECT_GT(run["bytes_per_s"].get<double>(), 0);
    EXPECT_TRUE(run["cpu_per_message_s"].is_number());
    if (run["transport"] == "mq") {
      EXPECT_GT(run["chunk_bytes"].get<long>(), 0);
    }
  }
  std::multiset<std::string> expected;
  for (const char* t : {"pipe", "mq", "shm-spin", "shm-block"})
    for (const char* s : {"64", "20480"})
      for (const char* m : {"latency", "throughput"})
        expected.insert(std::string(t) + "/" + s + "/" + m);
  EXPECT_EQ(seen, expected);

  const auto& limits = doc["limits"];
  EXPECT_TRUE(limits["cache_line_rtt"]["ok"].get<bool>());
  EXPECT_LE(limits["cache_line_rtt"]["rtt_ns"]["p50"], limits["cache_line_rtt"]["rtt_ns"]["max"]);
  ASSERT_EQ(limits["memcpy"].size(), 2u);
  EXPECT_EQ(limits["memcpy"][0]["size"], 64);
  EXPECT_EQ(limits["memcpy"][1]["size"], 20480);
  EXPECT_GT(limits["memcpy"][1]["bytes_per_s"].get<double>(), 0);
  EXPECT_EQ(doc["idle"].size(), 2u);

  const auto& machine = doc["machine"];
  EXPECT_FALSE(machine["cpu_model"].get<std::string>().empty());
  EXPECT_FALSE(machine["kernel"].get<std::string>().empty());
  EXPECT_GT(machine["cores_online"].get<int>(), 0);
  EXPECT_TRUE(machine["mq_limits"].contains("message_size") ||
              machine["mq_limits"].contains("error"));
  EXPECT_TRUE(doc["settings"]["pinned"].is_null());
  EXPECT_EQ(doc["failed_runs"], 0);
}

TEST_F(IpcBenchCli, CsvParsesWithEveryFigureAndTheMachine) {
  auto r = run_command(bench({"--transport", "unix,tcp", "--sizes", "4K", "--mode", "latency",
                              "--csv", path("out.csv"), "-q"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rows = parse_csv(read_file(path("out.csv")));
  ASSERT_GE(rows.size(), 2u);
  const auto& header = rows[0];
  auto column = [&](const std::string& name) {
    auto it = std::find(header.begin(), header.end(), name);
    EXPECT_NE(it, header.end()) << name;
    return static_cast<std::size_t>(it - header.begin());
  };
  std::size_t kind = column("kind"), transport = column("transport"), p50 = column("rtt_p50_ns"),
              max = column("rtt_max_ns"), cpu = column("cpu_model"), bw = column("bytes_per_s");
  column("kernel");
  column("mq_message_size");
  int runs = 0, memcpy_rows = 0, cache_line = 0;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), header.size()) << "row " << i;
    EXPECT_FALSE(rows[i][cpu].empty());
    if (rows[i][kind] == "run") {
      ++runs;
      EXPECT_LE(std::stoll(rows[i][p50]), std::stoll(rows[i][max]));
    }
    if (rows[i][transport] == "memcpy") {
      ++memcpy_rows;
      EXPECT_GT(std::stod(rows[i][bw]), 0);
    }
    if (rows[i][transport] == "cache-line") ++cache_line;
  }
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(memcpy_rows, 1);
  EXPECT_EQ(cache_line, 1);
}

TEST_F(IpcBenchCli, TablePutsTheLimitsFirstAndSaysWhatIsPrinted) {
  auto r = run_command(bench({"--transport", "pipe", "--sizes", "64,1K"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto limit = r.out.find("\ncache-line");
  auto memcpy_row = r.out.find("\nmemcpy");
  auto pipe_row = r.out.find("\npipe ");
  ASSERT_NE(limit, std::string::npos) << r.out;
  ASSERT_NE(memcpy_row, std::string::npos) << r.out;
  ASSERT_NE(pipe_row, std::string::npos) << r.out;
  EXPECT_LT(limit, pipe_row);
  EXPECT_LT(memcpy_row, pipe_row);
  EXPECT_NE(r.out.find("not pinned"), std::string::npos);
  EXPECT_NE(r.out.find("round-trip time (RTT)"), std::string::npos);
  EXPECT_NE(r.out.find("1 KiB"), std::string::npos);
}

TEST_F(IpcBenchCli, PinnedRunSaysWhere) {
  auto r = run_command(bench({"--transport", "pipe", "--sizes", "64", "--pin", "0,0",
                              "--json", path("p.json")}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("pinned: initiator on CPU 0, responder on CPU 0"), std::string::npos);
  json doc = json::parse(read_file(path("p.json")));
  EXPECT_EQ(doc["settings"]["pinned"], json::array({0, 0}));
}

void expect_one_clear_error(const forkpool::testing::CommandOutcome& r, const std::string& what) {
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("forkpool: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
}

TEST_F(IpcBenchCli, BadSizeIsOneClearError) {
  expect_one_clear_error(run_command(bench({"--sizes", "64,12Q", "--json", path("x.json")})),
                         "'12Q'");
  expect_one_clear_error(run_command(bench({"--sizes", "0"})), "'0'");
  expect_one_clear_error(run_command(bench({"--sizes", "4G"})), "'4G'");
  EXPECT_FALSE(fs::exists(path("x.json")));
}

TEST_F(IpcBenchCli, UnknownTransportIsOneClearError) {
  expect_one_clear_error(run_command(bench({"--transport", "pipe,carrier-pigeon"})),
                         "--transport: carrier-pigeon not in {pipe,unix,tcp,mq,shm,shm-spin,shm-block}");
}

TEST_F(IpcBenchCli, OtherBadUsageIsOneClearError) {
  expect_one_clear_error(run_command(bench({"--mode", "speed"})), "--mode: speed not in {latency,throughput}");
  expect_one_clear_error(run_command(bench({"--pin", "0"})), "--pin");
  expect_one_clear_error(run_command(bench({"--pin", "0,99999"})), "CPU 99999");
  expect_one_clear_error(
      run_command({FORKPOOL_BINARY, "ipc-bench", "--duration", "1s", "--count", "5"}),
      "excludes");
  expect_one_clear_error(run_command({FORKPOOL_BINARY, "ipc-bench", "--duration", "fast"}),
                         "'fast'");
}

// --count 2^64 once ran until killed; a count, a duration or a warm-up nobody could mean is
// refused before anything runs.
TEST_F(IpcBenchCli, OutOfRangeCountOrTimeIsOneClearError) {
  const auto quick = std::chrono::seconds(20);
  auto only = [](std::vector<std::string> args) {
    args.insert(args.begin(), {FORKPOOL_BINARY, "ipc-bench", "--transport", "pipe", "--sizes", "64"});
    return args;
  };
  expect_one_clear_error(run_command(only({"--count", "18446744073709551616"}), quick),
                         "--count: '18446744073709551616' is not a whole number from 1 to 10000000");
  expect_one_clear_error(run_command(only({"--count", "18446744073709551615"}), quick),
                         "--count: '18446744073709551615'");
  expect_one_clear_error(run_command(only({"--count", "10000001"}), quick), "--count: '10000001'");
  expect_one_clear_error(run_command(only({"--count", "0"}), quick), "--count: '0'");
  expect_one_clear_error(run_command(only({"--count", "-3"}), quick), "--count: '-3'");
  expect_one_clear_error(run_command(only({"--duration", "61m"}), quick),
                         "--duration: '61m' is longer than the limit of 60m per run");
  expect_one_clear_error(run_command(only({"--warmup", "3700s"}), quick),
                         "--warmup: '3700s' is longer than the limit of 60m per run");
}

TEST_F(IpcBenchCli, PlotIsAPng) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) GTEST_SKIP() << "no gnuplot";
  auto r = run_command(bench({"--transport", "pipe,shm-spin", "--sizes", "64,4K", "--plot",
                              path("plot.png"), "-q"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string png = read_file(path("plot.png"));
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST_F(IpcBenchCli, MissingGnuplotStillWritesTheRest) {
  auto r = run_command({"/usr/bin/env", "PATH=" + path("empty"), FORKPOOL_BINARY, "ipc-bench",
                        "--count", "5", "--warmup", "0", "--transport", "pipe", "--sizes", "64",
                        "--json", path("j.json"), "--csv", path("c.csv"), "--plot",
                        path("p.png")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("gnuplot not found"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("\npipe "), std::string::npos);  // the table
  EXPECT_TRUE(fs::exists(path("j.json")));
  EXPECT_TRUE(fs::exists(path("c.csv")));
  EXPECT_FALSE(fs::exists(path("p.png")));
}

TEST_F(IpcBenchCli, AFifoIsWrittenIntoNotReplaced) {
  ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
  int reader = ::open(path("fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  auto r = run_command(bench({"--transport", "pipe", "--sizes", "64", "--mode", "latency",
                              "--json", path("fifo"), "-q"}));
  std::string got;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(reader, buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  ::close(reader);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::lstat(path("fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO was replaced by a file";
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(json::parse(got)["command"], "ipc-bench");
}

TEST_F(IpcBenchCli, ADeviceBehindASymlinkIsWrittenInPlaceAndItsErrorIsExitTwo) {
  fs::create_symlink("/dev/full", path("report.json"));
  auto r = run_command(bench({"--transport", "pipe", "--sizes", "64", "--mode", "latency",
                              "--json", path("report.json"), "--csv", path("c.csv"), "-q"}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, "forkpool: cannot write the JSON report " + path("report.json") +
                       ": write(/dev/full): No space left on device\n");
  EXPECT_TRUE(fs::is_symlink(path("report.json")));
  struct stat st {};
  ASSERT_EQ(::stat("/dev/full", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_FALSE(read_file(path("c.csv")).empty()) << "the other outputs are still written";
}

TEST_F(IpcBenchCli, ADashWritesToStdoutAlone) {
  auto r = run_command(bench({"--transport", "pipe", "--sizes", "64", "--mode", "latency",
                              "--csv", "-"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rows = parse_csv(r.out);  // the CSV alone: no table
  ASSERT_GT(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "kind");
}

TEST_F(IpcBenchCli, BadOutputsAreRefusedBeforeAnyWork) {
  fs::create_directories(path("folder"));
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases{
      {{"--json", path("missing/x.json")}, "the folder " + path("missing") + " does not exist"},
      {{"--csv", path("folder")}, "is a folder"},
      {{"--json", path("same"), "--csv", path("same")}, "are the same file"},
      {{"--json", "-", "--csv", "-"}, "are the same file"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{"--transport", "pipe", "--sizes", "64"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = run_command(bench(args));
    EXPECT_EQ(r.exit_code, 1) << c.says;
    EXPECT_EQ(r.out, "") << "no table: nothing was measured";
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(IpcBenchCli, ThePlotIsWrittenThroughASymlink) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) GTEST_SKIP() << "no gnuplot";
  fs::create_directories(path("real"));
  fs::create_symlink("real/plot.png", path("plot.png"));
  auto r = run_command(bench({"--transport", "pipe", "--sizes", "64", "--mode", "latency",
                              "--plot", path("plot.png"), "-q"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(path("plot.png")));
  EXPECT_EQ(read_file(path("real/plot.png")).substr(1, 3), "PNG");
  EXPECT_EQ(std::distance(fs::directory_iterator(path("real")), fs::directory_iterator()), 1)
      << "no temporary file left";
}

// The binary started in the background, with its output in files.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const fs::path& dir) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    err_path_ = (dir / "stderr").string();
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, (dir / "stdout").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    EXPECT_EQ(::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Background() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // The pids of its children right now.
  std::vector<pid_t> children() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/task/" + std::to_string(pid_) +
                     "/children");
    std::vector<pid_t> out;
    pid_t p;
    while (in >> p) out.push_back(p);
    return out;
  }

  // Waits until it has forked its benchmark processes; false after `limit`.
  bool wait_for_children(std::chrono::seconds limit) const {
    auto give_up = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < give_up) {
      if (children().size() >= 2) return true;
      std::this_thread::sleep_for(2ms);
    }
    return false;
  }

  // Its exit code (128 + signal when killed); -1 if it did not end within `limit`.
  int wait(std::chrono::seconds limit) {
    auto give_up = std::chrono::steady_clock::now() + limit;
    int status = 0;
    for (;;) {
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (std::chrono::steady_clock::now() >= give_up) return -1;
      std::this_thread::sleep_for(5ms);
    }
  }

  pid_t pid() const { return pid_; }
  std::string err() const { return read_file(err_path_); }

 private:
  pid_t pid_ = -1;
  std::string err_path_;
};

TEST_F(IpcBenchCli, CtrlCStopsAtOnceAndLeavesNothing) {
  fs::create_directory(dir_ / "run");
  Background bench({FORKPOOL_BINARY, "ipc-bench", "--transport", "shm,mq", "--sizes", "64",
                    "--duration", "60s", "--warmup", "0", "--json", path("never.json")},
                   dir_ / "run");
  ASSERT_TRUE(bench.wait_for_children(20s));
  std::vector<pid_t> peers = bench.children();
  ASSERT_EQ(::kill(bench.pid(), SIGINT), 0);
  EXPECT_EQ(bench.wait(20s), 130) << bench.err();
  EXPECT_NE(bench.err().find("interrupted"), std::string::npos) << bench.err();
  EXPECT_FALSE(fs::exists(path("never.json")));
  for (pid_t p : peers) EXPECT_FALSE(fs::exists("/proc/" + std::to_string(p))) << p;
  // The fixture checks /dev/shm and /dev/mqueue.
}

TEST_F(IpcBenchCli, AKilledPeerIsANamedFailureNotAHang) {
  fs::create_directory(dir_ / "run");
  Background bench({FORKPOOL_BINARY, "ipc-bench", "--transport", "shm-spin", "--sizes", "64",
                    "--mode", "latency", "--duration", "60s", "--warmup", "0"},
                   dir_ / "run");
  ASSERT_TRUE(bench.wait_for_children(20s));
  std::vector<pid_t> peers = bench.children();
  ASSERT_FALSE(peers.empty());
  ::kill(peers.front(), SIGKILL);
  // Whichever step it was in (a limit, the idle check or the run), that step fails; the run
  // itself would last 60 s if it was not the one hit, so every later pair of peers is killed
  // too. Only whole pairs: a lone child may be a sanitizer's helper at exit.
  int code = -1;
  auto give_up = std::chrono::steady_clock::now() + 40s;
  while ((code = bench.wait(0s)) == -1 && std::chrono::steady_clock::now() < give_up) {
    if (auto pair = bench.children(); pair.size() == 2) ::kill(pair.front(), SIGKILL);
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(code, 2) << bench.err();
  EXPECT_NE(bench.err().find("killed by SIGKILL"), std::string::npos) << bench.err();
}

}  // namespace
}  // namespace forkpool
