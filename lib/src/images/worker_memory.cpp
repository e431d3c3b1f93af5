// glibc's mallopt, set for a worker that handles one image after another.

#include "worker_memory.hpp"

#include <malloc.h>

namespace forkpool::images {

void keep_image_buffers_for_reuse() noexcept {
  // 32 MiB is the largest mmap threshold glibc accepts on 64-bit (half its heap's maximum).
  // Setting either value also turns off glibc's own adjustment of both.
  constexpr int kMapAtOrAbove = 32 << 20;
  constexpr int kKeepFreeAtTop = 64 << 20;
  (void)mallopt(M_MMAP_THRESHOLD, kMapAtOrAbove);
  (void)mallopt(M_TRIM_THRESHOLD, kKeepFreeAtTop);
}

}  // namespace forkpool::images
