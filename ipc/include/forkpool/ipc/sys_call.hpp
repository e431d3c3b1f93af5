#pragma once
// The one way the ipc layer calls the OS: retry EINTR, turn -1/errno into a SysError.

#include <algorithm>
#include <cerrno>
#include <concepts>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "forkpool/ipc/fault_injection.hpp"
#include "forkpool/ipc/sys_error.hpp"

namespace forkpool::ipc {

namespace detail {

template <class R>
bool call_failed(R r) noexcept {
  if constexpr (std::is_pointer_v<R>) {
    return r == reinterpret_cast<R>(-1);  // MAP_FAILED
  } else {
    return r == static_cast<R>(-1);
  }
}

inline std::string subject_text(std::string_view subject) { return std::string(subject); }
template <std::invocable Subject>
std::string subject_text(const Subject& subject) {
  return std::string(subject());
}

// Runs `fn` until it does not fail with EINTR: its value, nullopt for a failure with one of
// `expected`, or the SysError. An injected fault (fault_injection.hpp) stands in for the call.
template <class Subject, class Fn>
auto sys_call_impl(std::string_view call, const Subject& subject, std::initializer_list<int> expected,
                   Fn& fn) -> Result<std::optional<std::invoke_result_t<Fn>>> {
  using R = std::invoke_result_t<Fn>;
  for (;;) {
    int code;
    if (g_faults_armed.load(std::memory_order_relaxed)) [[unlikely]] {
      if (auto injected = take_injected_fault(call)) {
        code = *injected;
      } else {
        R r = fn();
        if (!call_failed(r)) return r;
        code = errno;
      }
    } else {
      R r = fn();
      if (!call_failed(r)) return r;
      code = errno;
    }
    if (code == EINTR) continue;
    if (std::find(expected.begin(), expected.end(), code) != expected.end()) return std::nullopt;
    return sys_failure(std::string(call), subject_text(subject), code);
  }
}

}  // namespace detail

// Runs `fn` (a lambda around one syscall that returns -1, or MAP_FAILED for a pointer, on error
// and sets errno) until it does not fail with EINTR. Returns its value or a SysError naming
// `call` and `subject`. `subject` is text, or a callable that makes the text, so that a hot
// path builds it only when the call fails.
template <class Subject, class Fn>
auto sys_call(std::string_view call, const Subject& subject, Fn&& fn)
    -> Result<std::invoke_result_t<Fn>> {
  auto r = detail::sys_call_impl(call, subject, {}, fn);
  if (!r) return std::unexpected(std::move(r.error()));
  return **r;
}
template <class Fn>
auto sys_call(std::string_view call, std::string_view subject, Fn&& fn)
    -> Result<std::invoke_result_t<Fn>> {
  return sys_call<std::string_view>(call, subject, std::forward<Fn>(fn));
}

// The "expected errno" form: like sys_call, but a failure with one of `expected` is an answer,
// not an error, and gives an empty optional ({EAGAIN} for a non-blocking call that would block).
template <class Subject, class Fn>
auto sys_call_expecting(std::initializer_list<int> expected, std::string_view call,
                        const Subject& subject, Fn&& fn)
    -> Result<std::optional<std::invoke_result_t<Fn>>> {
  return detail::sys_call_impl(call, subject, expected, fn);
}

}  // namespace forkpool::ipc
