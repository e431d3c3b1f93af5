#include "forkpool/ipc/unique_fd.hpp"

#include <unistd.h>

namespace forkpool::ipc {

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0 && fd_ != fd) {
    // Linux releases the fd even when close() reports EINTR, so it must not be retried.
    ::close(fd_);
  }
  fd_ = fd;
}

}  // namespace forkpool::ipc
