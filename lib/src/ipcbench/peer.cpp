#include "peer.hpp"

#include <sys/resource.h>

#include <fmt/core.h>

#include <exception>
#include <stdexcept>
#include <thread>
#include <vector>

#include "forkpool/ipc/sys_call.hpp"
#include "forkpool/ipcbench/payload.hpp"

namespace forkpool::ipcbench::detail {
namespace {

using Clock = std::chrono::steady_clock;

// Ends a peer's run with a message for its report.
struct PeerFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::int64_t ns_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

// One end's channel with the checks every benchmark message needs: a deadline on every wait,
// so a peer that died or stopped is an error, and a check of every byte received.
class Link {
 public:
  Link(ipc::Channel& channel, const PeerPlan& plan)
      : channel_(channel), plan_(plan), allowance_(wait_allowance(plan.stall_timeout, plan.size)) {}

  // The deadline for an operation starting at `now`. The measured loops pass a time they have
  // read anyway: a clock read costs tens of nanoseconds, a visible part of a shm round trip.
  [[nodiscard]] ipc::Deadline deadline_from(Clock::time_point now) const {
    return ipc::Deadline::at(now + allowance_);
  }
  [[nodiscard]] ipc::Deadline fresh_deadline() const { return deadline_from(Clock::now()); }

  void send(std::span<const std::byte> message, std::string_view what) {
    send(message, what, fresh_deadline());
  }
  void send(std::span<const std::byte> message, std::string_view what, ipc::Deadline deadline) {
    auto r = channel_.send(message, deadline);
    if (!r) throw PeerFailure(fmt::format("sending {}: {}", what, describe(r.error())));
  }

  // Receives the next message into `in`; an end of stream is the peer leaving too early.
  void receive(ipc::Bytes& in, std::string_view what) { receive(in, what, fresh_deadline()); }
  void receive(ipc::Bytes& in, std::string_view what, ipc::Deadline deadline) {
    auto r = channel_.receive(in, deadline);
    if (!r) throw PeerFailure(fmt::format("receiving {}: {}", what, describe(r.error())));
    if (!*r) throw PeerFailure(fmt::format("receiving {}: the peer closed the channel", what));
  }

  void expect_data(const ipc::Bytes& in, std::uint64_t seq, Direction direction,
                   std::string_view what) const {
    if (in.size() != plan_.size)
      throw PeerFailure(fmt::format("{} {}: {} bytes arrived, {} were sent", what, seq,
                                    in.size(), plan_.size));
    if (auto bad = check_payload(in, seq, direction))
      throw PeerFailure(fmt::format("{} {} is corrupted: byte {} of {} is wrong", what, seq,
                                    *bad, in.size()));
  }

  void expect_control(const ipc::Bytes& in, std::string_view what) const {
    if (!in.empty())
      throw PeerFailure(fmt::format("{}: a {}-byte message arrived, the empty control message "
                                    "was expected",
                                    what, in.size()));
  }

 private:
  std::string describe(const ipc::SysError& e) const {
    if (e.code == ETIMEDOUT)
      return fmt::format("no progress for {:.3g} s (peer stalled or gone)",
                         std::chrono::duration<double>(allowance_).count());
    return e.message();
  }

