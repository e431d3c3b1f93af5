// C = A * B on every backend and transport agrees with numpy's product, survives a worker
// killed mid-product, and refuses operands it cannot multiply.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "common/leak_check.hpp"
#include "forkpool/ipc/cross_memory.hpp"
#include "forkpool/ipc/fault_injection.hpp"
#include "forkpool/ipc/shared_memory.hpp"
#include "forkpool/matmul/matmul.hpp"
#include "matmul/matmul_test_support.hpp"

namespace forkpool::matmul {
namespace {

using testing::fixture;
using testing::read_row_major;

struct Setup {
  Backend backend;
  ipc::Transport transport;
};

std::string name_of(const ::testing::TestParamInfo<Setup>& info) {
  std::string name(to_string(info.param.backend));
  if (info.param.backend == Backend::processes) name.append("_").append(ipc::to_string(info.param.transport));
  return name;
}

void PrintTo(const Setup& s, std::ostream* os) {
  *os << to_string(s.backend);
  if (s.backend == Backend::processes) *os << " over " << ipc::to_string(s.transport);
}

MatmulOptions options_for(const Setup& s, std::size_t tile) {
  MatmulOptions o;
  o.executor.backend = s.backend;
  o.executor.transport = s.transport;
  o.executor.workers = 2;
  o.tile = tile;
  return o;
}

// C of `ops` as doubles.
std::vector<double> c_of(const Operands& ops) {
  std::vector<double> out(ops.m() * ops.n());
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = ops.dtype() == Dtype::f32 ? double(reinterpret_cast<const float*>(ops.c())[i])
                                       : reinterpret_cast<const double*>(ops.c())[i];
  return out;
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want, double tolerance) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tolerance * (1 + std::abs(want[i]))) << "element " << i;
}

Operands load(const char* a, const char* b, Dtype dtype) {
  return load_operands(NpyFile::open(fixture(a)), NpyFile::open(fixture(b)), dtype);
}

class ProductTest : public forkpool::testing::LeakCheckedTest,
                    public ::testing::WithParamInterface<Setup> {};

TEST_P(ProductTest, MatchesNumpyInFloat64) {
  Operands ops = load("a_64x48_f64.npy", "b_48x80_f64.npy", Dtype::f64);
  MatmulOptions options = options_for(GetParam(), 24);
  TilePlan plan = plan_product(ops, options);
  ASSERT_EQ(plan.tiles.size(), 12u);  // 3 x 4 tiles of 24, the last row of tiles 16 high
  std::size_t seen = 0;
  MatmulRun run = multiply(ops, plan, options, [&](const Tile&) { ++seen; });
  ASSERT_TRUE(run.complete()) << (run.failures.empty() ? "interrupted" : run.failures[0]);
  EXPECT_EQ(seen, 12u);
  expect_close(c_of(ops), read_row_major(fixture("c_64x48x80_f64.npy")), 1e-13);
}

TEST_P(ProductTest, MatchesNumpyInFloat32WithFortranOrderB) {
  Operands ops = load("a_50x40_f32.npy", "b_40x30_f32_fortran.npy", Dtype::f32);
  MatmulOptions options = options_for(GetParam(), 0);
  MatmulRun run = multiply(ops, plan_product(ops, options), options);
  ASSERT_TRUE(run.complete());
  expect_close(c_of(ops), read_row_major(fixture("c_50x40x30_f32.npy")), 1e-5);
}

