#include "forkpool/ipc/deadline.hpp"

#include <climits>

namespace forkpool::ipc {

int Deadline::poll_timeout_ms() const noexcept {
  if (is_never()) return -1;
  auto left = when_ - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

}  // namespace forkpool::ipc
