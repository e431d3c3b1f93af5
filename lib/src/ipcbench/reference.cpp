#include "reference.hpp"

#include <sched.h>

#include <fmt/core.h>

#include <atomic>
#include <cstring>
#include <new>
#include <stdexcept>
#include <vector>

#include "forkpool/ipc/shared_memory.hpp"
#include "forkpool/ipc/sys_call.hpp"

namespace forkpool::ipcbench::detail {
namespace {

using Clock = std::chrono::steady_clock;

// Keeps the compiler from proving a copy unused and dropping it.
inline void clobber(void* p) { asm volatile("" : : "r"(p) : "memory"); }

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// The bounced line: alone on its cache line, so that only the two processes' own traffic moves it.
struct alignas(64) BouncedLine {
  std::atomic<std::uint64_t> value{0};
  char pad[64 - sizeof(std::atomic<std::uint64_t>)]{};
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

constexpr std::uint64_t kStop = ~std::uint64_t{0};

// Spins until `line` holds `want` (or kStop, for the responder). The clock is read only every
// few thousand spins: a stalled peer is an error after stall_timeout, a live one costs nothing.
// Like the shm channel's spin, it yields every 64 rounds: where runnable processes outnumber
// cores, a pure spinner would hold the core its peer needs for a whole time slice.
std::uint64_t spin_until(const BouncedLine& line, std::uint64_t want, Clock::time_point give_up) {
  for (unsigned spins = 1;; ++spins) {
    std::uint64_t v = line.value.load(std::memory_order_acquire);
    if (v == want || v == kStop) return v;
    cpu_relax();
    if (spins % 64 == 0) (void)ipc::sys_call("sched_yield", "", [] { return ::sched_yield(); });
    if ((spins & 4095) == 4095 && Clock::now() > give_up)
      throw std::runtime_error("cache-line peer stalled (no answer within the stall timeout)");
  }
}

bool finished(const ReferenceBudget& b, std::uint64_t done, Clock::time_point start) {
  if (b.count) return done >= *b.count;
  return done >= 10 && Clock::now() - start >= b.duration;
}

int line_initiator(BouncedLine& line, const ReferenceBudget& budget,
                   std::chrono::nanoseconds stall, PeerReport& report) {
  try {
    std::uint64_t v = 0;
    auto bounce = [&] {
      auto t0 = Clock::now();
      line.value.store(v + 1, std::memory_order_release);
      spin_until(line, v + 2, t0 + stall);
      auto t1 = Clock::now();
      v += 2;
      return std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
    };
    auto warm_end = Clock::now() + budget.warmup;
    while (Clock::now() < warm_end) bounce();
    report.warmup_count = v / 2;
    std::vector<std::int64_t> samples;
    auto start = Clock::now();
    while (!finished(budget, samples.size(), start)) samples.push_back(bounce());
    report.elapsed_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    line.value.store(kStop, std::memory_order_release);
    report.count = samples.size();
    report.rtt = summarize(samples);
    return 0;
  } catch (const std::exception& e) {
    report.set_error(e.what());
    return 1;
  }
}

int line_responder(BouncedLine& line, std::chrono::nanoseconds stall, PeerReport& report) {
  try {
    for (std::uint64_t v = 1;; v += 2) {
      // Waits for the initiator's next odd value; the stall timeout restarts with each one.
      if (spin_until(line, v, Clock::now() + stall) == kStop) return 0;
      line.value.store(v + 1, std::memory_order_release);
    }
  } catch (const std::exception& e) {
    report.set_error(e.what());
    return 1;
  }
}

}  // namespace

MemcpyResult measure_memcpy(std::size_t size, const ReferenceBudget& budget) {
  std::vector<std::byte> src(size, std::byte{0x5a}), dst(size, std::byte{0});
  auto warm_end = Clock::now() + budget.warmup;
  while (Clock::now() < warm_end) {
    std::memcpy(dst.data(), src.data(), size);
    clobber(dst.data());
  }
  MemcpyResult r;
  r.size = size;
  // Timed in batches: one small copy is far shorter than a clock read.
  const std::uint64_t batch = std::max<std::uint64_t>(1, (std::size_t{1} << 20) / size);
  auto start = Clock::now();
  std::uint64_t copies = 0;
  while (!(budget.count ? copies >= *budget.count
                        : copies > 0 && Clock::now() - start >= budget.duration)) {
    std::uint64_t n = budget.count ? std::min(batch, *budget.count - copies) : batch;
    for (std::uint64_t i = 0; i < n; ++i) {
      std::memcpy(dst.data(), src.data(), size);
      clobber(dst.data());
    }
    copies += n;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.copies = copies;
  r.seconds_per_copy = seconds / static_cast<double>(copies);
  r.bytes_per_s = static_cast<double>(size) / r.seconds_per_copy;
  return r;
}

CacheLineResult measure_cache_line(const ReferenceBudget& budget,
                                   const std::optional<std::array<int, 2>>& pin,
                                   std::chrono::nanoseconds stall_timeout,
                                   ipc::SignalCatcher& catcher, int& interrupt_signal) {
  CacheLineResult result;
  auto memory = ipc::SharedMemory::create(sizeof(BouncedLine) + sizeof(RunReports));
  if (!memory) {
    result.error = memory.error().message();
    return result;
  }
  // The mapping is page-aligned, so the line starts on a cache line of its own.
  auto* line = new (memory->data()) BouncedLine{};
  auto* reports = new (memory->data() + sizeof(BouncedLine)) RunReports{};

  PeerSpec a{[&] { return line_initiator(*line, budget, stall_timeout, reports->initiator); },
             pin ? (*pin)[0] : -1, &reports->initiator};
  PeerSpec b{[&] { return line_responder(*line, stall_timeout, reports->responder); },
             pin ? (*pin)[1] : -1, &reports->responder};
  PairOutcome outcome = run_pair(a, b, catcher, PairHooks{});
  if (!outcome.settle(result.error, interrupt_signal)) return result;
  result.ok = true;
  result.rtt = reports->initiator.rtt;
  result.cpu = outcome.cpu();
  return result;
}

}  // namespace forkpool::ipcbench::detail