// Distribution::blocks: blocks of C bounded by the worker memory, edge blocks included, give
// numpy's product, and the same C, byte for byte, as serial with the same plan, on every
// backend and transport.
TEST_P(ProductTest, BlocksGiveSerialsC) {
  auto blocks_of = [](MatmulOptions options) {
    options.distribution = Distribution::blocks;
    options.worker_memory = block_job_bytes(24, 24, 48, 8);  // one granule's block per job
    return options;
  };
  Operands want = load("a_64x48_f64.npy", "b_48x80_f64.npy", Dtype::f64);
  const MatmulOptions serial = blocks_of(options_for({Backend::serial, ipc::Transport::shm}, 0));
  ASSERT_TRUE(multiply(want, plan_product(want, serial), serial).complete());

  Operands ops = load("a_64x48_f64.npy", "b_48x80_f64.npy", Dtype::f64);
  const MatmulOptions options = blocks_of(options_for(GetParam(), 0));
  TilePlan plan = plan_product(ops, options);
  EXPECT_EQ(plan.distribution, Distribution::blocks);
  ASSERT_EQ(plan.tiles.size(), 12u);  // 3 x 4 blocks of 24, the last row 16 high, column 8 wide
  EXPECT_LE(plan.worker_bytes, options.worker_memory);
  MatmulRun run = multiply(ops, plan, options);
  ASSERT_TRUE(run.complete()) << (run.failures.empty() ? "interrupted" : run.failures[0]);
  expect_close(c_of(ops), read_row_major(fixture("c_64x48x80_f64.npy")), 1e-13);
  EXPECT_EQ(std::memcmp(ops.c(), want.c(), ops.c_bytes().size()), 0);
  // Where the workers do not reach B in place, nothing went to every worker: each of the 3
  // row panels of A went once per block column (4), each of the 4 column panels of B once per
  // block row (3), C came back once, and each job had its few bytes of coordinates.
  if (plan.worker_bytes > 0) {
    const std::uint64_t panels = (64 * 48 * 4 + 48 * 80 * 3 + 64 * 80) * 8;
    EXPECT_GT(run.payload_bytes, panels);
    EXPECT_LT(run.payload_bytes, panels + 12 * 128);
  }
}

TEST_P(ProductTest, ReportsATileThatFailed) {
  Operands ops = load("a_64x48_f64.npy", "b_48x80_f64.npy", Dtype::f64);
  MatmulOptions options = options_for(GetParam(), 24);
  options.before_tile = [](std::size_t index) {
    if (index == 5) throw std::runtime_error("no luck");
  };
  MatmulRun run = multiply(ops, plan_product(ops, options), options);
  ASSERT_EQ(run.failures.size(), 1u);
  EXPECT_NE(run.failures[0].find("tile 5 (rows 24-47, columns 24-47): no luck"), std::string::npos)
      << run.failures[0];
  EXPECT_FALSE(run.complete());
}

INSTANTIATE_TEST_SUITE_P(
    Backends, ProductTest,
    ::testing::Values(Setup{Backend::serial, ipc::Transport::shm},
                      Setup{Backend::threads, ipc::Transport::shm},
                      Setup{Backend::processes, ipc::Transport::shm},
                      Setup{Backend::processes, ipc::Transport::pipe},
                      Setup{Backend::processes, ipc::Transport::unix_socket},
                      Setup{Backend::processes, ipc::Transport::tcp},
                      Setup{Backend::processes, ipc::Transport::mq}),
    name_of);

class KilledWorkerTest : public forkpool::testing::LeakCheckedTest,
                         public ::testing::WithParamInterface<ipc::Transport> {};

// Forked workers over shm copy their blocks into the coordinator's C (ipc::write_to_process);
// where the system refuses that copy, the blocks come back as results instead, and C is the
// same.
using CopyIntoCTest = forkpool::testing::LeakCheckedTest;

TEST_F(CopyIntoCTest, WhereWorkersMayNotCopyIntoCTheirBlocksComeBackAsResults) {
  const MatmulOptions options = options_for({Backend::processes, ipc::Transport::shm}, 24);
  const std::uint64_t c_bytes = 64 * 80 * 8;
  Operands copied = load("a_64x48_f64.npy", "b_48x80_f64.npy", Dtype::f64);
  MatmulRun run = multiply(copied, plan_product(copied, options), options);
  ASSERT_TRUE(run.complete()) << (run.failures.empty() ? "interrupted" : run.failures[0]);
  EXPECT_LT(run.payload_bytes, c_bytes) << "C travelled over the channels";
  expect_close(c_of(copied), read_row_major(fixture("c_64x48x80_f64.npy")), 1e-13);

  // Armed here, inherited by the workers forked from here: as a seccomp filter would answer.
  ipc::InjectedFault refused("process_vm_writev", EPERM, 0, 1000);
  Operands sent = load("a_64x48_f64.npy", "b_48x80_f64.npy", Dtype::f64);
  run = multiply(sent, plan_product(sent, options), options);
  ASSERT_TRUE(run.complete()) << (run.failures.empty() ? "interrupted" : run.failures[0]);
  EXPECT_GE(run.payload_bytes, c_bytes) << "C did not come back over the channels";
  EXPECT_EQ(std::memcmp(sent.c(), copied.c(), sent.c_bytes().size()), 0);
}

