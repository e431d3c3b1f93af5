#pragma once
// A forked child process, owned through its pid and a pidfd.

#include <sys/resource.h>
#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "forkpool/ipc/sys_error.hpp"
#include "forkpool/ipc/unique_fd.hpp"

namespace forkpool::ipc {

class SignalCatcher;

// How a child ended: the status as waitpid() reports it, and the CPU it used.
struct ExitInfo {
  int status = 0;
  ::rusage usage{};

  [[nodiscard]] bool exited() const noexcept;
  [[nodiscard]] bool signaled() const noexcept;
  [[nodiscard]] int exit_code() const noexcept;    // -1 unless exited()
  [[nodiscard]] int term_signal() const noexcept;  // 0 unless signaled()
  // "exited with status 3", "killed by SIGSEGV"
  [[nodiscard]] std::string describe() const;
};

// Move-only owner of a child process: its pid and a pidfd that becomes readable when it exits.
// The owner reaps it; the destructor kills (SIGKILL) and reaps a child not yet reaped, so no
// path leaves a zombie or an orphan. Used by the process that forked the child, one thread at a
// time. A process that inherited an owner through a later fork() must call close_after_fork()
// on it instead of letting it destruct (the child is its sibling, not its own).
class ChildProcess {
 public:
  // Forks. The child is a worker of this process, set up in one place (enter_child in
  // child_process.cpp) before body() runs:
  // - it dies with this process: PR_SET_PDEATHSIG(SIGKILL), and it exits (71) at once if this
  //   process is already gone;
  // - `catcher`, this process's live SignalCatcher if it has one, is undone in the child (its
  //   handlers and mask as before the catcher, its fd closed; this process's is untouched);
  // - SIGINT is ignored (a terminal's Ctrl-C reaches the whole process group: this process
  //   decides what happens, and ends its workers with SIGTERM), SIGTERM is at its default
  //   action and not blocked. Every other disposition (SIGPIPE: main's) is inherited.
  // Then it runs body() and _exit()s with its return value (70 when body throws). stdio
  // buffers are flushed first so that the child does not repeat them. Never returns in the
  // child. Call it while this process has no other thread that could hold a lock the child
  // needs (malloc in glibc is safe; other libraries' locks may not be).
  static Result<ChildProcess> spawn(std::function<int()> body, SignalCatcher* catcher = nullptr);

  ChildProcess() = default;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  // Readable (EPOLLIN) once the child has exited, before it is reaped. -1 when empty.
  [[nodiscard]] int pidfd() const noexcept { return pidfd_.get(); }
  [[nodiscard]] bool valid() const noexcept { return pid_ > 0; }

  // pidfd_send_signal: cannot hit a recycled pid.
  [[nodiscard]] Result<void> signal(int sig) const;
  // Blocks until the child exits, reaps it and empties this owner.
  Result<ExitInfo> wait();
  // Reaps the child if it has exited (and empties this owner); nullopt while it runs.
  Result<std::optional<ExitInfo>> try_wait();

  // In a process forked after this owner was made: drop the pidfd copy and forget the pid
  // without signalling or waiting.
  void close_after_fork() noexcept;

 private:
  ChildProcess(pid_t pid, UniqueFd pidfd) noexcept : pid_(pid), pidfd_(std::move(pidfd)) {}
  void kill_and_reap() noexcept;

  pid_t pid_ = -1;
  UniqueFd pidfd_;
};

// "SIGKILL", "SIGSEGV", ...; "signal 42" for a number without a name.
std::string signal_name(int sig);

}  // namespace forkpool::ipc
