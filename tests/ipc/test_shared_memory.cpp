#include "forkpool/ipc/shared_memory.hpp"

#include <unistd.h>

#include <cstring>
#include <string>
#include <utility>

#include "common/leak_check.hpp"
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

TEST_F(SharedMemoryTest, RandomNamesAreOursAndDiffer) {
  std::string a = ipc::random_object_name(), b = ipc::random_object_name();
  std::string prefix = "/forkpool-" + std::to_string(::getpid()) + "-";
  EXPECT_EQ(a.rfind(prefix, 0), 0u) << a;
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace forkpool::testing
