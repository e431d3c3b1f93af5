// The executor's faults end to end, through the real forkpool binary: workers that cannot be
// started (fork() made to fail by preloading forkpool_fork_fault, or a low fd limit), and the
// job timeout.

#include <gtest/gtest.h>
#include <cstdlib>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/leak_check.hpp"
#include "common/run_command.hpp"
#include "common/scoped_env.hpp"
#include "common/temp_dir.hpp"

namespace forkpool::testing {
namespace {

// The CLI with fork() failing after `forks` successful ones.
class FailingForks {
 public:
  explicit FailingForks(long forks)
      : preload_("LD_PRELOAD", FORK_FAULT_LIBRARY),
        // An ASan build wants its runtime first; the preloaded fork() goes before it on purpose.
        asan_("ASAN_OPTIONS", asan_options()),
        after_("FORKPOOL_TEST_FAIL_FORKS_AFTER", std::to_string(forks)) {}

 private:
  static std::string asan_options() {
    const char* old = std::getenv("ASAN_OPTIONS");
    return std::string(old ? old : "") + (old && *old ? ":" : "") + "verify_asan_link_order=0";
  }
  ScopedEnv preload_, asan_, after_;
};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

CommandOutcome forkpool(std::vector<std::string> args) {
  args.insert(args.begin(), FORKPOOL_BINARY);
  return run_command(args);
}

// fork() failing with EAGAIN, as the user reads it: the limit first, the call after.
const std::string kForkEagain = "too many processes (RLIMIT_NPROC = ";

class ExecCliTest : public LeakCheckedTest {
 protected:
  TempDir dir_;
};

TEST_F(ExecCliTest, MatmulGoesOnWithTheWorkersItCouldStartAndSaysSo) {
  std::string c = (dir_ / "c.npy").string();
  CommandOutcome r;
  {
    FailingForks faults(1);
    r = forkpool({"matmul", "--random", "96x96x96", "--tile", "16", "-j", "2", "-o", c});
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> err = lines(r.err);
  ASSERT_EQ(err.size(), 1u) << r.err;
  EXPECT_TRUE(err[0].starts_with("forkpool: could start only 1 of 2 workers: " + kForkEagain)) << r.err;
  EXPECT_TRUE(std::filesystem::exists(c));
}

TEST_F(ExecCliTest, MatmulWithNoWorkerLeftFailsTheRestWritesTheReportAndExits2) {
  std::string c = (dir_ / "c.npy").string();
  std::string json = (dir_ / "report.json").string();
  CommandOutcome r;
  {
    FailingForks faults(1);
    ScopedEnv kill("FORKPOOL_MATMUL_TEST_KILL_TILE", "2");
    r = forkpool({"matmul", "--random", "96x96x96", "--tile", "16", "-j", "1", "-o", c, "--json", json});
  }
  ASSERT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("forkpool: no worker left: a worker could not be replaced: " + kForkEagain),
            std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(c));
  std::ifstream in(json);
  nlohmann::json report = nlohmann::json::parse(in);
  EXPECT_EQ(report["status"], "failed");
  EXPECT_EQ(report["workers_lost"], 1);
  ASSERT_FALSE(report["failures"].empty());
  for (const auto& failure : report["failures"])
    EXPECT_NE(failure.get<std::string>().find("not run, no worker left: " + kForkEagain),
              std::string::npos) << failure;
}

TEST_F(ExecCliTest, NotASingleWorkerIsOneLineAndExit1) {
  CommandOutcome r;
  {
    FailingForks faults(0);
    r = forkpool({"matmul", "--random", "32x32x32", "-j", "2"});
  }
  EXPECT_EQ(r.exit_code, 1);
  std::vector<std::string> err = lines(r.err);
  ASSERT_EQ(err.size(), 1u) << r.err;
  EXPECT_TRUE(err[0].starts_with("forkpool: cannot start workers: " + kForkEagain)) << r.err;
}

// Whatever the fd limit, the CLI either goes on with the workers it could start (saying so) or
// stops with one line; and some limits give each.
TEST_F(ExecCliTest, EveryFdLimitGivesACleanOutcome) {
  bool shrunk = false, none = false;
  for (int limit = 5; limit <= 16; ++limit) {
    std::string script = "ulimit -n " + std::to_string(limit) + " && exec " FORKPOOL_BINARY
                         " matmul --random 64x64x64 --tile 16 -j 4 --transport pipe -q";
    CommandOutcome r = run_command({"/bin/sh", "-c", script});
    std::vector<std::string> err = lines(r.err);
    if (r.exit_code == 1) {
      ASSERT_EQ(err.size(), 1u) << "ulimit -n " << limit << ": " << r.err;
      EXPECT_TRUE(err[0].starts_with("forkpool: ")) << r.err;
      none = none || (err[0].starts_with("forkpool: cannot start workers: ") &&
                      err[0].find("Too many open files") != std::string::npos);
    } else {
      ASSERT_EQ(r.exit_code, 0) << "ulimit -n " << limit << ": " << r.err;
      for (const std::string& line : err)
        EXPECT_TRUE(line.starts_with("forkpool: could start only ")) << "ulimit -n " << limit << ": " << line;
      shrunk = shrunk || !err.empty();
    }
  }
  EXPECT_TRUE(none) << "no fd limit stopped the pool from starting";
  EXPECT_TRUE(shrunk) << "no fd limit made the pool smaller";
}

TEST_F(ExecCliTest, JobTimeoutNeedsTheProcessesBackend) {
  for (const char* backend : {"threads", "serial"}) {
    CommandOutcome r = forkpool({"matmul", "--random", "32x32x32", "--backend", backend, "--job-timeout", "5"});
    EXPECT_EQ(r.exit_code, 1) << backend;
    EXPECT_TRUE(r.err.starts_with("forkpool: --job-timeout needs --backend processes")) << r.err;
    EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  }
  // 0 is "no limit", which every backend keeps.
  CommandOutcome r = forkpool({"matmul", "--random", "32x32x32", "--backend", "threads", "--job-timeout", "0", "-q"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

#ifdef FORKPOOL_HAS_IMAGES
// Denoising a 3000x2616 enlargement takes many seconds on any machine: with a one-second
// timeout the image fails, after its retry, with the reason; the batch ends with exit 2.
TEST_F(ExecCliTest, ImageThatTakesTooLongFailsAsTimedOut) {
  std::filesystem::path in = dir_ / "in", out = dir_ / "out";
  std::filesystem::create_directories(in);
  std::filesystem::copy_file(std::filesystem::path(FORKPOOL_SOURCE_DIR) / "data/images/hubble_deep_field.jpg",
                             in / "hubble.jpg");
  CommandOutcome r = forkpool({"images", in.string(), out.string(), "--op", "resize=300%", "--op",
                               "denoise", "--job-timeout", "1", "-j", "1", "-q"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, "forkpool: " + (in / "hubble.jpg").string() + ": timed out after 1 s\n");
  EXPECT_FALSE(std::filesystem::exists(out / "hubble.jpg"));
}

// The images report counts the workers the batch lost, in its summary line and its JSON.
TEST_F(ExecCliTest, ImagesReportCountsTheWorkersItCouldNotStart) {
  std::filesystem::path out = dir_ / "out", json = dir_ / "report.json";
  CommandOutcome r;
  {
    FailingForks faults(1);
    r = forkpool({"images", std::string(FORKPOOL_SOURCE_DIR) + "/data/images", out.string(), "--op",
                  "resize=64x64", "-j", "2", "--json", json.string()});
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("processes, 1 worker, shm, 1 lost"), std::string::npos) << r.out;
  std::ifstream in(json);
  nlohmann::json report = nlohmann::json::parse(in);
  EXPECT_EQ(report["workers"], 1);
  EXPECT_EQ(report["workers_lost"], 1);
  EXPECT_EQ(report["workers_replaced"], 0);
}
#endif

}  // namespace
}  // namespace forkpool::testing
