#include "shm_channel.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>

#include "forkpool/ipc/sys_call.hpp"
#include "length_prefix.hpp"

namespace forkpool::ipc::detail {
namespace {

// About 2-5 us of pause instructions on current x86 cores.
constexpr unsigned kSpinsPerYield = 64;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

Result<void> wake(int eventfd) {
  std::uint64_t one = 1;
  auto r = sys_call("write", "eventfd " + std::to_string(eventfd),
                    [&] { return ::write(eventfd, &one, sizeof one); });
  if (!r) return std::unexpected(r.error());
  return {};
}

// Empties the eventfd's counter before a side arms its flag, so that a stale wake-up neither
// ends the next sleep early nor leaves wait_fd() readable with nothing to receive.
void drain(int eventfd) noexcept {
  std::uint64_t count;
  while (::read(eventfd, &count, sizeof count) < 0 && errno == EINTR) {
  }
}

Result<UniqueFd> make_eventfd() {
  auto fd = sys_call("eventfd", "shm ring", [] { return ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); });
  if (!fd) return std::unexpected(fd.error());
  return UniqueFd(*fd);
}

}  // namespace

Result<std::unique_ptr<ShmChannel>> ShmChannel::create(std::shared_ptr<ShmSegment> segment,
                                                       int send_ring, PeerLink link,
                                                       std::chrono::nanoseconds spin,
                                                       std::size_t max_message_bytes) {
  const int recv_ring = 1 - send_ring;
  const std::size_t region = segment->memory.size() / 2;
  auto tx = RingView::attach(segment->memory.data() + send_ring * region, region);
  if (!tx) return std::unexpected(tx.error());
  auto rx = RingView::attach(segment->memory.data() + recv_ring * region, region);
  if (!rx) return std::unexpected(rx.error());
  auto epoll = make_wait_epoll(segment->data_ready[recv_ring].get(), link);
  if (!epoll) return std::unexpected(epoll.error());
  std::unique_ptr<ShmChannel> ch(new ShmChannel());
  ch->tx_ = *tx;
  ch->rx_ = *rx;
  ch->tx_data_ready_ = segment->data_ready[send_ring].get();
  ch->tx_space_ready_ = segment->space_ready[send_ring].get();
  ch->rx_data_ready_ = segment->data_ready[recv_ring].get();
  ch->rx_space_ready_ = segment->space_ready[recv_ring].get();
  ch->segment_ = std::move(segment);
  ch->link_ = std::move(link);
  ch->wait_epoll_ = std::move(*epoll);
  ch->spin_ = std::max(spin, std::chrono::nanoseconds::zero());
  ch->writer_ = RingWriter(*tx, max_message_bytes);
  ch->reader_ = RingReader(*rx, max_message_bytes);
  return ch;
}

template <class Ready>
bool ShmChannel::spin_until(Ready ready, Deadline deadline) const {
  if (spin_ == std::chrono::nanoseconds::zero() || deadline.expired()) return ready();
  const auto until = std::min(Deadline::Clock::now() + spin_, deadline.when());
  for (unsigned i = 1;; ++i) {
    if (ready()) return true;
    cpu_relax();
    // Reading the clock costs more than a pause: look at it every few rounds only.
    if (i % 16 == 0 && Deadline::Clock::now() >= until) return ready();
    // Where processes outnumber cores (a coordinator and its workers on 2 cores), the peer
    // may be waiting for the very core this loop holds: a pure spin then only delays it.
    // Yielding now and then hands the core over; it returns at once when no one wants it.
    if (i % kSpinsPerYield == 0) (void)sys_call("sched_yield", "", [] { return ::sched_yield(); });
  }
}

Result<void> ShmChannel::pay_owed_wake() {
  if (!wake_owed_) return {};
  wake_owed_ = false;
  return wake(tx_data_ready_);
}

