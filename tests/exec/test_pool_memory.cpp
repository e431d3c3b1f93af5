// PSS of a pool: a child's private memory counts, memory it shares with this process counts
// once.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/leak_check.hpp"
#include "forkpool/exec/pool_memory.hpp"

namespace forkpool {
namespace {

constexpr std::size_t kMiB = 1024 * 1024;
constexpr std::size_t kBlock = 64 * kMiB;
// Shared libraries' pages count in PSS divided by however many processes map them, anywhere on
// the machine: that share moves as other programs start and stop, by a few KiB to MiB.
constexpr std::size_t kDrift = 4 * kMiB;

class PoolMemoryTest : public forkpool::testing::LeakCheckedTest {
 protected:
  // Forks a child that runs `touch`, tells us through a pipe, and waits until we close ours.
  template <class Touch>
  pid_t fork_child(Touch touch) {
    int ready[2], hold[2];
    EXPECT_EQ(::pipe2(ready, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(hold, O_CLOEXEC), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(ready[0]);
      ::close(hold[1]);
      touch();
      char c = 1;
      (void)!::write(ready[1], &c, 1);
      (void)!::read(hold[0], &c, 1);  // returns when the parent closes its end
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(hold[0]);
    char c = 0;
    EXPECT_EQ(::read(ready[0], &c, 1), 1);
    ::close(ready[0]);
    hold_ = hold[1];
    return pid;
  }
  void end_child(pid_t pid) {
    ::close(hold_);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }

 private:
  int hold_ = -1;
};

TEST_F(PoolMemoryTest, CountsThisProcess) {
  auto self = pss_bytes(::getpid());
  ASSERT_TRUE(self.has_value());
  EXPECT_GT(*self, 0u);
  PoolMemory pool = pool_memory();
  EXPECT_GE(pool.processes, 1u);
  EXPECT_EQ(pss_bytes(-1), std::nullopt);
}

TEST_F(PoolMemoryTest, AChildsPrivateMemoryCounts) {
  PoolMemory before = pool_memory();
  pid_t pid = fork_child([] {
    void* p = ::mmap(nullptr, kBlock, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) std::memset(p, 1, kBlock);
  });
  std::vector<pid_t> children = child_pids();
  EXPECT_NE(std::find(children.begin(), children.end(), pid), children.end());
  PoolMemory with_child = pool_memory();
  end_child(pid);
  EXPECT_EQ(with_child.processes, before.processes + 1);
  EXPECT_GE(with_child.bytes + kDrift, before.bytes + kBlock);
}

// Mapped by both and touched by both: PSS gives each half, so the pool grows by the child's
// own few pages, not by another 64 MiB as RSS would.
TEST_F(PoolMemoryTest, SharedMemoryCountsOnce) {
#ifdef __SANITIZE_THREAD__
  // ThreadSanitizer shadows every byte the child reads with memory of the child's own (52 MB
  // for this block, measured), so the pool does grow by a share of the block there.
  GTEST_SKIP() << "ThreadSanitizer's shadow memory grows with what the child reads";
#endif
  void* shared = ::mmap(nullptr, kBlock, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(shared, MAP_FAILED);
  std::memset(shared, 1, kBlock);
  PoolMemory before = pool_memory();
  pid_t pid = fork_child([shared] {
    // MADV_POPULATE_READ maps every page (Linux 5.14); reading each page does the same.
    const auto* bytes = static_cast<const volatile unsigned char*>(shared);
    for (std::size_t i = 0; i < kBlock; i += 4096) (void)bytes[i];
  });
  PoolMemory with_child = pool_memory();
  end_child(pid);
  ::munmap(shared, kBlock);
  EXPECT_EQ(with_child.processes, before.processes + 1);
  EXPECT_LT(with_child.bytes, before.bytes + kBlock / 4);
  EXPECT_GE(with_child.bytes + kDrift, before.bytes);
}

TEST_F(PoolMemoryTest, PeakKeepsTheLargestSample) {
  PeakPoolMemory peak(std::chrono::milliseconds(60'000));
  peak.sample();
  PoolMemory first = peak.peak();
  void* p = ::mmap(nullptr, kBlock, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  std::memset(p, 1, kBlock);
  peak.sample_now_and_then();  // within the interval: skipped
  EXPECT_EQ(peak.samples(), 1u);
  peak.sample();
  ::munmap(p, kBlock);
  peak.sample();
  EXPECT_EQ(peak.samples(), 3u);
  EXPECT_GE(peak.peak().bytes + kDrift, first.bytes + kBlock);
}

}  // namespace
}  // namespace forkpool
