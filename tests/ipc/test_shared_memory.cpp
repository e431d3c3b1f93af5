#include "forkpool/ipc/shared_memory.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include <cstring>
#include <string>
#include <utility>

#include "common/leak_check.hpp"
#include "forkpool/ipc/channel.hpp"
#include "forkpool/ipc/fault_injection.hpp"
#include "ipc/channel_test_support.hpp"

namespace forkpool::testing {
namespace {

using SharedMemoryTest = LeakCheckedTest;

TEST_F(SharedMemoryTest, NothingAppearsInDevShmWhileItLives) {
  auto before = ResourceSnapshot::take().shm;
  auto mem = ipc::SharedMemory::create(1 << 16);
  ASSERT_TRUE(mem.has_value()) << mem.error().message();
  EXPECT_EQ(mem->size(), std::size_t{1} << 16);
  EXPECT_EQ(ResourceSnapshot::take().shm, before) << "the segment's name was not unlinked";
}

TEST_F(SharedMemoryTest, ForkedChildSeesWritesBothWays) {
  auto mem = ipc::SharedMemory::create(4096);
  ASSERT_TRUE(mem.has_value()) << mem.error().message();
  std::byte* p = mem->data();
  std::memcpy(p, "parent", 7);
  ForkedChild child([&] {
    if (std::memcmp(p, "parent", 7) != 0) return 1;
    std::memcpy(p + 100, "child", 6);
    return 0;
  });
  ASSERT_EQ(child.wait(), 0) << "the child did not see the parent's write";
  EXPECT_EQ(std::memcmp(p + 100, "child", 6), 0) << "the parent did not see the child's write";
}

TEST_F(SharedMemoryTest, MoveTransfersTheMapping) {
  auto mem = ipc::SharedMemory::create(0);  // a zero-byte request still gives a usable object
  ASSERT_TRUE(mem.has_value()) << mem.error().message();
  std::byte* p = mem->data();
  ASSERT_NE(p, nullptr);
  ipc::SharedMemory moved(std::move(*mem));
  EXPECT_EQ(mem->data(), nullptr);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(mem->size(), 0u);
  EXPECT_EQ(moved.data(), p);
  ipc::SharedMemory other;
  other = std::move(moved);
  EXPECT_EQ(other.data(), p);
}

TEST_F(SharedMemoryTest, AFullDevShmIsAnErrorAtCreationWithAHint) {
  ipc::InjectedFault full("posix_fallocate", ENOSPC);
  auto mem = ipc::SharedMemory::create(3 << 20);
  ASSERT_FALSE(mem.has_value());
  EXPECT_EQ(full.hits(), 1u);
  EXPECT_EQ(mem.error().code, ENOSPC);
  EXPECT_NE(mem.error().message().find("no space in /dev/shm for 3.0 MiB"), std::string::npos)
      << mem.error().message();
}

TEST_F(SharedMemoryTest, EveryFailingStepOfCreationIsAnErrorAndLeaksNothing) {
  for (const char* call : {"shm_open", "ftruncate", "posix_fallocate", "mmap"}) {
    ipc::InjectedFault fault(call, ENOMEM);
    auto mem = ipc::SharedMemory::create(4096);
    ASSERT_FALSE(mem.has_value()) << call;
    EXPECT_EQ(fault.hits(), 1u) << call;
    EXPECT_EQ(mem.error().code, ENOMEM) << call;
    EXPECT_EQ(mem.error().call, call);
  }
}

// A real small /dev/shm: a tmpfs of 1 MiB mounted over it in a private mount namespace of a
// child. The channel's 2 MiB used to be created (ftruncate reserves nothing) and the first
// touch of a page past the first MiB killed the process with SIGBUS.
TEST_F(SharedMemoryTest, AChannelThatDoesNotFitARealSmallDevShmIsRefusedUpFront) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  ForkedChild child([] {
    if (::unshare(CLONE_NEWNS) != 0) return 10;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 10;
    if (::mount("forkpool-test", "/dev/shm", "tmpfs", 0, "size=1M") != 0) return 10;
    auto pair = ipc::make_channel_pair(ipc::Transport::shm);
    if (pair) {
      // The old way: it "worked" until the ring's pages were touched.
      ipc::Bytes big = pattern(std::size_t{1} << 20, 1);
      (void)pair->first->send(big, ipc::Deadline::after(std::chrono::seconds(1)));
      return 2;
    }
    if (pair.error().code != ENOSPC) return 3;
    const std::string m = pair.error().message();
    if (m.find("no space in /dev/shm for the channel") == std::string::npos) return 4;
    if (m.find("--transport pipe") == std::string::npos) return 5;
    return 0;
  });
  const int status = child.wait();
  if (status == 10) GTEST_SKIP() << "no private mount namespace here (unshare or mount refused)";
  EXPECT_EQ(status, 0) << "2: created in a full /dev/shm, 3: not ENOSPC, 4/5: unclear message, "
                       << 128 + SIGBUS << ": SIGBUS";
}

TEST_F(SharedMemoryTest, RandomNamesAreOursAndDiffer) {
  std::string a = ipc::random_object_name(), b = ipc::random_object_name();
  std::string prefix = "/forkpool-" + std::to_string(::getpid()) + "-";
  EXPECT_EQ(a.rfind(prefix, 0), 0u) << a;
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace forkpool::testing
