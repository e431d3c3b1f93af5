// Fuzzes the shm ring against a corrupted or hostile peer: attach/validation of the ring's
// header (RingView::attach), then its consumer (RingReader) and producer (RingWriter) working
// on a ring whose shared bytes the input keeps overwriting between their steps, as a crashed
// or hostile process mapping the same segment could. No real IPC: the ring lives in an
// exactly-sized heap buffer, so ASan catches any access outside it; waits return at once.
//
// Input: byte 0 the ring's capacity (64 << (b % 8)), byte 1 how many 64-byte units the mapped
// region falls short of the ring's size (b < 8; otherwise the full size), byte 2 the channel's
// maximum (2^(b % 21)); then records: a 2-byte little-endian offset, a length byte and that
// many bytes written at offset % region (clipped at its end); offset 0xffff instead makes the
// consumer receive once, 0xfffe makes the producer send a message of (length * 37) bytes.

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "ring_reader.hpp"
#include "ring_writer.hpp"
#include "shm_ring.hpp"

using namespace forkpool::ipc;
using namespace forkpool::ipc::detail;

namespace {

struct AlignedFree {
  void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t{kSlotBytes}); }
};

bool allowed(const SysError& e) {
  // Malformed data, the peer "gone" (no data and no wait), a full ring (no wait), the size.
  return e.code == EBADMSG || e.code == ECONNRESET || e.code == ETIMEDOUT || e.code == EMSGSIZE ||
         e.code == EPIPE || e.code == ENOMEM;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::uint64_t capacity = std::uint64_t{64} << (data[0] % 8);
  const std::size_t full = ring_region_bytes(capacity);
  const std::size_t region = data[1] < 8 ? full - std::size_t{data[1]} * 64 : full;
  const std::size_t max = std::size_t{1} << (data[2] % 21);

  std::unique_ptr<std::byte[], AlignedFree> base(
      new (std::align_val_t{kSlotBytes}) std::byte[region]);
  {
    std::unique_ptr<std::byte[], AlignedFree> fresh(new (std::align_val_t{kSlotBytes}) std::byte[full]);
    init_ring(fresh.get(), capacity);
    std::memcpy(base.get(), fresh.get(), region);
  }

  // Header corruption first: records up to the first step apply before attach.
  std::size_t at = 3;
  auto apply_patches = [&]() -> bool {  // false at the end of input; stops at a step record
    while (at + 3 <= size) {
      const unsigned offset = data[at] | unsigned{data[at + 1]} << 8;
      if (offset >= 0xfffe) return true;
      const std::size_t n = std::min<std::size_t>(data[at + 2], size - at - 3);
      const std::size_t where = offset % region;
      std::memcpy(base.get() + where, data + at + 3, std::min(n, region - where));
      at += 3 + n;
    }
    return false;
  };
  bool more = apply_patches();
  auto view = RingView::attach(base.get(), region);
  if (!view) {
    if (view.error().code != EPROTO) std::abort();
    return 0;
  }
  if (view->capacity() > region) std::abort();

  RingReader reader(*view, max);
  RingWriter writer(*view, max);
  auto no_wait_data = [](auto has_data) -> Result<bool> { return has_data(); };
  auto no_wait_space = [](auto has_space) -> Result<void> {
    if (has_space()) return {};
    return sys_failure("poll", "fuzz", ETIMEDOUT);
  };
  auto no_wake = []() -> Result<void> { return {}; };
  Bytes out, message;
  while (more) {
    const bool receive = data[at] == 0xff && data[at + 1] == 0xff;
    const std::size_t arg = data[at + 2];
    at += 3;
    if (receive) {
      auto r = reader.receive(out, no_wait_data, no_wake);
      if (r && *r && out.size() > max) std::abort();
      if (!r && !allowed(r.error())) std::abort();
    } else {
      message.assign(arg * 37, std::byte{0x5a});
      auto s = writer.send(message, no_wait_space, no_wake);
      if (!s && !allowed(s.error())) std::abort();
    }
    more = apply_patches();
  }
  return 0;
}
