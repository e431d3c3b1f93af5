#include "shm_ring.hpp"

#include <bit>
#include <cerrno>
#include <cstring>
#include <new>

namespace forkpool::ipc::detail {
namespace {

// Wakes the other side if it armed its flag; the exchange makes the wake-up happen once.
bool take_flag(std::uint32_t& flag) noexcept {
  std::atomic_ref f(flag);
  return f.load(std::memory_order_relaxed) != 0 && f.exchange(0, std::memory_order_relaxed) != 0;
}

}  // namespace

Result<std::uint64_t> ring_capacity(std::size_t requested) {
  if (requested > kMaxRingBytes)
    return sys_failure("shm ring", std::to_string(requested) + " bytes", EINVAL);
  return std::bit_ceil(std::max<std::uint64_t>(requested, kMinRingBytes));
}

void init_ring(std::byte* base, std::uint64_t capacity) {
  RingHeader h{};
  h.magic = kRingMagic;
  h.version = kRingVersion;
  h.header_bytes = sizeof(RingHeader);
  h.capacity = capacity;
  h.data_offset = sizeof(RingHeader);
  h.head = 0;
  h.producer_sleeping = 0;
  h.tail = 0;
  h.consumer_sleeping = 1;
  ::new (base) RingHeader(h);
}

Result<RingView> RingView::attach(std::byte* base, std::size_t region_bytes) {
  if (region_bytes < sizeof(RingHeader))
    return sys_failure("shm ring", "region smaller than its header", EPROTO);
  auto* h = std::launder(reinterpret_cast<RingHeader*>(base));
  if (h->magic != kRingMagic || h->version != kRingVersion ||
      h->header_bytes != sizeof(RingHeader))
    return sys_failure("shm ring", "unknown header (magic or version)", EPROTO);
  if (!std::has_single_bit(h->capacity) || h->data_offset < sizeof(RingHeader) ||
      h->data_offset > region_bytes || h->capacity > region_bytes - h->data_offset)
    return sys_failure("shm ring", "capacity does not fit the segment", EPROTO);
  return RingView(h, base + h->data_offset, h->capacity);
}

void RingView::copy_in(std::uint64_t index, const std::byte* src, std::size_t n) const noexcept {
  std::size_t pos = static_cast<std::size_t>(index & (capacity_ - 1));
  std::size_t first = std::min<std::size_t>(n, static_cast<std::size_t>(capacity_) - pos);
  std::memcpy(data_ + pos, src, first);
  if (n > first) std::memcpy(data_, src + first, n - first);
}

void RingView::copy_out(std::uint64_t index, std::byte* dst, std::size_t n) const noexcept {
  std::size_t pos = static_cast<std::size_t>(index & (capacity_ - 1));
  std::size_t first = std::min<std::size_t>(n, static_cast<std::size_t>(capacity_) - pos);
  std::memcpy(dst, data_ + pos, first);
  if (n > first) std::memcpy(dst + first, data_, n - first);
}

bool RingView::publish_head(std::uint64_t head) const noexcept {
  std::atomic_ref(header_->head).store(head, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return take_flag(header_->consumer_sleeping);
}

bool RingView::publish_tail(std::uint64_t tail) const noexcept {
  std::atomic_ref(header_->tail).store(tail, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return take_flag(header_->producer_sleeping);
}

void RingView::arm_consumer_sleep() const noexcept {
  std::atomic_ref(header_->consumer_sleeping).store(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

void RingView::arm_producer_sleep() const noexcept {
  std::atomic_ref(header_->producer_sleeping).store(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

}  // namespace forkpool::ipc::detail
