#include "common/sandbox.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>

namespace forkpool::testing {
namespace {

constexpr const char* kUnshare = "/usr/bin/unshare";

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return kSandboxUnavailable;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_child(const std::function<bool()>& enter, const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid < 0) return kSandboxUnavailable;
  if (pid == 0) {
    if (!enter()) ::_exit(kSandboxUnavailable);
    ::_exit(body());
  }
  return wait_for(pid);
}

bool write_proc(const char* path, const std::string& text) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// A mount namespace whose mounts do not propagate back to the rest of the system. Root makes
// one directly; anyone else makes it inside a user namespace in which they are root.
bool enter_private_mount_namespace() {
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  if (uid == 0) {
    if (::unshare(CLONE_NEWNS) != 0) return false;
  } else {
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return false;
    if (!write_proc("/proc/self/setgroups", "deny") ||
        !write_proc("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
        !write_proc("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"))
      return false;
  }
  return ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
}

// Whether `unshare <options> true` runs here; asked once per set of options.
bool unshare_works(const std::string& options) {
  static std::map<std::string, bool> known;
  if (auto it = known.find(options); it != known.end()) return it->second;
  bool works = false;
  if (::access(kUnshare, X_OK) == 0) {
    pid_t pid = ::fork();
    if (pid == 0) {
      int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (null >= 0) ::dup2(null, STDERR_FILENO);
      ::execl(kUnshare, kUnshare, options.c_str(), "true", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    works = pid > 0 && wait_for(pid) == 0;
  }
  known[options] = works;
  return works;
}

}  // namespace

int run_unprivileged(const std::function<int()>& body) {
  return run_child([] { return ::unshare(CLONE_NEWUSER) == 0; }, body);
}

int run_on_small_tmpfs(const std::filesystem::path& folder, std::size_t bytes,
                       const std::function<int()>& body) {
  return run_child(
      [&] {
        const std::string options = "size=" + std::to_string(bytes);
        return enter_private_mount_namespace() &&
               ::mount("tmpfs", folder.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0;
      },
      body);
}

std::vector<std::string> unprivileged_argv(const std::vector<std::string>& argv) {
  if (!unshare_works("-U")) return {};
  std::vector<std::string> out{kUnshare, "-U"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::vector<std::string> on_small_tmpfs_argv(const std::filesystem::path& folder, std::size_t bytes,
                                             const std::filesystem::path& listing,
                                             const std::vector<std::string>& argv) {
  if (!unshare_works("-rm")) return {};
  std::vector<std::string> out{
      kUnshare, "-rm", "/bin/sh", "-c",
      "dir=$1; list=$2; shift 2; mount -t tmpfs -o size=" + std::to_string(bytes) +
          " tmpfs \"$dir\" || exit 125; \"$@\"; rc=$?; ls -A \"$dir\" >\"$list\"; exit $rc",
      "sh", folder.native(), listing.native()};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::vector<std::string> file_size_limited_argv(std::size_t bytes, const std::vector<std::string>& argv) {
  std::vector<std::string> out{"/bin/sh", "-c", "trap '' XFSZ; ulimit -f \"$1\" || exit 125; shift; exec \"$@\"",
                               "sh", std::to_string((bytes + 511) / 512)};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

}  // namespace forkpool::testing
