#include "forkpool/ipc/deadline.hpp"

#include <climits>

namespace forkpool::ipc {

int Deadline::poll_timeout_ms() const noexcept {
  if (is_never()) return -1;
  auto now = Clock::now();
  // Compare before subtracting: a deadline at time_point::min() (a common "already expired")
  // would overflow when_ - now.
  if (when_ <= now) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(when_ - now).count();
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

}  // namespace forkpool::ipc
