#include "common/leak_check.hpp"

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <thread>

namespace forkpool::testing {
namespace {

std::set<std::string> list_dir(const char* path, bool with_link_targets) {
  std::set<std::string> out;
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
      if (n >= 0) name += " -> " + std::string(target, static_cast<std::size_t>(n));
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
