// WorkerScratch: each forked worker inherits its own region, with what the coordinator put
// there, and no other; the coordinator no longer maps a region once its worker is forked.

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <span>
#include <vector>

#include "common/leak_check.hpp"
#include "forkpool/exec/worker_scratch.hpp"

namespace forkpool {
namespace {

constexpr std::size_t kRegionBytes = std::size_t{3} << 20;

// Whether any page of `region` is mapped in this process (mincore fails with ENOMEM where one
// is not).
bool mapped(std::span<const std::byte> region) {
  std::vector<unsigned char> resident((region.size() + 4095) / 4096);
  return ::mincore(const_cast<std::byte*>(region.data()), region.size(), resident.data()) == 0;
}

class WorkerScratchTest : public forkpool::testing::LeakCheckedTest {};

TEST_F(WorkerScratchTest, EveryWorkerHasARegionOfItsOwn) {
  WorkerScratch scratch(3, kRegionBytes);
  ASSERT_EQ(scratch.workers(), 3u);
  for (unsigned w = 0; w < 3; ++w) {
    std::span<std::byte> r = scratch.region(w);
    ASSERT_GE(r.size(), kRegionBytes);
    std::memset(r.data(), static_cast<int>(w + 1), r.size());
  }
  for (unsigned w = 0; w < 3; ++w) {
    std::span<std::byte> r = scratch.region(w);
    EXPECT_EQ(r.front(), std::byte(w + 1));
    EXPECT_EQ(r.back(), std::byte(w + 1));
  }
  EXPECT_TRUE(scratch.region(3).empty());
}

TEST_F(WorkerScratchTest, AForkTakesItsRegionWithItsContentsAndNoOther) {
  WorkerScratch scratch(2, kRegionBytes);
  scratch.map_pages();
  const std::span<std::byte> mine = scratch.region(0), sibling = scratch.region(1);
  std::memset(mine.data(), 0x5a, mine.size());
  std::memset(sibling.data(), 0x33, sibling.size());

  scratch.inherit_at_next_fork(0);
  pid_t pid = ::fork();
  if (pid == 0) {
    // Exit codes say which expectation failed.
    std::span<std::byte> r = scratch.region(0);
    if (r.data() != mine.data() || !mapped(r)) ::_exit(1);
    for (std::byte b : r)
      if (b != std::byte{0x5a}) ::_exit(2);
    std::memset(r.data(), 0x77, r.size());  // and it is writable
    if (mapped(sibling)) ::_exit(3);
    ::_exit(0);
  }
  ASSERT_GT(pid, 0);
  scratch.let_go(0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);

  EXPECT_TRUE(scratch.region(0).empty());
  EXPECT_FALSE(mapped(mine));
  // The sibling's region is still the coordinator's, untouched by the worker.
  EXPECT_EQ(scratch.region(1).data(), sibling.data());
  EXPECT_EQ(sibling.front(), std::byte{0x33});
}

TEST_F(WorkerScratchTest, AForkNotHandedARegionInheritsNone) {
  WorkerScratch scratch(2, kRegionBytes);
  scratch.map_pages();
  const std::span<std::byte> first = scratch.region(0), second = scratch.region(1);
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(mapped(first) || mapped(second) ? 1 : 0);
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(mapped(first));
}

}  // namespace
}  // namespace forkpool
