#pragma once
// Turns asynchronous signals (SIGINT, SIGTERM) into readable events on a signalfd.

#include <signal.h>

#include <initializer_list>
#include <optional>
#include <vector>

#include "forkpool/ipc/sys_error.hpp"
#include "forkpool/ipc/unique_fd.hpp"

namespace forkpool::ipc {

// While it lives, the given signals no longer run their usual action: they queue on fd(),
// where an event loop reads them. The creating thread blocks them (signalfd only sees blocked
// signals), and a handler is installed for the process so that a signal delivered to any other
// thread that does not block it (a pool thread) is forwarded to the creating thread. The
// destructor discards what is still queued and restores the handlers and the thread's mask.
// One at a time per process (create() fails with EBUSY otherwise); create, read and destroy it
// on one thread. A child forked while it lives calls restore_in_child() first thing.
class SignalCatcher {
 public:
  static Result<SignalCatcher> create(std::initializer_list<int> signals);

  SignalCatcher() = default;
  SignalCatcher(SignalCatcher&& other) noexcept;
  SignalCatcher& operator=(SignalCatcher&& other) noexcept;
  SignalCatcher(const SignalCatcher&) = delete;
  SignalCatcher& operator=(const SignalCatcher&) = delete;
  ~SignalCatcher();

  // Readable while a caught signal is queued.
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  // The next queued signal, or nullopt when none is; never blocks.
  Result<std::optional<int>> take();

  // In a process forked while this catcher lived: restores the handlers and signal mask as they
  // were before create() and closes the fd, without touching the parent's state.
  void restore_in_child() noexcept;

 private:
  void restore() noexcept;

  UniqueFd fd_;
  std::vector<int> signals_;
  std::vector<struct sigaction> old_actions_;
  sigset_t old_mask_{};
  bool active_ = false;
};

}  // namespace forkpool::ipc
