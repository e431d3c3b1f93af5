#include "forkpool/ipc/private_memory.hpp"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "common/leak_check.hpp"
#include "ipc/channel_test_support.hpp"

namespace forkpool::testing {
namespace {

using PrivateMemoryTest = LeakCheckedTest;
constexpr std::size_t kHugePage = std::size_t{2} << 20;

TEST_F(PrivateMemoryTest, IsWholeAlignedHugePagesOfZeros) {
  auto mem = ipc::PrivateMemory::create(3 * (std::size_t{1} << 20) + 1);
  ASSERT_TRUE(mem.has_value()) << mem.error().message();
  EXPECT_EQ(mem->size(), 2 * kHugePage);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(mem->data()) % kHugePage, 0u);
  for (std::size_t i = 0; i < mem->size(); i += 4096) ASSERT_EQ(mem->data()[i], std::byte{0});
}

// What matmul relies on: written before the fork, read by the child in place; what the child
// writes stays its own.
TEST_F(PrivateMemoryTest, ForkedChildReadsWhatWasThereAndWritesItsOwnCopy) {
  auto mem = ipc::PrivateMemory::create(4096);
  ASSERT_TRUE(mem.has_value()) << mem.error().message();
  std::byte* p = mem->data();
  std::memcpy(p, "parent", 7);
  ForkedChild child([&] {
    if (std::memcmp(p, "parent", 7) != 0) return 1;
    std::memcpy(p, "child", 6);
    return std::memcmp(p, "child", 6) == 0 ? 0 : 2;
  });
  ASSERT_EQ(child.wait(), 0) << "the child did not see the parent's write";
  EXPECT_EQ(std::memcmp(p, "parent", 7), 0) << "the child's write reached the parent";
}

// Huge pages are why it exists: where the kernel gives them to madvised memory, touched memory
// is backed by them (AnonHugePages of its mapping in /proc/self/smaps).
TEST_F(PrivateMemoryTest, TouchedMemoryIsInHugePagesWhereTheKernelOffersThem) {
  std::ifstream setting("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string thp((std::istreambuf_iterator<char>(setting)), {});
  if (thp.empty() || thp.find("[never]") != std::string::npos)
    GTEST_SKIP() << "transparent huge pages are off on this kernel";
  auto mem = ipc::PrivateMemory::create(4 * kHugePage);
  ASSERT_TRUE(mem.has_value()) << mem.error().message();
  std::memset(mem->data(), 1, mem->size());
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_mapping = false;
  std::size_t huge_kib = 0;
  char start_text[32];
  std::snprintf(start_text, sizeof start_text, "%lx-", reinterpret_cast<unsigned long>(mem->data()));
  while (std::getline(smaps, line)) {
    if (line.find('-') != std::string::npos && line.find(' ') > line.find('-') &&
        std::isxdigit(static_cast<unsigned char>(line[0])))
      in_mapping = line.rfind(start_text, 0) == 0;
    else if (in_mapping && line.rfind("AnonHugePages:", 0) == 0)
      std::istringstream(line.substr(14)) >> huge_kib;
  }
  EXPECT_GE(huge_kib, kHugePage / 1024) << "no huge page backs the touched memory";
}

TEST_F(PrivateMemoryTest, MoveTransfersTheMapping) {
  auto mem = ipc::PrivateMemory::create(0);  // a zero-byte request still gives a usable mapping
  ASSERT_TRUE(mem.has_value()) << mem.error().message();
  std::byte* p = mem->data();
  ASSERT_NE(p, nullptr);
  ipc::PrivateMemory moved(std::move(*mem));
  EXPECT_EQ(mem->data(), nullptr);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(moved.data(), p);
  ipc::PrivateMemory other;
  other = std::move(moved);
  EXPECT_EQ(other.data(), p);
  EXPECT_EQ(other.size(), kHugePage);
}

}  // namespace
}  // namespace forkpool::testing
