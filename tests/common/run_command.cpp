#include "common/run_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <thread>
#include <fstream>

extern char** environ;

namespace forkpool::testing {

CommandOutcome run_command(const std::vector<std::string>& argv, std::chrono::seconds limit,
                           CommandOptions options) {
  CommandOutcome outcome;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2 failed";
    return outcome;
  }
  if (options.stdout_reader_gone) {
    ::close(out_pipe[0]);
    out_pipe[0] = -1;
  }
  int in_pipe[2] = {-1, -1};
  if (options.stdin_data && ::pipe2(in_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2 failed";
    return outcome;
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  if (in_pipe[0] >= 0) posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (in_pipe[0] >= 0) {
    ::close(in_pipe[0]);
    // Non-blocking, fed from the poll loop: a list larger than the pipe must not deadlock
    // against a program that writes before it has read all of it.
    ::fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  }
  if (rc != 0) {
    if (in_pipe[1] >= 0) ::close(in_pipe[1]);
    if (out_pipe[0] >= 0) ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    ADD_FAILURE() << "posix_spawn(" << argv[0] << ") failed: " << rc;
    return outcome;
  }

  auto give_up = std::chrono::steady_clock::now() + limit;
  pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}, {in_pipe[1], POLLOUT, 0}};
  std::string* sinks[2] = {&outcome.out, &outcome.err};
  int open_count = out_pipe[0] >= 0 ? 2 : 1;
  std::size_t fed = 0;
  auto stop_feeding = [&] {
    ::close(fds[2].fd);
    fds[2].fd = -1;
  };
  if (fds[2].fd >= 0 && options.stdin_data->empty()) stop_feeding();
  // A program that exits before reading all of its stdin must fail its test, not kill it.
  struct sigaction ignore {}, saved {};
  ignore.sa_handler = SIG_IGN;
  if (fds[2].fd >= 0) ::sigaction(SIGPIPE, &ignore, &saved);
  const bool restore_sigpipe = fds[2].fd >= 0;
  bool killed = false;
  while (open_count > 0) {
    int r = ::poll(fds, 3, 200);
    if (r < 0 && errno != EINTR) break;
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const std::string& data = *options.stdin_data;
      ssize_t n = ::write(fds[2].fd, data.data() + fed, data.size() - fed);
      if (n > 0) fed += static_cast<std::size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || fed == data.size()) stop_feeding();
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[65536];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      }
    }
    if (!killed && std::chrono::steady_clock::now() > give_up) {
      ::kill(pid, SIGKILL);
      killed = true;
      ADD_FAILURE() << argv[0] << " ran past " << limit.count() << " s and was killed";
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  if (restore_sigpipe) ::sigaction(SIGPIPE, &saved, nullptr);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return outcome;
}

pid_t spawn_quiet(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

bool wait_until_it_blocks_sigint(pid_t pid) {
  // Blocked alone is not enough: pthread_create blocks every signal for a moment (matmul starts
  // a thread while it loads), and a SIGINT sent then is fatal once the mask is back. The
  // SignalCatcher blocks SIGINT and then installs its handler: wait for both.
  auto blocks = [pid] {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    bool blocked = false, caught = false;
    for (std::string line; std::getline(status, line);) {
      const bool blk = line.rfind("SigBlk:", 0) == 0, cgt = line.rfind("SigCgt:", 0) == 0;
      if (!blk && !cgt) continue;
      const bool has_sigint = ((std::stoull(line.substr(7), nullptr, 16) >> (SIGINT - 1)) & 1) != 0;
      (blk ? blocked : caught) = has_sigint;
    }
    return blocked && caught;
  };
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!blocks())
    if (std::chrono::steady_clock::now() >= give_up) return false;
    else std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return true;
}

std::optional<int> wait_for_exit(pid_t pid, std::chrono::seconds limit) {
  int status = 0;
  const auto until = std::chrono::steady_clock::now() + limit;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status;
}

}  // namespace forkpool::testing
