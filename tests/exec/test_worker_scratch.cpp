// WorkerScratch: each forked worker inherits its own region, with what the coordinator put
// there, and no other; the coordinator no longer maps a region once its worker is forked.

#include <gtest/gtest.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "common/leak_check.hpp"
#include "forkpool/exec/worker_scratch.hpp"

namespace forkpool {
namespace {

constexpr std::size_t kRegionBytes = std::size_t{3} << 20;

// Whether the first page of `region` can be read in this process and holds `value` in every
// byte: what a fork that inherited the region sees. Read with process_vm_readv, which fails
// (EFAULT) rather than crash where nothing is mapped. (Where the region is not inherited, the
// address range is free in the child and may hold something it mapped since, as
// ThreadSanitizer's runtime does: whether it is mapped says nothing.)
bool holds(std::span<const std::byte> region, std::byte value) {
  std::vector<std::byte> page(4096);
  iovec local{page.data(), page.size()};
  iovec remote{const_cast<std::byte*>(region.data()), page.size()};
  if (::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0) != static_cast<ssize_t>(page.size()))
    return false;
  return std::all_of(page.begin(), page.end(), [&](std::byte b) { return b == value; });
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
    if (r.data() != mine.data()) ::_exit(1);
    for (std::byte b : r)
      if (b != std::byte{0x5a}) ::_exit(2);
    std::memset(r.data(), 0x77, r.size());  // and it is writable
    if (holds(sibling, std::byte{0x33})) ::_exit(3);
    ::_exit(0);
  }
  ASSERT_GT(pid, 0);
  scratch.let_go(0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);

  EXPECT_TRUE(scratch.region(0).empty());
  EXPECT_FALSE(holds(mine, std::byte{0x5a}));
  // The sibling's region is still the coordinator's, untouched by the worker.
  EXPECT_EQ(scratch.region(1).data(), sibling.data());
  EXPECT_EQ(sibling.front(), std::byte{0x33});
}

TEST_F(WorkerScratchTest, AForkNotHandedARegionInheritsNone) {
  WorkerScratch scratch(2, kRegionBytes);
  scratch.map_pages();
  const std::span<std::byte> first = scratch.region(0), second = scratch.region(1);
  std::memset(first.data(), 0x5a, first.size());
  std::memset(second.data(), 0x33, second.size());
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(holds(first, std::byte{0x5a}) || holds(second, std::byte{0x33}) ? 1 : 0);
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(holds(first, std::byte{0x5a}));
}

}  // namespace
}  // namespace forkpool
