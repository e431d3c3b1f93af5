#pragma once
// SIGINT and SIGTERM held for the length of a compare, between batches as well as during them.
//
// Each batch catches them with its own SignalCatcher (one per process at a time), so a
// command that runs many batches would, between two of them, die of a Ctrl-C with its
// temporary files left behind. This keeps both signals blocked on the calling thread for its
// life: one that comes between batches waits, pending, and the next batch's catcher reads it
// (a signalfd sees what is pending) and stops at once; after the last batch, take() finds it.
// No handler is installed: signal handling stays the catcher's. Create and destroy it on the
// main thread, before any other thread exists (threads started later inherit the mask).

#include <signal.h>

namespace forkpool::compare {

class HeldInterrupts {
 public:
  HeldInterrupts();
  ~HeldInterrupts();
  HeldInterrupts(const HeldInterrupts&) = delete;
  HeldInterrupts& operator=(const HeldInterrupts&) = delete;

  // A SIGINT or SIGTERM that is pending (then consumed), or 0. Never blocks.
  int take() noexcept;

 private:
  sigset_t old_mask_{};
};

}  // namespace forkpool::compare
