#include "forkpool/ipc/signal_catcher.hpp"

#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <utility>

#include "forkpool/ipc/child_process.hpp"
#include "forkpool/ipc/sys_call.hpp"

namespace forkpool::ipc {
namespace {

// The thread whose signalfd collects the signals; 0 while no catcher lives.
std::atomic<pid_t> g_catching_thread{0};

pid_t current_tid() noexcept { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// Runs only in a thread that does not block the signal. A thread-directed signal to the
// catching thread stays pending there, where its signalfd reads it.
void forward_signal(int sig) {
  int saved = errno;
  pid_t tid = g_catching_thread.load(std::memory_order_relaxed);
  if (tid > 0 && tid != current_tid()) ::syscall(SYS_tgkill, ::getpid(), tid, sig);
  errno = saved;
}

}  // namespace

Result<SignalCatcher> SignalCatcher::create(std::initializer_list<int> signals) {
  pid_t expected = 0;
  if (!g_catching_thread.compare_exchange_strong(expected, current_tid()))
    return sys_failure("SignalCatcher", "another catcher is active", EBUSY);

  SignalCatcher c;
  c.signals_.assign(signals.begin(), signals.end());
  sigset_t set;
  sigemptyset(&set);
  for (int s : c.signals_) sigaddset(&set, s);

  // Block first, so that nothing arriving from here on runs the old action in this thread.
  if (int rc = ::pthread_sigmask(SIG_BLOCK, &set, &c.old_mask_); rc != 0) {
    g_catching_thread.store(0);
    return sys_failure("pthread_sigmask", "SIG_BLOCK", rc);
  }
  c.active_ = true;  // from here the destructor undoes what was done

  auto fd = sys_call("signalfd", {}, [&] { return ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK); });
  if (!fd) return std::unexpected(fd.error());
  c.fd_.reset(*fd);

  struct sigaction forward {};
  forward.sa_handler = forward_signal;
  sigfillset(&forward.sa_mask);
  forward.sa_flags = SA_RESTART;
  for (int s : c.signals_) {
    struct sigaction old {};
    auto r = sys_call("sigaction", signal_name(s), [&] { return ::sigaction(s, &forward, &old); });
    if (!r) return std::unexpected(r.error());
    c.old_actions_.push_back(old);
  }
  return c;
}

SignalCatcher::SignalCatcher(SignalCatcher&& other) noexcept
    : fd_(std::move(other.fd_)),
      signals_(std::move(other.signals_)),
      old_actions_(std::move(other.old_actions_)),
      old_mask_(other.old_mask_),
      active_(std::exchange(other.active_, false)) {}

SignalCatcher& SignalCatcher::operator=(SignalCatcher&& other) noexcept {
  if (this != &other) {
    restore();
    fd_ = std::move(other.fd_);
    signals_ = std::move(other.signals_);
    old_actions_ = std::move(other.old_actions_);
    old_mask_ = other.old_mask_;
    active_ = std::exchange(other.active_, false);
  }
  return *this;
}

SignalCatcher::~SignalCatcher() { restore(); }

Result<std::optional<int>> SignalCatcher::take() {
  signalfd_siginfo info{};
  auto n = sys_call("read", "signalfd", [&] { return ::read(fd_.get(), &info, sizeof info); });
  if (!n) {
    if (n.error().code == EAGAIN) return std::optional<int>();
    return std::unexpected(n.error());
  }
  return std::optional<int>(static_cast<int>(info.ssi_signo));
}

void SignalCatcher::restore() noexcept {
  if (!active_) return;
  active_ = false;
  // Signals that arrived for the batch are consumed here; one arriving after this point finds
  // the old handler once the mask is restored.
  if (fd_) {
    while (true) {
      auto s = take();
      if (!s || !*s) break;
    }
  }
  for (std::size_t i = 0; i < old_actions_.size(); ++i)
    ::sigaction(signals_[i], &old_actions_[i], nullptr);
  ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  fd_.reset();
  g_catching_thread.store(0);
}

void SignalCatcher::restore_in_child() noexcept {
  if (!active_) return;
  active_ = false;
  for (std::size_t i = 0; i < old_actions_.size(); ++i)
    ::sigaction(signals_[i], &old_actions_[i], nullptr);
  ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  fd_.reset();
  g_catching_thread.store(0);
}

}  // namespace forkpool::ipc
