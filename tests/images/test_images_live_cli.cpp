// End-to-end: what `forkpool images` tells while a batch runs, with no terminal: each failure
// on stderr, each -v line on stdout and each --log line as its image ends, not at the end.
// One image is held in its worker (the FORKPOOL_IMAGES_HOLD_ON test hook) while the test reads
// what has been printed, so "before the batch ends" does not depend on the machine's speed.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/leak_check.hpp"
#include "common/run_command.hpp"
#include "common/temp_dir.hpp"
#include "image_test_support.hpp"

extern char** environ;

namespace forkpool::testing {
namespace {

namespace fs = std::filesystem;
using ImagesLiveTest = LeakCheckedTest;
using Clock = std::chrono::steady_clock;

// A generous guard on each wait: past it the test fails (it asserts no speed).
constexpr std::chrono::seconds kPatience{60};

// The program, started with stdout and stderr on pipes (no terminal) that the test reads
// while it runs. Killed and reaped by the destructor if the test did not finish it.
class RunningCommand {
 public:
  explicit RunningCommand(const std::vector<std::string>& argv) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    fds_[0] = out[0];
    fds_[1] = err[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("posix_spawn failed");
    }
  }
  ~RunningCommand() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    for (int fd : fds_)
      if (fd >= 0) ::close(fd);
  }
  RunningCommand(const RunningCommand&) = delete;
  RunningCommand& operator=(const RunningCommand&) = delete;

  // Reads what it prints until `done(out, err)` holds; false when it does not within kPatience
  // or both streams end first.
  template <class Predicate>
  bool read_until(Predicate done) {
    const auto give_up = Clock::now() + kPatience;
    while (!done(out_, err_)) {
      if (Clock::now() > give_up || !read_some(100)) return done(out_, err_);
    }
    return true;
  }

  // Reads to the end of both streams and reaps it. Returns its exit code.
  int finish() {
    read_until([](const std::string&, const std::string&) { return false; });
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  // Waits up to `ms` for output; false once both streams have ended.
  bool read_some(int ms) {
    pollfd p[2] = {{fds_[0], POLLIN, 0}, {fds_[1], POLLIN, 0}};
    if (fds_[0] < 0 && fds_[1] < 0) return false;
    if (::poll(p, 2, ms) <= 0) return true;
    std::string* sinks[2] = {&out_, &err_};
    for (int i = 0; i < 2; ++i) {
      if (fds_[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP))) continue;
      char buffer[4096];
      const ssize_t n = ::read(fds_[i], buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds_[i]);
        fds_[i] = -1;
      }
    }
    return true;
  }

  pid_t pid_ = -1;
  int fds_[2] = {-1, -1};
  std::string out_, err_;
};

// Sets the hold hook for the life of the object: the worker that reads `name` waits on the
// FIFO `gate` until release().
class HeldImage {
 public:
  HeldImage(const std::string& name, fs::path gate) : gate_(std::move(gate)) {
    if (::mkfifo(gate_.c_str(), 0600) != 0) throw std::runtime_error("mkfifo");
    ::setenv("FORKPOOL_IMAGES_HOLD_ON", name.c_str(), 1);
    ::setenv("FORKPOOL_IMAGES_HOLD_FIFO", gate_.c_str(), 1);
  }
  ~HeldImage() {
    ::unsetenv("FORKPOOL_IMAGES_HOLD_ON");
    ::unsetenv("FORKPOOL_IMAGES_HOLD_FIFO");
  }
  HeldImage(const HeldImage&) = delete;
  HeldImage& operator=(const HeldImage&) = delete;

