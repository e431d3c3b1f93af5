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
  h.slot_offset = kSlotOffset;
  h.slot_count = kSlotCount;
  h.slot_bytes = kSlotBytes;
  h.data_offset = kSlotOffset + kSlotCount * kSlotBytes;
  h.head = 0;
  h.producer_sleeping = 0;
  h.tail = 0;
  h.message_tail = 0;
  h.consumer_sleeping = 1;
  ::new (base) RingHeader(h);
  // Zero commit words: stamp 0 is never expected (stamps of the first lap are 1..kSlotCount).
  for (std::uint32_t i = 0; i < kSlotCount; ++i)
    ::new (base + kSlotOffset + i * kSlotBytes) RingSlot{};
}

Result<RingView> RingView::attach(std::byte* base, std::size_t region_bytes) {
  if (region_bytes < sizeof(RingHeader))
    return sys_failure("shm ring", "region smaller than its header", EPROTO);
  auto* h = std::launder(reinterpret_cast<RingHeader*>(base));
  if (h->magic != kRingMagic || h->version != kRingVersion ||
      h->header_bytes != sizeof(RingHeader))
    return sys_failure("shm ring", "unknown header (magic or version)", EPROTO);
  if (h->slot_offset != kSlotOffset || h->slot_count != kSlotCount ||
      h->slot_bytes != kSlotBytes || h->data_offset < kSlotOffset + kSlotCount * kSlotBytes)
    return sys_failure("shm ring", "unknown slot layout", EPROTO);
  if (!std::has_single_bit(h->capacity) || h->data_offset > region_bytes ||
      h->capacity > region_bytes - h->data_offset)
    return sys_failure("shm ring", "capacity does not fit the segment", EPROTO);
  const std::uint64_t head = std::atomic_ref(h->head).load(std::memory_order_acquire);
  const std::uint64_t tail = std::atomic_ref(h->tail).load(std::memory_order_acquire);
  if (head - tail > h->capacity)
    return sys_failure("shm ring", "head and tail more than a ring apart", EPROTO);
  auto* slots = std::launder(reinterpret_cast<RingSlot*>(base + h->slot_offset));
  return RingView(h, slots, base + h->data_offset, h->capacity);
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

bool RingView::commit_small(std::uint64_t message, const std::byte* src,
                            std::size_t n) const noexcept {
  RingSlot& s = slot(message);
  if (n > 0) std::memcpy(s.payload, src, n);
  std::atomic_ref(s.commit).store(std::uint64_t{stamp(message)} << 32 | n,
                                  std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return take_flag(header_->consumer_sleeping);
}

bool RingView::commit_streamed(std::uint64_t message, std::uint64_t head) const noexcept {
  // head first: a consumer that acquires the commit word then sees these bytes too.
  std::atomic_ref(header_->head).store(head, std::memory_order_release);
  std::atomic_ref(slot(message).commit)
      .store(std::uint64_t{stamp(message)} << 32 | kStreamedMessage, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return take_flag(header_->consumer_sleeping);
}

void RingView::copy_small_out(std::uint64_t message, std::byte* dst, std::size_t n) const noexcept {
  if (n > 0) std::memcpy(dst, slot(message).payload, n);
}

bool RingView::publish_message_tail(std::uint64_t message_tail) const noexcept {
  std::atomic_ref(header_->message_tail).store(message_tail, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return take_flag(header_->producer_sleeping);
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
