#pragma once
// The one way the ipc layer calls the OS: retry EINTR, turn -1/errno into a SysError.

#include <cerrno>
#include <string_view>
#include <type_traits>

#include "forkpool/ipc/sys_error.hpp"

namespace forkpool::ipc {

// Runs `fn` (a lambda around one syscall that returns -1 or MAP_FAILED-like `failed` on error
// and sets errno) until it does not fail with EINTR. Returns its value or a SysError naming
// `call` and `subject`.
template <class Fn>
auto sys_call(std::string_view call, std::string_view subject, Fn&& fn)
    -> Result<std::invoke_result_t<Fn>> {
  using R = std::invoke_result_t<Fn>;
  for (;;) {
    R r = fn();
    if constexpr (std::is_pointer_v<R>) {
      if (r != reinterpret_cast<R>(-1)) return r;  // MAP_FAILED
    } else {
      if (r != static_cast<R>(-1)) return r;
    }
    if (errno != EINTR) return sys_failure(std::string(call), std::string(subject), errno);
  }
}

}  // namespace forkpool::ipc
