#pragma once
// Failures on purpose, for tests: makes sys_call() fail a named call with a chosen errno, so
// that every failure path of the ipc layer (ENOSPC, ENOMEM, EMFILE, EAGAIN, ...) can be a unit
// test. leveldb's ErrorEnv and FaultInjectionTestEnv are the model: one seam every OS call goes
// through (here sys_call), the injected error travels the same path as a real one, and the
// test can ask how many times it struck.
//
// Always compiled in: when no fault is armed it costs sys_call one relaxed atomic load, next
// to a syscall of hundreds of nanoseconds; one build serves tests and users, so the paths the
// tests fail are the paths users run. Nothing outside a test arms a fault (no environment
// variable, no flag).

#include <atomic>
#include <optional>
#include <string>
#include <string_view>

namespace forkpool::ipc {

// While it lives, the calls of sys_call named `call` ("posix_fallocate", "mq_open", "read"
// — the name the call's errors carry; "*" for every call) fail with `code` without reaching
// the OS: the first `skip` such calls from now pass, the next `times` fail, later ones pass
// again. ("*" with skip = 0, 1, 2, ... fails each call of an operation in turn.) Rules are
// process-wide (any thread); a forked child inherits them as they stand and counts on its own.
// Tests only; several may be armed at once (the first matching rule strikes).
class InjectedFault {
 public:
  InjectedFault(std::string call, int code, unsigned skip = 0, unsigned times = 1);
  ~InjectedFault();
  InjectedFault(const InjectedFault&) = delete;
  InjectedFault& operator=(const InjectedFault&) = delete;

  // How many calls it has failed in this process so far.
  [[nodiscard]] unsigned hits() const;

 private:
  unsigned id_;
};

namespace detail {

// True while any InjectedFault lives; read by every sys_call.
inline std::atomic<bool> g_faults_armed{false};

// The errno to fail this call of `call` with, or nothing (slow path: only while armed).
std::optional<int> take_injected_fault(std::string_view call);

}  // namespace detail
}  // namespace forkpool::ipc