  ipc::Channel& channel_;
  const PeerPlan& plan_;
  const std::chrono::nanoseconds allowance_;
};

// User + system CPU this process has used so far.
std::int64_t own_cpu_ns() {
  rusage u{};
  auto r = ipc::sys_call("getrusage", "self", [&] { return ::getrusage(RUSAGE_SELF, &u); });
  if (!r) throw PeerFailure(r.error().message());
  auto ns = [](const timeval& tv) {
    return static_cast<std::int64_t>(tv.tv_sec) * 1'000'000'000 + tv.tv_usec * 1000;
  };
  return ns(u.ru_utime) + ns(u.ru_stime);
}

// Whether the measured phase that began at `start` with `done` samples is over.
bool finished(const PeerPlan& plan, std::uint64_t done, Clock::time_point start,
              Clock::time_point now) {
  if (plan.count) return done >= *plan.count;
  return done >= kMinSamples && now - start >= plan.duration;
}

// The same for the latency loop, whose samples are kept: a long duration on a fast transport
// would otherwise collect gigabytes of them.
bool latency_finished(const PeerPlan& plan, std::uint64_t done, Clock::time_point start,
                      Clock::time_point now) {
  return (!plan.count && done >= plan.max_samples) || finished(plan, done, start, now);
}

void latency_initiator(Link& link, const PeerPlan& plan, PeerReport& report) {
  ipc::Bytes out(plan.size), in;
  std::uint64_t seq = 0;
  // Filling before the clock starts and checking after it stops keeps the sample to the
  // transport's own round trip; every byte is still written and read on both sides.
  auto round_trip = [&] {
    fill_payload(out, seq, Direction::request);
    auto t0 = Clock::now();
    const ipc::Deadline deadline = link.deadline_from(t0);  // a whole round trip is progress
    link.send(out, "request", deadline);
    link.receive(in, "reply", deadline);
    auto t1 = Clock::now();
    link.expect_data(in, seq, Direction::reply, "reply");
    ++seq;
    return ns_between(t0, t1);
  };

  auto warm_end = Clock::now() + plan.warmup;
  while (Clock::now() < warm_end) round_trip();
  report.warmup_count = seq;

  std::vector<std::int64_t> samples;
  if (plan.count) samples.reserve(*plan.count);
  auto start = Clock::now();
  while (!latency_finished(plan, samples.size(), start, Clock::now()))
    samples.push_back(round_trip());
  report.elapsed_ns = ns_between(start, Clock::now());
  report.count = samples.size();

  link.send({}, "the end of the run");
  link.receive(in, "the end-of-run answer");
  link.expect_control(in, "end of run");
  report.rtt = summarize(samples);
}

void throughput_initiator(Link& link, const PeerPlan& plan, PeerReport& report) {
  ipc::Bytes out(plan.size), in;
  std::uint64_t seq = 0;
  auto send_next = [&](Clock::time_point now) {
    fill_payload(out, seq, Direction::request);
    link.send(out, "message", link.deadline_from(now));
    ++seq;
  };
  auto sync = [&](std::string_view what) {
    link.send({}, what);
    link.receive(in, what);
    link.expect_control(in, what);
  };

  auto warm_end = Clock::now() + plan.warmup;
  for (auto now = Clock::now(); now < warm_end; now = Clock::now()) send_next(now);
  sync("the end of the warm-up");
  report.warmup_count = seq;

  auto start = Clock::now();
  std::uint64_t sent = 0;
  for (auto now = start; !finished(plan, sent, start, now); now = Clock::now()) {
    send_next(now);
    ++sent;
  }
  sync("the end of the run");
  report.elapsed_ns = ns_between(start, Clock::now());
  report.count = sent;
}

template <class Fn>
int guarded(PeerReport& report, Fn&& fn) {
  try {
    fn();
    return 0;
  } catch (const std::exception& e) {
    report.set_error(e.what());
  }
  return 1;
}

}  // namespace

std::chrono::nanoseconds wait_allowance(std::chrono::nanoseconds stall_timeout, std::size_t size) {
  // Even 2^64 bytes come to 1.1e15 ns, far inside the nanoseconds' range.
  const double transfer_s = static_cast<double>(size) / static_cast<double>(kSlowestBytesPerSecond);
  return stall_timeout + std::chrono::nanoseconds(static_cast<std::int64_t>(transfer_s * 1e9));
}

int run_initiator(ipc::Channel& channel, const PeerPlan& plan, PeerReport& report) {
  return guarded(report, [&] {
    Link link(channel, plan);
    if (plan.mode == BenchMode::latency) latency_initiator(link, plan, report);
    else throughput_initiator(link, plan, report);
  });
}

int run_responder(ipc::Channel& channel, const PeerPlan& plan, PeerReport& report) {
  return guarded(report, [&] {
    Link link(channel, plan);
    ipc::Bytes in, reply(plan.size);
    const bool latency = plan.mode == BenchMode::latency;
    // latency: one control message ends the run; throughput: the second does.
    const int controls_to_end = latency ? 1 : 2;
    int controls = 0;
    std::uint64_t seq = 0;
    // The reply to the next request is written ahead, while the initiator is busy, and the
    // request is checked after answering it: neither is on the measured round trip.
    if (latency) fill_payload(reply, seq, Direction::reply);
    if (plan.measure_first_wait) {
      std::int64_t before = own_cpu_ns();
      link.receive(in, "the end of the idle wait");
      report.first_wait_cpu_ns = own_cpu_ns() - before;
      link.expect_control(in, "end of idle wait");
      link.send({}, "control answer");
      return;
    }
    // One clock read per message: the reply's send shares the receive's deadline unless the
    // message is large enough for the read to be noise (and the send to take a while).
    const bool fresh_for_reply = plan.size > (std::size_t{64} << 10);
    for (;;) {
      const ipc::Deadline deadline = link.fresh_deadline();
      link.receive(in, "request", deadline);
      if (in.empty()) {
        link.send({}, "control answer");
        if (++controls == controls_to_end) return;
        continue;
      }
      if (latency) link.send(reply, "reply", fresh_for_reply ? link.fresh_deadline() : deadline);
      link.expect_data(in, seq, Direction::request, latency ? "request" : "message");
      ++seq;
      if (latency) fill_payload(reply, seq, Direction::reply);
    }
  });
}

int run_idle_initiator(ipc::Channel& channel, std::chrono::nanoseconds idle,
                       std::chrono::nanoseconds stall_timeout, PeerReport& report) {
  PeerPlan plan;
  plan.stall_timeout = stall_timeout;
  return guarded(report, [&] {
    Link link(channel, plan);
    auto start = Clock::now();
    std::this_thread::sleep_for(idle);
    report.elapsed_ns = ns_between(start, Clock::now());
    ipc::Bytes in;
    link.send({}, "the end of the idle wait");
    link.receive(in, "the end-of-idle answer");
    link.expect_control(in, "end of idle wait");
  });
}

}  // namespace forkpool::ipcbench::detail