template <class HasSpace>
Result<void> ShmChannel::wait_for_space(HasSpace has_space, Deadline deadline) {
  // The consumer may sleep until the wake-up owed to it, and this end is about to wait for it.
  if (auto r = pay_owed_wake(); !r) return r;
  if (spin_until(has_space, deadline)) return {};
  for (;;) {
    drain(tx_space_ready_);
    tx_.arm_producer_sleep();
    if (has_space()) {
      tx_.disarm_producer_sleep();
      return {};
    }
    auto w = wait_or_peer_gone(tx_space_ready_, POLLIN, link_, deadline);
    if (!w) {
      tx_.disarm_producer_sleep();
      return std::unexpected(w.error());
    }
    if (*w == WaitOutcome::peer_gone)
      return sys_failure("shm send", "peer gone", EPIPE);
  }
}

Result<void> ShmChannel::send(std::span<const std::byte> message, Deadline deadline) {
  auto sent = writer_.send(
      message, [&](auto has_space) { return wait_for_space(has_space, deadline); },
      [&] { return wake(tx_data_ready_); });
  if (!sent) return sent;
  return pay_owed_wake();
}

Result<void> ShmChannel::send_while_busy(std::span<const std::byte> message, Deadline deadline) {
  // With two messages waiting, this end reads on for at least one more before it can wait;
  // with one, it would wait right after it, and the peer had better be refilling by then.
  if (message.size() > kSlotPayload || !reader_.has_messages(2)) return send(message, deadline);
  return writer_.send(
      message, [&](auto has_space) { return wait_for_space(has_space, deadline); },
      [&] {
        wake_owed_ = true;
        return Result<void>{};
      });
}

template <class HasData>
Result<bool> ShmChannel::wait_for_data(HasData has_data, Deadline deadline) {
  if (auto r = pay_owed_wake(); !r) return std::unexpected(r.error());
  if (spin_until(has_data, deadline)) {
    rx_.disarm_consumer_sleep();
    return true;
  }
  for (;;) {
    drain(rx_data_ready_);
    rx_.arm_consumer_sleep();
    if (has_data()) {
      rx_.disarm_consumer_sleep();
      return true;
    }
    // A timeout returns with the flag armed: the producer's next publish writes the eventfd,
    // which is what wakes an event loop waiting on wait_fd().
    auto w = wait_or_peer_gone(rx_data_ready_, POLLIN, link_, deadline);
    if (!w) return std::unexpected(w.error());
    if (*w == WaitOutcome::peer_gone) {
      // What the peer published before it went is still to be read.
      if (has_data()) return true;
      return false;
    }
  }
}

Result<bool> ShmChannel::receive(Bytes& out, Deadline deadline) {
  return reader_.receive(
      out, [&](auto has_data) { return wait_for_data(has_data, deadline); },
      [&] { return wake(rx_space_ready_); });
}

Result<ChannelPair> make_shm_pair(const ChannelOptions& options) {
  auto capacity = ring_capacity(options.shm_ring_bytes);
  if (!capacity) return std::unexpected(capacity.error());
  const std::size_t region = ring_region_bytes(*capacity);
  auto memory = SharedMemory::create(2 * region);
  if (!memory) {
    SysError e = memory.error();
    if (e.code == ENOSPC || e.code == ENOMEM)
      e.hint = "no space in /dev/shm for the channel (" + describe_bytes(2 * region) +
               "): try --transport pipe";
    return std::unexpected(std::move(e));
  }
  init_ring(memory->data(), *capacity);
  init_ring(memory->data() + region, *capacity);
  auto segment = std::make_shared<ShmSegment>();
  segment->memory = std::move(*memory);
  for (int i = 0; i < 2; ++i) {
    auto data = make_eventfd();
    if (!data) return std::unexpected(data.error());
    segment->data_ready[i] = std::move(*data);
    auto space = make_eventfd();
    if (!space) return std::unexpected(space.error());
    segment->space_ready[i] = std::move(*space);
  }
  auto links = PeerLink::make_pair();
  if (!links) return std::unexpected(links.error());
  auto first = ShmChannel::create(segment, 0, std::move(links->first), options.shm_spin,
                                  options.max_message_bytes);
  if (!first) return std::unexpected(first.error());
  auto second = ShmChannel::create(std::move(segment), 1, std::move(links->second),
                                   options.shm_spin, options.max_message_bytes);
  if (!second) return std::unexpected(second.error());
  return ChannelPair{std::move(*first), std::move(*second)};
}

}  // namespace forkpool::ipc::detail
