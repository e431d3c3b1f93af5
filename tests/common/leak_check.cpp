#include "common/leak_check.hpp"

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <thread>

namespace forkpool::testing {
namespace {

// The value of `name` in a sanitizer's option string: pairs name=value separated by spaces,
// commas or colons, a value optionally in single or double quotes (the sanitizers' own syntax).
std::string option_value(std::string_view options, std::string_view name) {
  std::string found;
  std::size_t i = 0;
  auto separator = [](char c) { return c == ' ' || c == ',' || c == ':' || c == '\n' || c == '\t' || c == '\r'; };
  while (i < options.size()) {
    while (i < options.size() && separator(options[i])) ++i;
    std::size_t eq = options.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string_view key = options.substr(i, eq - i);
    std::size_t end = eq + 1;
    std::string value;
    if (end < options.size() && (options[end] == '\'' || options[end] == '"')) {
      std::size_t close = options.find(options[end], end + 1);
      if (close == std::string_view::npos) close = options.size();
      value = options.substr(end + 1, close - end - 1);
      end = close + 1;
    } else {
      while (end < options.size() && !separator(options[end])) ++end;
      value = options.substr(eq + 1, end - eq - 1);
    }
    if (key == name) found = value;  // the last one wins, as in the sanitizers
    i = end;
  }
  return found;
}

bool is_sanitizer_log(const std::string& target, const std::vector<std::string>& log_paths) {
  for (const auto& path : log_paths)
    if (target.starts_with(path + ".")) return true;
  return false;
}

std::set<std::string> list_dir(const char* path, bool with_link_targets) {
  std::set<std::string> out;
  const auto log_paths = with_link_targets ? sanitizer_log_paths() : std::vector<std::string>{};
  DIR* dir = ::opendir(path);
  if (!dir) return out;
  int own_fd = ::dirfd(dir);
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (with_link_targets) {
      if (name == std::to_string(own_fd)) continue;  // the directory stream itself
      char target[PATH_MAX];
      std::string link = std::string(path) + "/" + name;
      ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
      if (n >= 0) {
        std::string to(target, static_cast<std::size_t>(n));
        if (is_sanitizer_log(to, log_paths)) continue;
        name += " -> " + to;
      }
    }
    out.insert(name);
  }
  ::closedir(dir);
  return out;
}

std::string difference(const char* what, const std::set<std::string>& before,
                       const std::set<std::string>& after) {
  std::string out;
  for (const auto& item : after)
    if (!before.contains(item)) out += std::string(what) + ": " + item + "\n";
  return out;
}

}  // namespace

std::vector<std::string> sanitizer_log_paths() {
  std::vector<std::string> out;
  for (const char* variable : {"TSAN_OPTIONS", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    const char* options = std::getenv(variable);
    if (!options) continue;
    std::string path = option_value(options, "log_path");
    if (path.empty() || path == "stderr" || path == "stdout") continue;
    std::error_code ec;  // a relative log_path is opened relative to the working directory
    auto absolute = std::filesystem::absolute(path, ec);
    out.push_back(ec ? path : absolute.lexically_normal().native());
  }
  return out;
}

ResourceSnapshot ResourceSnapshot::take() {
  return {list_dir("/proc/self/fd", true), list_dir("/dev/shm", false),
          list_dir("/dev/mqueue", false)};
}

int unreaped_children() {
  // /proc/<pid>/task/<tid>/children lists the live children of each thread of this process.
  int count = 0;
  for (const auto& task : list_dir("/proc/self/task", false)) {
    std::string path = "/proc/self/task/" + task + "/children";
    if (FILE* f = std::fopen(path.c_str(), "r")) {
      int pid;
      while (std::fscanf(f, "%d", &pid) == 1) ++count;
      std::fclose(f);
    }
  }
  return count;
}

std::string leaked(const ResourceSnapshot& before, const ResourceSnapshot& after) {
  return difference("fd", before.fds, after.fds) + difference("/dev/shm", before.shm, after.shm) +
         difference("/dev/mqueue", before.mqueue, after.mqueue);
}

void LeakCheckedTest::SetUp() {
  ASSERT_EQ(unreaped_children(), 0) << "a child process was left over by an earlier test";
  before_ = ResourceSnapshot::take();
}

void LeakCheckedTest::TearDown() {
  // A child that was just killed may need a moment before the code under test reaps it;
  // the check is that it is reaped, not that it is instantaneous.
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (unreaped_children() > 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(unreaped_children(), 0) << "the test left a child process running or unreaped";
  // Other test processes running in parallel create named objects and unlink them a moment
  // later; a leak is what is still there after that moment.
  std::string what = leaked(before_, ResourceSnapshot::take());
  for (int retry = 0; !what.empty() && retry < 20; ++retry) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    what = leaked(before_, ResourceSnapshot::take());
  }
  EXPECT_TRUE(what.empty()) << "the test leaked:\n" << what;
}

}  // namespace forkpool::testing
