// Whole-file reads, all-or-nothing writes, and the removal of temporaries left by dead writers.

#include <gtest/gtest.h>

#include "common/leak_check.hpp"
#include "forkpool/images/codec.hpp"
#include "forkpool/images/files.hpp"
#include "forkpool/ipc/output_file.hpp"
#include "image_test_support.hpp"

namespace forkpool::images {
namespace {

using namespace forkpool::testing;
using FilesTest = LeakCheckedTest;

std::string error_of(const std::filesystem::path& path, std::uint64_t max_bytes = 1 << 20) {
  try {
    (void)read_file(path, max_bytes);
  } catch (const ImageError& e) {
    return e.what();
  }
  return "";
}

TEST_F(FilesTest, ReadsAWholeFile) {
  TempDir dir;
  write_bytes(dir / "a.bin", std::string(100000, 'z'));
  auto data = read_file(dir / "a.bin", 1 << 20);
  ASSERT_EQ(data.size(), 100000u);
  EXPECT_EQ(data.back(), std::byte{'z'});
}

TEST_F(FilesTest, ReadFailuresSayWhy) {
  TempDir dir;
  EXPECT_NE(error_of(dir / "missing.jpg").find("No such file"), std::string::npos);
  write_bytes(dir / "empty.jpg", "");
  EXPECT_NE(error_of(dir / "empty.jpg").find("empty file"), std::string::npos);
  write_bytes(dir / "big.jpg", std::string(2000, 'x'));
  EXPECT_NE(error_of(dir / "big.jpg", 1000).find("too large"), std::string::npos);
  EXPECT_NE(error_of(dir.path()).find("not a regular file"), std::string::npos);
}

TEST_F(FilesTest, AtomicWriteReplacesAndLeavesNoTemporary) {
  TempDir dir;
  write_bytes(dir / "out.jpg", "old");
  const std::string text = "new contents";
  write_file_atomically(dir / "out.jpg",
                        {reinterpret_cast<const unsigned char*>(text.data()), text.size()});
  EXPECT_EQ(read_bytes(dir / "out.jpg"), text);
  EXPECT_EQ(files_under(dir.path()), std::vector<std::string>{"out.jpg"});
}

TEST_F(FilesTest, FailedWriteLeavesNothing) {
  TempDir dir;
  const unsigned char byte = 1;
  EXPECT_THROW(write_file_atomically(dir / "no-such-folder" / "out.jpg", {&byte, 1}), std::runtime_error);
  EXPECT_TRUE(files_under(dir.path()).empty());
}

TEST_F(FilesTest, RemovesOnlyTheTemporariesOfDeadWriters) {
  TempDir dir;
  for (const char* name : {"a/.a.jpg.forkpool-tmp-123", "b/.b.jpg.forkpool-tmp-9f", "a/a.jpg", "a/.a.jpg.other"})
    write_bytes(dir / name, "x");
  auto live = ipc::OutputFile::open(dir / "a" / "c.jpg");  // a writer still at work
  ASSERT_TRUE(live);
  std::vector<std::filesystem::path> folders{dir / "a", dir / "b", dir / "missing"};
  EXPECT_EQ(remove_stale_temp_files(folders), 2u);
  EXPECT_TRUE(std::filesystem::exists(live->temp_path()));
  live->discard();
  EXPECT_EQ(files_under(dir.path()), (std::vector<std::string>{"a/.a.jpg.other", "a/a.jpg"}));
}

}  // namespace
}  // namespace forkpool::images
