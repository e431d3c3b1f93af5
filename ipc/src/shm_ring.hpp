#pragma once
// A single-producer/single-consumer byte ring laid out in shared memory.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "forkpool/ipc/sys_error.hpp"

namespace forkpool::ipc::detail {

inline constexpr std::uint64_t kRingMagic = 0x31474e4952504b46;  // "FKPRING1", little endian
inline constexpr std::uint32_t kRingVersion = 1;
inline constexpr std::size_t kCacheLine = 64;
inline constexpr std::uint64_t kMinRingBytes = 64;
inline constexpr std::uint64_t kMaxRingBytes = std::uint64_t{1} << 30;

// The control block at the start of a ring's region. Plain integers and offsets only (it is
// trivially copyable and means the same in every process that maps it); the fields both sides
// touch are accessed only through std::atomic_ref. Indices count bytes ever written/read and
// never wrap; position in the data is index & (capacity - 1).
struct RingHeader {
  // Written by the creator before any other process can see the segment; read-only after.
  std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t header_bytes;  // sizeof(RingHeader) of the creator
  std::uint64_t capacity;      // data bytes, a power of two
  std::uint64_t data_offset;   // from the start of this header
  // The producer's cache line: only the producer writes head and producer_sleeping (the
  // consumer clears the flag when it wakes the producer).
  alignas(kCacheLine) std::uint64_t head;
  std::uint32_t producer_sleeping;
  // The consumer's cache line, likewise.
  alignas(kCacheLine) std::uint64_t tail;
  std::uint32_t consumer_sleeping;
};
static_assert(std::is_trivially_copyable_v<RingHeader>);
static_assert(std::is_standard_layout_v<RingHeader>);
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free);
static_assert(sizeof(RingHeader) % kCacheLine == 0);

// Ring capacity for a requested size: a power of two in [kMinRingBytes, kMaxRingBytes];
// EINVAL beyond the maximum.
Result<std::uint64_t> ring_capacity(std::size_t requested);
// Bytes one ring occupies in the segment: header then data.
inline std::size_t ring_region_bytes(std::uint64_t capacity) {
  return sizeof(RingHeader) + static_cast<std::size_t>(capacity);
}
// Writes a fresh header at `base` (consumer marked asleep, so the first message wakes it).
void init_ring(std::byte* base, std::uint64_t capacity);

// A process-local view of one ring: pointers computed from this process's mapping and the
// header's offsets. The producer uses the producer half, the consumer the consumer half; the
// memory orders pair up as: data copy, release of head -> acquire of head, data copy (and the
// same for tail). The sleeping flags use a seq_cst fence on both sides (Dekker): a side that
// arms its flag and then re-checks the index, and a side that moves the index and then reads
// the flag, cannot both miss each other.
class RingView {
 public:
  RingView() = default;
  // Checks magic, version and sizes against the region; EPROTO when they do not match.
  static Result<RingView> attach(std::byte* base, std::size_t region_bytes);

  [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_; }

  // Producer side.
  [[nodiscard]] std::uint64_t tail_acquire() const noexcept {
    return std::atomic_ref(header_->tail).load(std::memory_order_acquire);
  }
  void copy_in(std::uint64_t index, const std::byte* src, std::size_t n) const noexcept;
  // Makes bytes up to `head` visible; true when the consumer was asleep and must be woken
  // (the flag is cleared, so one wake-up per sleep).
  bool publish_head(std::uint64_t head) const noexcept;
  void arm_producer_sleep() const noexcept;
  void disarm_producer_sleep() const noexcept {
    std::atomic_ref(header_->producer_sleeping).store(0, std::memory_order_relaxed);
  }

  // Consumer side.
  [[nodiscard]] std::uint64_t head_acquire() const noexcept {
    return std::atomic_ref(header_->head).load(std::memory_order_acquire);
  }
  void copy_out(std::uint64_t index, std::byte* dst, std::size_t n) const noexcept;
  bool publish_tail(std::uint64_t tail) const noexcept;
  void arm_consumer_sleep() const noexcept;
  void disarm_consumer_sleep() const noexcept {
    std::atomic_ref(header_->consumer_sleeping).store(0, std::memory_order_relaxed);
  }

 private:
  RingView(RingHeader* header, std::byte* data, std::uint64_t capacity) noexcept
      : header_(header), data_(data), capacity_(capacity) {}

  RingHeader* header_ = nullptr;
  std::byte* data_ = nullptr;
  std::uint64_t capacity_ = 0;
};

}  // namespace forkpool::ipc::detail
