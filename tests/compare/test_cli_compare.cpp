// forkpool compare end to end: the table, the JSON and CSV reports with every figure, usage
// errors, and Ctrl-C.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "common/leak_check.hpp"
#include "common/run_command.hpp"
#include "common/temp_dir.hpp"

namespace forkpool::testing {
namespace {

using nlohmann::json;

CommandOutcome forkpool(std::vector<std::string> args) {
  args.insert(args.begin(), FORKPOOL_BINARY);
  return run_command(args, std::chrono::seconds(240));
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class CompareCliTest : public LeakCheckedTest {
 protected:
  TempDir dir_;
};

// Every field the issue lists, in every configuration, consistent with each other.
// `payload`: the jobs or results carry bytes (tiny and sleep jobs carry none: their channel
// bytes are 0 everywhere).
void expect_consistent_report(const json& report, std::size_t configurations, std::size_t jobs,
                              bool payload = true) {
  for (const char* key : {"tool", "version", "command", "started_at", "schema_version"})
    EXPECT_TRUE(report.contains(key)) << key;
  EXPECT_EQ(report["command"], "compare");
  EXPECT_TRUE(report["machine"].contains("cpu_model"));
  EXPECT_TRUE(report["machine"].contains("cores_online"));
  EXPECT_TRUE(report.contains("settings"));
  const json& rows = report["configurations"];
  ASSERT_EQ(rows.size(), configurations) << report.dump(2);
  ASSERT_EQ(rows[0]["backend"], "serial");
  const double serial = rows[0]["wall_s"];
  for (const json& row : rows) {
    SCOPED_TRACE(row.dump());
    for (const char* key : {"backend", "transport", "workers", "jobs", "wall_s", "wall_s_min",
                            "wall_s_max", "speedup", "efficiency", "overhead_us_per_job", "cpu_s",
                            "startup_s", "peak_pss_bytes", "channel_bytes"})
      EXPECT_TRUE(row.contains(key)) << key;
    EXPECT_EQ(row["jobs"], jobs);
    EXPECT_EQ(row["transport"].is_null(), row["backend"] != "processes");
    const double wall = row["wall_s"];
    EXPECT_LE(row["wall_s_min"].get<double>(), wall);
    EXPECT_GE(row["wall_s_max"].get<double>(), wall);
    EXPECT_NEAR(row["speedup"].get<double>(), serial / wall, 1e-9 * serial / wall);
    EXPECT_NEAR(row["efficiency"].get<double>(), row["speedup"].get<double>() / row["workers"].get<double>(), 1e-9);
    EXPECT_GT(row["peak_pss_bytes"].get<double>(), 0);
    EXPECT_EQ(row["channel_bytes"].get<double>() > 0, payload && row["backend"] == "processes");
    EXPECT_EQ(row["startup_s"].get<double>() > 0, row["backend"] != "serial");
    EXPECT_EQ(row["failed"], 0);
  }
}

TEST_F(CompareCliTest, TasksReportEveryConfigurationInTableJsonAndCsv) {
  auto json_path = dir_ / "compare.json";
  auto csv_path = dir_ / "compare.csv";
  CommandOutcome r = forkpool({"compare", "tasks", "--kind", "cpu", "--count", "8", "--workers", "1,2",
                               "--repeats", "2", "--json", json_path.string(), "--csv", csv_path.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  // serial, threads x1 x2, processes over 5 transports x1 x2
  expect_consistent_report(json::parse(read_file(json_path)), 13, 8);
  for (const char* row : {"serial", "threads x2", "processes/shm x2", "processes/mq x1"})
    EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  std::string csv = read_file(csv_path);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 14) << csv;
  EXPECT_TRUE(csv.starts_with("backend,transport,workers,jobs,wall_s,"));
}

TEST_F(CompareCliTest, EachKindRunsAndJsonToStdoutIsAlone) {
  for (std::vector<std::string> kind : {std::vector<std::string>{"tiny", "--count", "50"},
                                        {"memory", "--count", "6", "--size", "64K"},
                                        {"memory", "--count", "6", "--size", "64K", "--per-job"},
                                        {"sleep", "--count", "4", "--ms", "2"}}) {
    std::vector<std::string> args = {"compare", "tasks", "--kind"};
    args.insert(args.end(), kind.begin(), kind.end());
    for (std::string a : {"--backends", "threads,processes", "--transports", "pipe,shm", "-j", "2",
                          "--repeats", "1", "--json", "-"})
      args.push_back(a);
    CommandOutcome r = forkpool(args);
    ASSERT_EQ(r.exit_code, 0) << kind[0] << ": " << r.err;
    json report = json::parse(r.out);  // nothing but the JSON on stdout
    expect_consistent_report(report, 4, std::stoul(kind[2]), kind[0] == "memory");
    EXPECT_EQ(report["settings"]["kind"], kind[0]);
  }
}

TEST_F(CompareCliTest, PlotIsAPng) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) GTEST_SKIP() << "no gnuplot";
  auto png_path = dir_ / "compare.png";
  CommandOutcome r = forkpool({"compare", "tasks", "--kind", "cpu", "--count", "6", "--workers", "1,2",
                               "--transports", "shm,pipe", "--repeats", "1", "--plot", png_path.string(), "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  std::string png = read_file(png_path);
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
}

TEST_F(CompareCliTest, MissingGnuplotStillWritesTheRest) {
  auto json_path = dir_ / "compare.json";
  auto png_path = dir_ / "compare.png";
  CommandOutcome r = run_command({"/usr/bin/env", "PATH=" + (dir_ / "empty").string(), FORKPOOL_BINARY,
                                  "compare", "tasks", "--count", "10", "--backends", "threads", "-j", "1",
                                  "--repeats", "1", "--json", json_path.string(), "--plot", png_path.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("gnuplot not found"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("threads x1"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(json_path));
  EXPECT_FALSE(std::filesystem::exists(png_path));
}

// Every C is checked against the serial C, and the report says so.
TEST_F(CompareCliTest, MatmulChecksEveryCAgainstSerial) {
  for (const char* dtype : {"f64", "f32"}) {
    auto json_path = dir_ / "matmul.json";
    CommandOutcome r = forkpool({"compare", "matmul", "--random", "70x50x60", "--dtype", dtype, "--tile", "16",
                                 "--workers", "1,2", "--transports", "shm,pipe", "--repeats", "1",
                                 "--json", json_path.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json report = json::parse(read_file(json_path));
    // Tiles of 16 or more (rounded up to the kernel's blocking): as many on every configuration.
    expect_consistent_report(report, 7, report["configurations"][0]["jobs"].get<std::size_t>());
    EXPECT_EQ(report["settings"]["dtype"], dtype);
    ASSERT_EQ(report["checks"].size(), 1u);
    EXPECT_TRUE(report["checks"][0].get<std::string>().starts_with("every C equals the serial C: 6 products compared"))
        << report["checks"];
    EXPECT_NE(r.out.find("every C equals the serial C"), std::string::npos) << r.out;
  }
}

TEST_F(CompareCliTest, MatmulReadsNpyFiles) {
  std::string a = std::string(FORKPOOL_SOURCE_DIR) + "/data/matrices/a_3x5_f64.npy";
  std::string b = std::string(FORKPOOL_SOURCE_DIR) + "/data/matrices/b_5x2_f64.npy";
  if (!std::filesystem::exists(a) || !std::filesystem::exists(b)) GTEST_SKIP() << "no fixtures";
  CommandOutcome r = forkpool({"compare", "matmul", a, b, "--backends", "threads", "-j", "2",
                               "--repeats", "1", "--json", "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json report = json::parse(r.out);
  EXPECT_EQ(report["settings"]["m"], 3);
  EXPECT_EQ(report["settings"]["n"], 2);
}

TEST_F(CompareCliTest, BadUsageIsOneLineAndExit1) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"compare", "tasks", "--backends", "gpu"},
        {"compare", "tasks", "--transports", "carrier-pigeon"},
        {"compare", "tasks", "--backends", "threads,mpi"},
        {"compare", "tasks", "--kind", "memory", "--size", "lots"},
        {"compare", "tasks", "--workers", "0"},
        {"compare", "tasks", "--json", (dir_ / "no" / "such" / "folder.json").string()},
        {"compare", "matmul", "--random", "4x4"},
        {"compare", "matmul", "--random", "4x4x4", "a.npy", "b.npy"},
        {"compare", "matmul"},
        {"compare"}}) {
    CommandOutcome r = forkpool(args);
    EXPECT_EQ(r.exit_code, 1) << args.back() << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.err.starts_with("forkpool: ")) << r.err;
  }
}

#ifdef FORKPOOL_HAS_IMAGES
// Every file and folder below `folder`, with its bytes and modification time.
std::map<std::string, std::pair<std::string, std::filesystem::file_time_type>> snapshot(
    const std::filesystem::path& folder) {
  std::map<std::string, std::pair<std::string, std::filesystem::file_time_type>> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(folder))
    out[e.path().string()] = {e.is_regular_file() ? read_file(e.path()) : "(folder)",
                              std::filesystem::last_write_time(e.path())};
  return out;
}

// A copy of data/images in the test's folder, and a folder of the test's for $TMPDIR.
class CompareImagesCliTest : public CompareCliTest {
 protected:
  void SetUp() override {
    CompareCliTest::SetUp();
    std::filesystem::copy(std::string(FORKPOOL_SOURCE_DIR) + "/data/images", in_,
                          std::filesystem::copy_options::recursive);
    std::filesystem::create_directories(tmp_);
  }
  // forkpool with $TMPDIR set to tmp_.
  CommandOutcome forkpool_in_tmp(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/bin/env", "TMPDIR=" + tmp_.string(), FORKPOOL_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, std::chrono::seconds(240));
  }
  std::filesystem::path in_ = dir_ / "in";
  std::filesystem::path tmp_ = dir_ / "tmp";
};

// Every configuration runs the batch into a temporary folder, its outputs are compared with the
// serial run's, and nothing is left there; the inputs are only read.
TEST_F(CompareImagesCliTest, EveryConfigurationWritesTheSameOutputsAndLeavesNothing) {
  const auto before = snapshot(in_);
  auto json_path = dir_ / "compare.json";
  CommandOutcome r = forkpool_in_tmp({"compare", "images", in_.string(), "--op", "resize=64x64", "-r",
                                      "--format", "png", "--workers", "1,2", "--repeats", "1",
                                      "--backends", "serial,threads,processes", "--transports", "shm,pipe",
                                      "--json", json_path.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  json report = json::parse(read_file(json_path));
  // 8 images (7, and textures/gravel.png with -r); serial, threads x1 x2, processes/{shm,pipe} x1 x2
  expect_consistent_report(report, 7, 8);
  EXPECT_EQ(report["settings"]["ops"], json::array({"resize=64x64"}));
  ASSERT_EQ(report["checks"].size(), 1u);
  EXPECT_EQ(report["checks"][0], "every configuration wrote the same 8 outputs, byte for byte (6 runs "
                                 "compared with the serial run's)");
  EXPECT_NE(r.out.find("every configuration wrote the same 8 outputs, byte for byte"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::is_empty(tmp_));
  EXPECT_EQ(snapshot(in_), before);
}

TEST_F(CompareImagesCliTest, BadUsageIsOneLineExit1AndNothingDone) {
  const auto before = snapshot(in_);
  for (std::vector<std::string> args :
       {std::vector<std::string>{"compare", "images", in_.string(), "--op", "resize=banana"},
        {"compare", "images", in_.string(), "--op", "no-such-op"},
        {"compare", "images", (dir_ / "missing").string(), "--op", "gray"},
        {"compare", "images", "--op", "gray"},
        {"compare", "images", in_.string(), "--op", "gray", "--format", "bmp"}}) {
    auto json_path = dir_ / "compare.json";
    args.push_back("--json");
    args.push_back(json_path.string());
    CommandOutcome r = forkpool_in_tmp(args);
    EXPECT_EQ(r.exit_code, 1) << args[3] << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.err.starts_with("forkpool: ")) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(std::filesystem::exists(json_path));
    EXPECT_TRUE(std::filesystem::is_empty(tmp_));
  }
  EXPECT_EQ(snapshot(in_), before);
}
#endif

// Ctrl-C while it measures, at once or later: exit 130 (by exit(), not by the signal), no
// report, nothing left behind (LeakCheckedTest checks /dev/shm and /dev/mqueue).
TEST_F(CompareCliTest, CtrlCExits130AndWritesNothing) {
  for (int delay_ms : {0, 300}) {
    auto json_path = dir_ / "compare.json";
    pid_t pid = spawn_quiet({FORKPOOL_BINARY, "compare", "tasks", "--kind", "sleep", "--count", "400",
                             "--ms", "5", "-j", "2", "--json", json_path.string()});
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(wait_until_it_blocks_sigint(pid));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(pid, SIGINT);
    const auto exited = wait_for_exit(pid);
    ASSERT_TRUE(exited) << "forkpool compare did not exit after SIGINT";
    const int status = *exited;
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 130) << "after " << delay_ms << " ms";
    EXPECT_FALSE(std::filesystem::exists(json_path));
  }
}


#ifdef FORKPOOL_HAS_IMAGES
// Ctrl-C while it measures images: exit 130, and the temporary folder is gone.
TEST_F(CompareImagesCliTest, CtrlCExits130AndRemovesTheTemporaryFolder) {
  const auto before = snapshot(in_);
  for (int delay_ms : {0, 300}) {
    pid_t pid = spawn_quiet({"/usr/bin/env", "TMPDIR=" + tmp_.string(), FORKPOOL_BINARY, "compare", "images",
                             in_.string(), "-r", "--op", "blur=3", "-j", "1,2", "--repeats", "1000"});
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(wait_until_it_blocks_sigint(pid));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    if (delay_ms > 0) {
      EXPECT_FALSE(std::filesystem::is_empty(tmp_)) << "no temporary folder while it runs";
    }
    ::kill(pid, SIGINT);
    const auto exited = wait_for_exit(pid);
    ASSERT_TRUE(exited) << "forkpool compare images did not exit after SIGINT";
    const int status = *exited;
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 130) << "after " << delay_ms << " ms";
    EXPECT_TRUE(std::filesystem::is_empty(tmp_)) << "after " << delay_ms << " ms";
  }
  EXPECT_EQ(snapshot(in_), before);
}
#endif

}  // namespace
}  // namespace forkpool::testing
