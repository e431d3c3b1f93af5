#include "forkpool/ipc/cross_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "common/leak_check.hpp"
#include "forkpool/ipc/private_memory.hpp"
#include "ipc/channel_test_support.hpp"

namespace forkpool::testing {
namespace {

using CrossMemoryTest = LeakCheckedTest;

// What matmul's forked workers do with their blocks of C: rows of a private buffer copied into
// the rows of a matrix in the parent's private memory, more rows than one call takes.
TEST_F(CrossMemoryTest, AForkedChildWritesRowsIntoItsParentsPrivateMemory) {
  constexpr std::size_t kRows = 2 * IOV_MAX + 7, kRowBytes = 24, kStride = 64;
  auto target = ipc::PrivateMemory::create(kRows * kStride);
  ASSERT_TRUE(target.has_value()) << target.error().message();
  const pid_t parent = ::getpid();
  const auto base = reinterpret_cast<std::uintptr_t>(target->data());
  ipc::WritableByDescendants allow;
  ForkedChild child([&] {
    std::vector<std::byte> rows(kRows * kRowBytes);
    std::vector<ipc::MemoryCopy> copies;
    for (std::size_t r = 0; r < kRows; ++r) {
      std::memset(rows.data() + r * kRowBytes, static_cast<int>(r % 251 + 1), kRowBytes);
      copies.push_back({rows.data() + r * kRowBytes, base + r * kStride, kRowBytes});
    }
    return ipc::write_to_process(parent, copies).has_value() ? 0 : 1;
  });
  ASSERT_EQ(child.wait(), 0);
  for (std::size_t r = 0; r < kRows; ++r) {
    const std::byte* row = target->data() + r * kStride;
    for (std::size_t i = 0; i < kRowBytes; ++i)
      ASSERT_EQ(row[i], static_cast<std::byte>(r % 251 + 1)) << "row " << r;
    ASSERT_EQ(row[kRowBytes], std::byte{0}) << "row " << r << " spilled past its bytes";
  }
}

TEST_F(CrossMemoryTest, AnAddressTheTargetCannotWriteIsAnError) {
  // A page that is mapped but read-only in this process: not writable through the copy either.
  void* page = ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  const std::byte data[8]{};
  const ipc::MemoryCopy copy{data, reinterpret_cast<std::uintptr_t>(page), sizeof data};
  auto r = ipc::write_to_process(::getpid(), {&copy, 1});
  ::munmap(page, 4096);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, EFAULT);
  EXPECT_NE(r.error().message().find("process_vm_writev"), std::string::npos) << r.error().message();
}

TEST_F(CrossMemoryTest, AProcessThatDoesNotExistIsAnError) {
  std::byte value{1};
  std::byte target{};
  const ipc::MemoryCopy copy{&value, reinterpret_cast<std::uintptr_t>(&target), 1};
  // INT_MAX is above any pid_max the kernel allows, so no process has it.
  auto r = ipc::write_to_process(INT_MAX, {&copy, 1});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ESRCH);
}

}  // namespace
}  // namespace forkpool::testing