  // Lets the worker go on: opens the gate for writing once the worker waits on it, and closes it.
  bool release() const {
    const auto give_up = Clock::now() + kPatience;
    while (Clock::now() < give_up) {
      const int fd = ::open(gate_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0) {
        ::close(fd);
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // ENXIO: not waiting yet
    }
    return false;
  }

 private:
  fs::path gate_;
};

std::vector<nlohmann::json> log_lines(const fs::path& log) {
  std::vector<nlohmann::json> lines;
  const std::string text = read_bytes(log);
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    if (end == std::string::npos) {
      ADD_FAILURE() << "a line without its newline: " << text.substr(start);
      break;
    }
    lines.push_back(nlohmann::json::parse(text.substr(start, end - start)));
    start = end + 1;
  }
  return lines;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class ImagesWhileRunningTest : public LeakCheckedTest, public ::testing::WithParamInterface<const char*> {};

// a_bad fails and b_good is done while z_held is still being made: the failure is on stderr,
// b_good's -v line on stdout and both in the log, and nothing of the end (the summary) yet.
TEST_P(ImagesWhileRunningTest, EachItemIsToldAsItEndsWhileAnotherStillRuns) {
  TempDir dir;
  write_bytes(dir / "in" / "a_bad.jpg", "not a picture\n");
  write_image(dir / "in" / "b_good.jpg", synthetic_image(80, 60, 3, 1));
  write_image(dir / "in" / "z_held.jpg", synthetic_image(80, 60, 3, 2));
  const fs::path log = dir / "items.log";
  HeldImage held("z_held.jpg", dir / "gate");
  RunningCommand run({FORKPOOL_BINARY, "images", (dir / "in").native(), (dir / "out").native(),
                      "--op", "gray", "-v", "-j", "2", "--backend", GetParam(), "--log", log.native(),
                      "--json", (dir / "report.json").native()});
  const bool told = run.read_until([](const std::string& out, const std::string& err) {
    return has(err, "a_bad.jpg: not a JPEG") && has(out, "b_good.jpg -> ");
  });
  EXPECT_TRUE(told) << "stdout: " << run.out() << "\nstderr: " << run.err();
  EXPECT_FALSE(has(run.out(), "forkpool images:")) << "the batch has not ended: " << run.out();
  EXPECT_FALSE(fs::exists(dir / "out" / "z_held.jpg"));
  auto lines = log_lines(log);  // written before the lines above were printed
  ASSERT_EQ(lines.size(), 2u) << read_bytes(log);
  std::ranges::sort(lines, {}, [](const nlohmann::json& j) { return j["input"].get<std::string>(); });
  EXPECT_EQ(lines[0]["input"], (dir / "in" / "a_bad.jpg").native());
  EXPECT_EQ(lines[0]["status"], "failed");
  EXPECT_EQ(lines[0]["error"], "not a JPEG, PNG, WebP or TIFF image");
  EXPECT_TRUE(lines[0]["ms"].is_null());
  EXPECT_EQ(lines[1]["output"], (dir / "out" / "b_good.jpg").native());
  EXPECT_EQ(lines[1]["status"], "done");
  EXPECT_TRUE(lines[1]["error"].is_null());
  EXPECT_TRUE(lines[1]["ms"].is_number());
  for (const auto& line : lines) EXPECT_LT(line["worker"].get<unsigned>(), 2u) << line;

  ASSERT_TRUE(held.release());
  EXPECT_EQ(run.finish(), 2) << run.err();
  EXPECT_TRUE(has(run.out(), "2 done, 0 skipped, 1 failed")) << run.out();
  lines = log_lines(log);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2]["input"], (dir / "in" / "z_held.jpg").native());
  EXPECT_EQ(lines[2]["status"], "done");
  // The report names the same worker for each image as the log.
  const auto report = nlohmann::json::parse(read_bytes(dir / "report.json"));
  ASSERT_EQ(report["items"].size(), 3u);
  for (const auto& item : report["items"]) {
    const auto line = std::ranges::find(lines, item["input"], [](const nlohmann::json& l) { return l["input"]; });
    ASSERT_NE(line, lines.end()) << item;
    EXPECT_EQ(item["worker"], (*line)["worker"]) << item;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ImagesWhileRunningTest, ::testing::Values("processes", "threads"));