TEST_P(KilledWorkerTest, TileIsRecomputedAndCIsCorrect) {
  Operands ops = load("a_64x48_f64.npy", "b_48x80_f64.npy", Dtype::f64);
  MatmulOptions options = options_for({Backend::processes, GetParam()}, 24);
  // A flag in shared memory, so that only the first worker to start tile 0 dies, whichever
  // process that is. It scribbles over the first row of its block of C in the coordinator
  // first, as a worker killed while copying its block there would leave it.
  auto flag_memory = ipc::SharedMemory::create(sizeof(std::atomic<int>));
  ASSERT_TRUE(flag_memory);
  auto* killed = new (flag_memory->data()) std::atomic<int>(0);
  const auto c = reinterpret_cast<std::uintptr_t>(ops.c());
  options.before_tile = [killed, c](std::size_t index) {
    if (index != 0 || killed->exchange(1) != 0) return;
    const std::vector<double> nans(24, std::numeric_limits<double>::quiet_NaN());
    const ipc::MemoryCopy scribble{reinterpret_cast<const std::byte*>(nans.data()), c, 24 * 8};
    (void)ipc::write_to_process(::getppid(), {&scribble, 1});
    ::raise(SIGKILL);
  };
  MatmulRun run = multiply(ops, plan_product(ops, options), options);
  ASSERT_TRUE(run.complete()) << (run.failures.empty() ? "interrupted" : run.failures[0]);
  EXPECT_EQ(killed->load(), 1);
  EXPECT_GE(run.workers_replaced, 1u);
  expect_close(c_of(ops), read_row_major(fixture("c_64x48x80_f64.npy")), 1e-13);
}

}  // namespace
}  // namespace forkpool::matmul

namespace forkpool::ipc {
void PrintTo(Transport t, std::ostream* os) { *os << to_string(t); }
}  // namespace forkpool::ipc

namespace forkpool::matmul {
namespace {

INSTANTIATE_TEST_SUITE_P(Transports, KilledWorkerTest,
                         ::testing::Values(ipc::Transport::shm, ipc::Transport::pipe),
                         [](const auto& info) { return std::string(ipc::to_string(info.param)); });

class OperandsTest : public forkpool::testing::LeakCheckedTest {};

TEST_F(OperandsTest, RefusesMismatchedInnerDimensions) {
  try {
    load("a_3x5_f64.npy", "a_3x5_f64.npy", Dtype::f64);
    FAIL() << "3x5 times 3x5 was accepted";
  } catch (const NpyError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot multiply"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("5 columns but 3 rows"), std::string::npos) << e.what();
  }
}

TEST_F(OperandsTest, RefusesOperandsLargerThanMemory) {
  try {
    random_operands(Dtype::f64, 1 << 20, 1 << 20, 1 << 20, 1);
    FAIL() << "a 24 TiB product was accepted";
  } catch (const NpyError& e) {
    EXPECT_NE(std::string(e.what()).find("available"), std::string::npos) << e.what();
  }
}

// Threads of this process now, from /proc/self/status.
int threads_now() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  return -1;
}

// Pages of [data, data + bytes) that are in memory.
std::size_t resident_pages(const std::byte* data, std::size_t bytes) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  auto first = reinterpret_cast<std::uintptr_t>(data) / page * page;
  std::vector<unsigned char> in_core((reinterpret_cast<std::uintptr_t>(data) + bytes - first + page - 1) / page);
  if (::mincore(reinterpret_cast<void*>(first), in_core.size() * page, in_core.data()) != 0) return 0;
  std::size_t n = 0;
  for (unsigned char c : in_core) n += c & 1;
  return n;
}

