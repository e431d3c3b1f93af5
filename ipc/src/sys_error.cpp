#include "forkpool/ipc/sys_error.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace forkpool::ipc {

std::string SysError::message() const {
  std::string out = call;
  if (!subject.empty()) out += "(" + subject + ")";
  out += ": ";
  out += std::strerror(code);
  if (hint.empty()) return out;
  return hint + " (" + out + ")";
}

std::string rlimit_text(int resource, const char* name, const char* unit) {
  rlimit limit{};
  if (::getrlimit(resource, &limit) != 0) return name;
  if (limit.rlim_cur == RLIM_INFINITY) return std::string(name) + " = unlimited";
  return std::string(name) + " = " + std::to_string(limit.rlim_cur) + unit;
}

std::string limit_hint(int code) {
  if (code == EMFILE)
    return "too many open files: this process has used up its descriptors (" +
           rlimit_text(RLIMIT_NOFILE, "RLIMIT_NOFILE") + "): raise the limit with ulimit -n";
  if (code == ENFILE)
    return "the system's table of open files is full (fs.file-max): close other programs' "
           "files or raise fs.file-max";
  return {};
}

std::unexpected<SysError> sys_failure(std::string call, std::string subject, int code) {
  if (code < 0) code = errno;
  return std::unexpected(SysError{std::move(call), std::move(subject), code, limit_hint(code)});
}

}  // namespace forkpool::ipc
