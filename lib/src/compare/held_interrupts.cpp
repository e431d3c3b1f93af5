#include "forkpool/compare/held_interrupts.hpp"

#include <cerrno>
#include <ctime>

namespace forkpool::compare {
namespace {

sigset_t interrupts() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

HeldInterrupts::HeldInterrupts() {
  sigset_t set = interrupts();
  ::pthread_sigmask(SIG_BLOCK, &set, &old_mask_);
}

HeldInterrupts::~HeldInterrupts() {
  // One still pending would act the moment it is unblocked: consume it first.
  while (take() != 0) {
  }
  ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

int HeldInterrupts::take() noexcept {
  sigset_t set = interrupts();
  timespec zero{0, 0};
  int sig = ::sigtimedwait(&set, nullptr, &zero);
  return sig > 0 ? sig : 0;
}

}  // namespace forkpool::compare