// C's pages are mapped while A and B load, on a thread of its own where C is large
// (load_and_map_c): the product then does not wait for the kernel to zero them, and the thread
// is gone before any worker is forked from this process.
TEST_F(OperandsTest, OperandsComeWithCInMemoryAndNoThreadLeft) {
#ifdef MADV_POPULATE_WRITE
  void* probe = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(probe, MAP_FAILED);
  const bool populates = ::madvise(probe, 4096, MADV_POPULATE_WRITE) == 0;
  ::munmap(probe, 4096);
  if (!populates) GTEST_SKIP() << "this kernel has no MADV_POPULATE_WRITE (Linux 5.14)";
  std::thread([] {}).join();  // ThreadSanitizer starts a thread of its own at the first one
  const int before = threads_now();
  Operands ops = random_operands(Dtype::f64, 1024, 64, 2048, 1);  // C: 16 MiB, on a thread
  EXPECT_EQ(threads_now(), before);
  const auto c = ops.c_bytes();
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  EXPECT_EQ(resident_pages(c.data(), c.size()), (c.size() + page - 1) / page);
  Operands small = random_operands(Dtype::f64, 64, 64, 64, 1);  // C: 32 KiB, on this thread
  EXPECT_EQ(resident_pages(small.c(), small.c_bytes().size()), small.c_bytes().size() / page);
#else
  GTEST_SKIP() << "built without MADV_POPULATE_WRITE";
#endif
}

// Forked workers that reach the operands in place compute their blocks in scratch whose pages
// were mapped with the load, each region handed to its worker at the fork; workers that are
// threads, or that are sent their rows of A, need none.
TEST_F(OperandsTest, ForkedWorkersGetScratchMappedWithTheLoad) {
  const MatmulOptions forked = options_for({Backend::processes, ipc::Transport::shm}, 0);
  Operands ops = random_operands(Dtype::f64, 512, 256, 512, 1, &forked);
  WorkerScratch* scratch = ops.worker_scratch();
  ASSERT_NE(scratch, nullptr);
  ASSERT_EQ(scratch->workers(), 2u);
  const TilePlan plan = plan_product(ops, forked);
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  for (unsigned w = 0; w < 2; ++w) {
    const std::span<std::byte> region = scratch->region(w);
    for (const Tile& t : plan.tiles) EXPECT_GE(region.size(), t.rows * t.cols * sizeof(double));
#ifdef MADV_POPULATE_WRITE
    EXPECT_EQ(resident_pages(region.data(), region.size()), region.size() / page) << "worker " << w;
#endif
  }

  ASSERT_TRUE(multiply(ops, plan, forked).complete());
  EXPECT_TRUE(scratch->region(0).empty());  // each went with its worker
  EXPECT_TRUE(scratch->region(1).empty());
  const std::vector<double> c = c_of(ops);
  const MatmulOptions serial = options_for({Backend::serial, ipc::Transport::shm}, 0);
  ASSERT_TRUE(multiply(ops, plan_product(ops, serial), serial).complete());
  expect_close(c, c_of(ops), 1e-12);

  const MatmulOptions threads = options_for({Backend::threads, ipc::Transport::shm}, 0);
  EXPECT_EQ(random_operands(Dtype::f64, 64, 64, 64, 1, &threads).worker_scratch(), nullptr);
  const MatmulOptions copied = options_for({Backend::processes, ipc::Transport::pipe}, 0);
  EXPECT_EQ(random_operands(Dtype::f64, 64, 64, 64, 1, &copied).worker_scratch(), nullptr);
}

TEST_F(OperandsTest, ConvertsFloat32FilesToAFloat64Product) {
  Operands ops = load("a_3x5_f32.npy", "b_5x2_f64.npy", Dtype::f64);
  MatmulOptions options = options_for({Backend::serial, ipc::Transport::shm}, 0);
  ASSERT_TRUE(multiply(ops, plan_product(ops, options), options).complete());
  // a_3x5_f32 is a_3x5_f64 rounded to float32: C is numpy's to float32 accuracy.
  expect_close(c_of(ops), read_row_major(fixture("c_3x5x2_f64.npy")), 1e-6);
}

}  // namespace
}  // namespace forkpool::matmul
