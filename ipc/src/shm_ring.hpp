#pragma once
// A single-producer/single-consumer message ring laid out in shared memory: a ring of fixed
// message slots in front of a byte ring.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "forkpool/ipc/sys_error.hpp"

namespace forkpool::ipc::detail {

inline constexpr std::uint64_t kRingMagic = 0x31474e4952504b46;  // "FKPRING1", little endian
inline constexpr std::uint32_t kRingVersion = 2;
inline constexpr std::size_t kCacheLine = 64;
inline constexpr std::uint64_t kMinRingBytes = 64;
inline constexpr std::uint64_t kMaxRingBytes = std::uint64_t{1} << 30;
// Every message takes one slot, in order. A slot is two cache lines: the commit word, then the
// payload of a small message (a 64-byte payload fills the rest of the first line and 8 bytes
// of the second). A larger message leaves its slot empty and streams through the byte ring.
inline constexpr std::size_t kSlotBytes = 128;
inline constexpr std::size_t kSlotPayload = kSlotBytes - sizeof(std::uint64_t);
inline constexpr std::uint32_t kSlotCount = 256;  // messages in flight at most
// The commit word's low half for a message that is in the byte ring.
inline constexpr std::uint32_t kStreamedMessage = 0xffffffff;

// One slot. The producer fills `payload`, then release-stores `commit` (the message's stamp in
// the high half, its length or kStreamedMessage in the low half); the consumer spins on
// `commit` alone, so a small message costs the consumer only the transfer of its own lines.
// The stamp is the message's number + 1 (mod 2^32): a slot is reused every kSlotCount
// messages, so the stale word of the previous lap (or the zero of a fresh ring) never carries
// the stamp the consumer expects, and payload bytes never occupy the commit word.
struct alignas(kSlotBytes) RingSlot {
  std::uint64_t commit;
  std::byte payload[kSlotPayload];
};
static_assert(std::is_trivially_copyable_v<RingSlot>);
static_assert(sizeof(RingSlot) == kSlotBytes);

// The control block at the start of a ring's region, followed by kSlotCount slots and the
// byte ring. Plain integers and offsets only (it is trivially copyable and means the same in
// every process that maps it); the fields both sides touch are accessed only through
// std::atomic_ref. Byte indices count bytes ever written/read and never wrap; position in the
// data is index & (capacity - 1). Message indices count messages; slot is index % kSlotCount.
struct RingHeader {
  // Written by the creator before any other process can see the segment; read-only after.
  std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t header_bytes;  // sizeof(RingHeader) of the creator
  std::uint64_t capacity;      // data bytes, a power of two
  std::uint64_t data_offset;   // from the start of this header
  std::uint64_t slot_offset;   // likewise
  std::uint32_t slot_count;
  std::uint32_t slot_bytes;
  // The producer's cache line: only the producer writes head and producer_sleeping (the
  // consumer clears the flag when it wakes the producer). head is the byte ring's alone; the
  // producer's message count lives in the slots' commit words.
  alignas(kCacheLine) std::uint64_t head;
  std::uint32_t producer_sleeping;
  // The consumer's cache line, likewise.
  alignas(kCacheLine) std::uint64_t tail;
  std::uint64_t message_tail;  // messages whose slot the consumer is done with
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
// Where the slots start: the first slot-aligned offset after the header.
inline constexpr std::size_t kSlotOffset =
    (sizeof(RingHeader) + kSlotBytes - 1) / kSlotBytes * kSlotBytes;
// Bytes one ring occupies in the segment: header, slots, data; a multiple of kSlotBytes so
// that the second ring's slots are aligned too.
inline std::size_t ring_region_bytes(std::uint64_t capacity) {
  const std::size_t n = kSlotOffset + kSlotCount * kSlotBytes + static_cast<std::size_t>(capacity);
  return (n + kSlotBytes - 1) / kSlotBytes * kSlotBytes;
}
// Writes a fresh header at `base` (consumer marked asleep, so the first message wakes it).
void init_ring(std::byte* base, std::uint64_t capacity);

// A process-local view of one ring: pointers computed from this process's mapping and the
// header's offsets. The producer uses the producer half, the consumer the consumer half; the
// memory orders pair up as: payload copy, release of a slot's commit -> acquire of it, payload
// copy; data copy, release of head -> acquire of head, data copy (and the same for tail and
// message_tail). The sleeping flags use a seq_cst fence on both sides (Dekker): a side that
// arms its flag and then re-checks a commit word or index, and a side that stores one and
// then reads the flag, cannot both miss each other.
class RingView {
 public:
  RingView() = default;
  // Checks magic, version, layout, sizes (against `region_bytes`, the bytes mapped at `base`)
  // and that head and tail are at most a ring apart; EPROTO when anything does not match.
  // The values that change later are checked where they are read (RingReader, RingWriter).
  static Result<RingView> attach(std::byte* base, std::size_t region_bytes);

  [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_; }

  // Producer side.
  [[nodiscard]] std::uint64_t tail_acquire() const noexcept {
    return std::atomic_ref(header_->tail).load(std::memory_order_acquire);
  }
  [[nodiscard]] std::uint64_t message_tail_acquire() const noexcept {
    return std::atomic_ref(header_->message_tail).load(std::memory_order_acquire);
  }
  void copy_in(std::uint64_t index, const std::byte* src, std::size_t n) const noexcept;
  // Makes bytes up to `head` visible; true when the consumer was asleep and must be woken
  // (the flag is cleared, so one wake-up per sleep).
  bool publish_head(std::uint64_t head) const noexcept;
  // Message `message` (n <= kSlotPayload bytes) into its slot and committed; wake as above.
  bool commit_small(std::uint64_t message, const std::byte* src, std::size_t n) const noexcept;
  // Commits message `message` as streamed, together with its first bytes (up to `head`).
  bool commit_streamed(std::uint64_t message, std::uint64_t head) const noexcept;
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
  // True when message `message` is committed; `length` is then its size or kStreamedMessage.
  [[nodiscard]] bool committed(std::uint64_t message, std::uint32_t& length) const noexcept {
    const std::uint64_t word =
        std::atomic_ref(slot(message).commit).load(std::memory_order_acquire);
    length = static_cast<std::uint32_t>(word);
    return static_cast<std::uint32_t>(word >> 32) == stamp(message);
  }
  void copy_small_out(std::uint64_t message, std::byte* dst, std::size_t n) const noexcept;
  // Frees slots up to `message_tail`; true when the producer must be woken.
  bool publish_message_tail(std::uint64_t message_tail) const noexcept;
  void arm_consumer_sleep() const noexcept;
  void disarm_consumer_sleep() const noexcept {
    std::atomic_ref(header_->consumer_sleeping).store(0, std::memory_order_relaxed);
  }

 private:
  RingView(RingHeader* header, RingSlot* slots, std::byte* data, std::uint64_t capacity) noexcept
      : header_(header), slots_(slots), data_(data), capacity_(capacity) {}

  static std::uint32_t stamp(std::uint64_t message) noexcept {
    return static_cast<std::uint32_t>(message + 1);
  }
  [[nodiscard]] RingSlot& slot(std::uint64_t message) const noexcept {
    return slots_[message % kSlotCount];
  }

  RingHeader* header_ = nullptr;
  RingSlot* slots_ = nullptr;
  std::byte* data_ = nullptr;
  std::uint64_t capacity_ = 0;
};

}  // namespace forkpool::ipc::detail
