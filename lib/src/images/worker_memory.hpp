#pragma once
// How an images worker's allocator treats the large buffers every image needs.

namespace forkpool::images {

// Keeps the buffers of one image (the file's bytes, the decoded and the resized pixels: a few
// MB each) in the heap for the next image instead of returning them to the kernel: glibc maps
// each block over 128 KiB (its default, which grows only after a mapped block is freed) with a
// fresh mmap and unmaps it on free, so every image first-touches its buffers anew, a page fault
// per 4 KiB. Blocks of 32 MiB and more (an image decoded whole) are still mapped and given back
// on free, and the heap keeps at most 64 MiB free at its top, so a worker's memory stays that of
// its largest image plus 64 MiB. Process-wide: from a worker's init, once per process.
void keep_image_buffers_for_reuse() noexcept;

}  // namespace forkpool::images
