#pragma once
// The one error type of the ipc layer: which call failed, on what, and errno.

#include <expected>
#include <string>

namespace forkpool::ipc {

// A failed system call. `call` names the function ("shm_open"), `subject` the thing it acted on
// ("/forkpool-1a2b", "fd 7"), `code` is the errno it left. Plain value, any thread.
struct SysError {
  std::string call;
  std::string subject;
  int code = 0;

  // "shm_open(/forkpool-1a2b): Permission denied"
  [[nodiscard]] std::string message() const;
};

template <class T>
using Result = std::expected<T, SysError>;

// Builds the unexpected value for a call that failed with `code` (default: the current errno).
std::unexpected<SysError> sys_failure(std::string call, std::string subject = {}, int code = -1);

}  // namespace forkpool::ipc