// A re-run logs the images the plan skipped, with why; `--log -` makes stdout the log alone.
TEST_F(ImagesLiveTest, TheLogOnStdoutHoldsOneJsonLinePerImageAndNothingElse) {
  TempDir dir;
  write_image(dir / "in" / "a.jpg", synthetic_image(80, 60, 3, 1));
  write_image(dir / "in" / "b.png", synthetic_image(80, 60, 4, 2));
  auto first = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray", "-q"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  write_image(dir / "in" / "c.jpg", synthetic_image(80, 60, 3, 3));
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray", "-v",
                            "--log", "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto log = dir / "stdout";
  write_bytes(log, r.out);
  auto lines = log_lines(log);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  for (const auto& line : lines) {
    std::vector<std::string> keys;
    for (const auto& [key, value] : line.items()) keys.push_back(key);
    std::ranges::sort(keys);
    EXPECT_EQ(keys, (std::vector<std::string>{"error", "input", "ms", "output", "status", "worker"}));
    const bool made = line["input"] == (dir / "in" / "c.jpg").native();
    EXPECT_EQ(line["status"], made ? "done" : "skipped") << line;
    if (!made) {
      // The output was there, made by this recipe: no worker touched it.
      EXPECT_NE(line["error"].get<std::string>().find("up to date"), std::string::npos) << line;
      EXPECT_TRUE(line["worker"].is_null());
    }
  }
}

TEST_F(ImagesLiveTest, ALogThatCannotBeOpenedIsRefusedBeforeAnyWork) {
  TempDir dir;
  write_image(dir / "in" / "a.jpg", synthetic_image(80, 60, 3, 1));
  const std::string a = read_bytes(dir / "in" / "a.jpg");
  struct Case { std::string log; std::string says; };
  const std::vector<Case> cases{
      {(dir / "missing" / "items.log").native(), "--log " + (dir / "missing" / "items.log").native() +
                                                     ": the folder " + (dir / "missing").native() +
                                                     " does not exist"},
      // The output folder is made by the run, after the log is opened.
      {(dir / "out" / "items.log").native(), "does not exist"},
      {(dir / "in").native(), "is a folder"},
      {(dir / "in" / "a.jpg").native(), "is an input"},
      {(dir / "report.json").native(), "are the same file"},
  };
  for (const auto& c : cases) {
    auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray",
                              "--json", (dir / "report.json").native(), "--log", c.log});
    EXPECT_EQ(r.exit_code, 1) << c.log << ": " << r.err;
    EXPECT_TRUE(has(r.err, c.says)) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(dir / "out")) << c.log;
  }
  EXPECT_TRUE(read_bytes(dir / "in" / "a.jpg") == a) << "the input was truncated";
}

TEST_F(ImagesLiveTest, ALogThatFailsMidRunIsOneLineAndExitTwo) {
  TempDir dir;
  for (int i = 0; i < 3; ++i)
    write_image(dir / "in" / ("img" + std::to_string(i) + ".jpg"), synthetic_image(80, 60, 3, i));
  fs::create_symlink("/dev/full", dir / "items.log");
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray", "-q",
                            "--log", (dir / "items.log").native()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, "forkpool: cannot write the log " + (dir / "items.log").native() +
                       ": write(/dev/full): No space left on device\n");
  EXPECT_EQ(files_under(dir / "out").size(), 3u) << "the images are made all the same";
  EXPECT_TRUE(fs::is_symlink(dir / "items.log"));
}

// A name that is not UTF-8 cannot be in JSON as it is: U+FFFD in its place and the exact bytes
// beside it, as in the --json report; it must not throw.
TEST_F(ImagesLiveTest, ANameThatIsNotUtf8IsLoggedWithItsBytes) {
  TempDir dir;
  const std::string latin1 = "caf\xe9.jpg";
  write_image(dir / "in" / latin1, synthetic_image(80, 60, 3, 1));
  const fs::path log = dir / "items.log";
  write_bytes(log, "the lines of an older run\n");
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray", "-q",
                            "--log", log.native()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = log_lines(log);
  ASSERT_EQ(lines.size(), 1u) << "a new run starts the log afresh: " << read_bytes(log);
  EXPECT_TRUE(has(lines[0]["input"].get<std::string>(), "caf\xef\xbf\xbd.jpg"));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  const fs::path input = dir / "in" / latin1;
  for (unsigned char c : input.native()) hex += {kHex[c >> 4], kHex[c & 15]};
  EXPECT_EQ(lines[0]["input_hex"], hex);
}

}  // namespace
}  // namespace forkpool::testing
