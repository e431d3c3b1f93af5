#include "forkpool/ipc/child_process.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <utility>

#include "forkpool/ipc/signal_catcher.hpp"
#include "forkpool/ipc/sys_call.hpp"

namespace forkpool::ipc {
namespace {

std::string pid_subject(pid_t pid) { return "pid " + std::to_string(pid); }

// glibc 2.36's <sys/pidfd.h> lacks extern "C", so C++ cannot link its wrappers: call directly.
int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
int pidfd_send_signal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// What every forked worker does first (see ChildProcess::spawn): the one place that sets up
// a worker process, for the process pool and the benchmark's peers alike.
void enter_child(pid_t parent, SignalCatcher* catcher) noexcept {
  // The parent may die between fork() and prctl(); then we were already re-parented and the
  // death signal would never come.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(71);
  // Signal state before anything else, so that nothing the body does runs with the parent's
  // blocked mask or handlers.
  if (catcher) catcher->restore_in_child();
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGTERM, SIG_DFL);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ::pthread_sigmask(SIG_UNBLOCK, &term, nullptr);
}

[[noreturn]] void run_child(pid_t parent, SignalCatcher* catcher, const std::function<int()>& body) {
  enter_child(parent, catcher);
  int code = 70;
  try {
    code = body();
  } catch (...) {
    code = 70;
  }
  std::fflush(nullptr);
  ::_exit(code);
}

}  // namespace

bool ExitInfo::exited() const noexcept { return WIFEXITED(status); }
bool ExitInfo::signaled() const noexcept { return WIFSIGNALED(status); }
int ExitInfo::exit_code() const noexcept { return exited() ? WEXITSTATUS(status) : -1; }
int ExitInfo::term_signal() const noexcept { return signaled() ? WTERMSIG(status) : 0; }

std::string ExitInfo::describe() const {
  if (signaled()) return "killed by " + signal_name(term_signal());
  if (exited()) return "exited with status " + std::to_string(exit_code());
  return "ended with wait status " + std::to_string(status);
}

Result<ChildProcess> ChildProcess::spawn(std::function<int()> body, SignalCatcher* catcher) {
  std::fflush(nullptr);
  pid_t parent = ::getpid();
  auto pid = sys_call("fork", {}, [] { return ::fork(); });
  if (!pid) {
    SysError error = pid.error();
    if (error.code == EAGAIN)
      error.hint = "too many processes (" + rlimit_text(RLIMIT_NPROC, "RLIMIT_NPROC") +
                   ", or the system's or the cgroup's limit on tasks): raise the limit with ulimit -u";
    return std::unexpected(std::move(error));
  }
  if (*pid == 0) run_child(parent, catcher, body);

  // pidfd_open sets close-on-exec itself. The pid cannot be recycled before we reap it.
  auto fd = sys_call("pidfd_open", pid_subject(*pid), [&] { return pidfd_open(*pid); });
  if (!fd) {
    ::kill(*pid, SIGKILL);
    ::waitpid(*pid, nullptr, 0);
    return std::unexpected(fd.error());
  }
  return ChildProcess(*pid, UniqueFd(*fd));
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), pidfd_(std::move(other.pidfd_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
  }
  return *this;
}

ChildProcess::~ChildProcess() { kill_and_reap(); }

void ChildProcess::kill_and_reap() noexcept {
  if (pid_ <= 0) return;
  (void)signal(SIGKILL);
  (void)wait();
  pid_ = -1;
  pidfd_.reset();
}

Result<void> ChildProcess::signal(int sig) const {
  auto r = sys_call("pidfd_send_signal", pid_subject(pid_),
                    [&] { return pidfd_send_signal(pidfd_.get(), sig); });
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<ExitInfo> ChildProcess::wait() {
  ExitInfo info;
  auto r = sys_call("wait4", pid_subject(pid_),
                    [&] { return ::wait4(pid_, &info.status, 0, &info.usage); });
  if (!r) return std::unexpected(r.error());
  pid_ = -1;
  pidfd_.reset();
  return info;
}

Result<std::optional<ExitInfo>> ChildProcess::try_wait() {
  ExitInfo info;
  auto r = sys_call("wait4", pid_subject(pid_),
                    [&] { return ::wait4(pid_, &info.status, WNOHANG, &info.usage); });
  if (!r) return std::unexpected(r.error());
  if (*r == 0) return std::optional<ExitInfo>();
  pid_ = -1;
  pidfd_.reset();
  return std::optional<ExitInfo>(info);
}

void ChildProcess::close_after_fork() noexcept {
  pid_ = -1;
  pidfd_.reset();
}

std::string signal_name(int sig) {
  if (const char* abbrev = ::sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(sig);
}

}  // namespace forkpool::ipc
