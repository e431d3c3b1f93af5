// The harness with real forked peers over every transport.

#include "forkpool/ipcbench/bench.hpp"

#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "common/leak_check.hpp"

namespace forkpool::ipcbench {

// Test names and failure messages show "shm-spin", not the struct's bytes.
void PrintTo(const BenchTransport& t, std::ostream* os) { *os << t.label(); }

namespace {

using namespace std::chrono_literals;

class Bench : public forkpool::testing::LeakCheckedTest {
 protected:
  static BenchOptions tiny() {
    BenchOptions o;
    o.sizes = {64, 20000};  // 20000: several mq chunks, an awkward size for the shm ring
    o.count = 5;
    o.warmup = 0ms;
    o.idle_check = 10ms;
    o.stall_timeout = 20s;
    return o;
  }
};

void expect_ordered(const LatencySummary& s) {
  EXPECT_GT(s.count, 0u);
  EXPECT_LE(s.min_ns, s.p50_ns);
  EXPECT_LE(s.p50_ns, s.p90_ns);
  EXPECT_LE(s.p90_ns, s.p99_ns);
  EXPECT_LE(s.p99_ns, s.p999_ns);
  EXPECT_LE(s.p999_ns, s.max_ns);
}

TEST_F(Bench, MeasuresEveryTransportSizeAndMode) {
  BenchOptions o = tiny();
  BenchReport report = run_ipc_bench(o);
  ASSERT_FALSE(report.interrupted);
  EXPECT_TRUE(report.cache_line.ok) << report.cache_line.error;
  expect_ordered(report.cache_line.rtt);
  ASSERT_EQ(report.memcpy_rows.size(), 2u);
  EXPECT_EQ(report.memcpy_rows[1].size, 20000u);
  EXPECT_GT(report.memcpy_rows[1].bytes_per_s, 0);
  ASSERT_EQ(report.idle_rows.size(), 2u);  // shm-spin and shm-block
  for (const auto& idle : report.idle_rows) EXPECT_TRUE(idle.ok) << idle.error;

  ASSERT_EQ(report.runs.size(), all_bench_transports().size() * 2 * 2);
  for (const auto& t : all_bench_transports())
    for (std::size_t size : o.sizes)
      for (BenchMode mode : o.modes) {
        auto n = std::ranges::count_if(report.runs, [&](const RunResult& r) {
          return r.transport == t && r.size == size && r.mode == mode;
        });
        EXPECT_EQ(n, 1) << t.label() << " " << size << " " << to_string(mode);
      }
  for (const auto& r : report.runs) {
    SCOPED_TRACE(r.transport.label() + " " + std::to_string(r.size) + " " +
                 std::string(to_string(r.mode)));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.count, 5u);
    EXPECT_GT(r.bytes_per_s, 0);
    if (r.mode == BenchMode::latency) {
      expect_ordered(r.rtt);
      EXPECT_EQ(r.rtt.count, 5u);
    }
    if (r.transport.transport == ipc::Transport::mq) {
      EXPECT_GT(r.chunk_bytes, 0u);
    }
  }
}

// The bar: an idle shm channel uses no CPU. A receiver that kept spinning would burn
// most of a core over the wait; one asleep on its eventfd uses next to nothing.
TEST_F(Bench, IdleShmReceiverSleeps) {
  BenchOptions o = tiny();
  o.transports = {{ipc::Transport::shm, false}, {ipc::Transport::shm, true}};
  o.sizes = {64};
  o.modes = {BenchMode::latency};
  o.idle_check = 300ms;
  BenchReport report = run_ipc_bench(o);
  ASSERT_EQ(report.idle_rows.size(), 2u);
  for (const auto& idle : report.idle_rows) {
    ASSERT_TRUE(idle.ok) << idle.error;
    EXPECT_GE(idle.idle_s, 0.3);
    EXPECT_LT(idle.wait_cpu_s, 0.25 * idle.idle_s) << idle.transport.label();
    EXPECT_GE(idle.life_cpu_s, idle.wait_cpu_s);
  }
}

TEST_F(Bench, PinsWhenAsked) {
  BenchOptions o = tiny();
  o.transports = {{ipc::Transport::pipe, false}};
  o.sizes = {64};
  o.pin = std::array<int, 2>{0, 0};  // CPU 0 exists wherever this runs; both may share it
  BenchReport report = run_ipc_bench(o);
  ASSERT_TRUE(report.pinned);
  ASSERT_EQ(report.runs.size(), 2u);
  for (const auto& r : report.runs) EXPECT_TRUE(r.ok) << r.error;
}

TEST_F(Bench, RefusesBadOptions) {
  BenchOptions o = tiny();
  o.pin = std::array<int, 2>{0, 100000};
  EXPECT_THROW(run_ipc_bench(o), std::invalid_argument);
  o = tiny();
  o.sizes = {};
  EXPECT_THROW(run_ipc_bench(o), std::invalid_argument);
  o = tiny();
  o.sizes = {0};
  EXPECT_THROW(run_ipc_bench(o), std::invalid_argument);
  o = tiny();
  o.count.reset();
  o.duration = 0s;
  EXPECT_THROW(run_ipc_bench(o), std::invalid_argument);
  o = tiny();
  o.count = kMaxCount + 1;
  EXPECT_THROW(run_ipc_bench(o), std::invalid_argument);
  o = tiny();
  o.count.reset();
  o.duration = kMaxRunTime + 1ns;
  EXPECT_THROW(run_ipc_bench(o), std::invalid_argument);
  o = tiny();
  o.warmup = kMaxRunTime + 1ns;
  EXPECT_THROW(run_ipc_bench(o), std::invalid_argument);
}

// A peer killed in the middle of a long run fails that run at once, naming the signal, and the
// next run still happens.
class KilledPeer : public Bench,
                   public ::testing::WithParamInterface<std::tuple<BenchTransport, int>> {};

TEST_P(KilledPeer, IsAnErrorNotAHang) {
  auto [transport, victim] = GetParam();
  BenchOptions o = tiny();
  o.transports = {transport};
  o.sizes = {64};
  o.modes = {BenchMode::latency, BenchMode::throughput};
  o.count.reset();
  o.duration = 60s;  // far longer than the test may take
  o.idle_check = 0ms;
  int started = 0;
  o.on_peers_started = [&](pid_t initiator, pid_t responder) {
    // Only the first run's peer; the second run must then go through (a short one).
    if (started++ == 0) ::kill(victim == 0 ? initiator : responder, SIGKILL);
  };
  // The second run is the throughput run: shorten it once the first has been sabotaged.
  o.on_step = [&](std::string_view step) {
    if (step.find("throughput") != std::string_view::npos) o.duration = 20ms;
  };
  auto began = std::chrono::steady_clock::now();
  BenchReport report = run_ipc_bench(o);
  EXPECT_LT(std::chrono::steady_clock::now() - began, 30s) << "a dead peer must not be waited out";
  ASSERT_EQ(report.runs.size(), 2u);
  const RunResult& killed = report.runs[0];
  EXPECT_FALSE(killed.ok);
  EXPECT_NE(killed.error.find("SIGKILL"), std::string::npos) << killed.error;
  EXPECT_NE(killed.error.find(victim == 0 ? "initiator" : "responder"), std::string::npos)
      << killed.error;
  EXPECT_TRUE(report.runs[1].ok) << report.runs[1].error;
  EXPECT_EQ(report.failed_runs(), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Transports, KilledPeer,
    ::testing::Combine(::testing::Values(BenchTransport{ipc::Transport::pipe, false},
                                         BenchTransport{ipc::Transport::mq, false},
                                         BenchTransport{ipc::Transport::shm, false},
                                         BenchTransport{ipc::Transport::shm, true}),
                       ::testing::Values(0, 1)),
    [](const auto& info) {
      std::string name = std::get<0>(info.param).label() +
                         (std::get<1>(info.param) == 0 ? "_initiator" : "_responder");
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

}  // namespace
}  // namespace forkpool::ipcbench
