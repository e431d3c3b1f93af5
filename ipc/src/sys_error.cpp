#include "forkpool/ipc/sys_error.hpp"

#include <cerrno>
#include <cstring>

namespace forkpool::ipc {

std::string SysError::message() const {
  std::string out = call;
  if (!subject.empty()) out += "(" + subject + ")";
  out += ": ";
  out += std::strerror(code);
  return out;
}

std::unexpected<SysError> sys_failure(std::string call, std::string subject, int code) {
  return std::unexpected(SysError{std::move(call), std::move(subject), code < 0 ? errno : code});
}

}  // namespace forkpool::ipc
