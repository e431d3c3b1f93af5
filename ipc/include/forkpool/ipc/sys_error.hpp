#pragma once
// The one error type of the ipc layer: which call failed, on what, and errno.

#include <expected>
#include <string>
#include <utility>

namespace forkpool::ipc {

// A failed system call. `call` names the function ("shm_open"), `subject` the thing it acted on
// ("/forkpool-1a2b", "fd 7"), `code` is the errno it left. `hint`, where the ipc layer knows
// more than errno says (a limit that is reached, and what to do about it), is that in words.
// Plain value, any thread.
struct SysError {
  SysError() = default;
  SysError(std::string call_, std::string subject_, int code_, std::string hint_ = {})
      : call(std::move(call_)), subject(std::move(subject_)), code(code_), hint(std::move(hint_)) {}

  std::string call;
  std::string subject;
  int code = 0;
  std::string hint;

  // "shm_open(/forkpool-1a2b): Permission denied", or with a hint, the hint first and the call
  // after it: "too many open files: ... raise it with ulimit -n (pipe2: Too many open files)".
  [[nodiscard]] std::string message() const;
};

template <class T>
using Result = std::expected<T, SysError>;

// Builds the unexpected value for a call that failed with `code` (default: the current errno).
// EMFILE and ENFILE get a hint that names the limit and how to raise it.
std::unexpected<SysError> sys_failure(std::string call, std::string subject = {}, int code = -1);

// The hint sys_failure gives `code`, or "" (for the errors it has nothing to add to).
std::string limit_hint(int code);

// "RLIMIT_NOFILE = 1024", "RLIMIT_MSGQUEUE = 819200 bytes", "RLIMIT_NPROC = unlimited": this
// process's soft limit, for hints.
std::string rlimit_text(int resource, const char* name, const char* unit = "");

}  // namespace forkpool::ipc
