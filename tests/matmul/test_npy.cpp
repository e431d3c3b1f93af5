// .npy reading and writing against files numpy wrote, and every refusal.

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "common/leak_check.hpp"
#include "forkpool/matmul/npy.hpp"
#include "matmul/matmul_test_support.hpp"

namespace forkpool::matmul {
namespace {

using testing::fixture;
using testing::read_row_major;
using testing::ScratchDir;

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void spit(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// The message NpyFile::open refuses `path` with, or "" when it opens it.
std::string refusal(const std::filesystem::path& path) {
  try {
    NpyFile::open(path);
  } catch (const NpyError& e) {
    return e.what();
  }
  return "";
}

class NpyTest : public forkpool::testing::LeakCheckedTest {};

TEST_F(NpyTest, ReadsOneByOne) {
  NpyFile f = NpyFile::open(fixture("one_1x1_f64.npy"));
  EXPECT_EQ(f.rows(), 1u);
  EXPECT_EQ(f.cols(), 1u);
  EXPECT_EQ(read_row_major(fixture("one_1x1_f64.npy")), std::vector<double>{2.5});
}

TEST_F(NpyTest, ReadsShapesAndVersions) {
  NpyFile a = NpyFile::open(fixture("a_3x5_f64.npy"));
  EXPECT_EQ(a.header().major_version, 1);
  EXPECT_EQ(a.header().dtype, Dtype::f64);
  EXPECT_FALSE(a.header().fortran_order);
  EXPECT_EQ(a.header().shape, (std::vector<std::size_t>{3, 5}));
  EXPECT_EQ(a.data().size(), 15u * 8);
  EXPECT_EQ(a.header().data_offset % 64, 0u);

  NpyFile col = NpyFile::open(fixture("col_1000x1_f64.npy"));
  EXPECT_EQ(col.header().shape, (std::vector<std::size_t>{1000, 1}));

  auto reference = read_row_major(fixture("a_3x5_f64.npy"));
  for (auto [name, version] : {std::pair{"v2_3x5_f64.npy", 2}, std::pair{"v3_3x5_f64.npy", 3}}) {
    NpyFile v = NpyFile::open(fixture(name));
    EXPECT_EQ(v.header().major_version, version) << name;
    EXPECT_EQ(read_row_major(fixture(name)), reference) << name;
  }
}

TEST_F(NpyTest, ReadsFortranOrderAndFloat32) {
  NpyFile f = NpyFile::open(fixture("fortran_4x3_f64.npy"));
  EXPECT_TRUE(f.header().fortran_order);
  auto values = read_row_major(fixture("fortran_4x3_f64.npy"));  // numpy: arange(12).reshape(4, 3)
  for (std::size_t i = 0; i < 12; ++i) EXPECT_EQ(values[i], static_cast<double>(i));

  NpyFile s = NpyFile::open(fixture("a_3x5_f32.npy"));
  EXPECT_EQ(s.header().dtype, Dtype::f32);
  EXPECT_EQ(s.data().size(), 15u * 4);
  auto narrow = read_row_major(fixture("a_3x5_f32.npy"));
  auto wide = read_row_major(fixture("a_3x5_f64.npy"));
  for (std::size_t i = 0; i < 15; ++i) EXPECT_EQ(narrow[i], static_cast<double>(static_cast<float>(wide[i])));
}

TEST_F(NpyTest, WritesWhatNumpyWrites) {
  // A C-order file forkpool writes is byte for byte the one numpy writes.
  ScratchDir dir;
  for (const char* name : {"c_3x5x2_f64.npy", "a_3x5_f32.npy", "col_1000x1_f64.npy", "one_1x1_f64.npy"}) {
    NpyFile f = NpyFile::open(fixture(name));
    write_npy(dir / name, f.header().dtype, f.rows(), f.cols(), f.data());
    EXPECT_EQ(slurp(dir / name), slurp(fixture(name))) << name;
  }
  EXPECT_EQ(dir.entries().size(), 4u) << "no temporary file is left beside the outputs";
}

TEST_F(NpyTest, WriteReplacesAnExistingFileWhole) {
  ScratchDir dir;
  spit(dir / "c.npy", "old contents");
  NpyFile f = NpyFile::open(fixture("a_3x5_f64.npy"));
  write_npy(dir / "c.npy", Dtype::f64, 3, 5, f.data());
  EXPECT_EQ(read_row_major(dir / "c.npy"), read_row_major(fixture("a_3x5_f64.npy")));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"c.npy"});
}

TEST_F(NpyTest, FailedWriteLeavesNothing) {
  ScratchDir dir;
  NpyFile f = NpyFile::open(fixture("a_3x5_f64.npy"));
  EXPECT_THROW(write_npy(dir / "missing" / "c.npy", Dtype::f64, 3, 5, f.data()), std::runtime_error);
  std::filesystem::create_directory(dir / "c.npy");  // the target is a folder: rename fails
  EXPECT_THROW(write_npy(dir / "c.npy", Dtype::f64, 3, 5, f.data()), std::runtime_error);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"c.npy"}) << "the temporary file is removed";
}

TEST_F(NpyTest, RefusesBadMagic) {
  ScratchDir dir;
  spit(dir / "text.npy", "hello, this is not numpy data at all");
  EXPECT_NE(refusal(dir / "text.npy").find("bad magic"), std::string::npos);
  spit(dir / "empty.npy", "");
  EXPECT_NE(refusal(dir / "empty.npy").find("bad magic"), std::string::npos);
}

TEST_F(NpyTest, RefusesUnparsableHeaders) {
  ScratchDir dir;
  std::string good = slurp(fixture("a_3x5_f64.npy"));
  auto corrupt = [&](const std::string& from, const std::string& to) {
    std::string bytes = good;
    bytes.replace(bytes.find(from), from.size(), to);
    spit(dir / "bad.npy", bytes);
    return refusal(dir / "bad.npy");
  };
  for (auto [from, to] : {std::pair{"'shape'", "'shapf'"}, std::pair{"False", "Nope!"},
                          std::pair{"(3, 5)", "(3, x)"}, std::pair{"{", "["},
                          std::pair{"'descr': '<f8', ", "                "}}) {
    std::string why = corrupt(from, to);
    EXPECT_NE(why.find("unparsable .npy header"), std::string::npos) << from << " -> " << to << ": " << why;
  }
  std::string version = good;
  version[6] = '\x07';
  spit(dir / "v7.npy", version);
  EXPECT_NE(refusal(dir / "v7.npy").find("version 7.0"), std::string::npos);
}

TEST_F(NpyTest, RefusesOtherDtypesAndBigEndian) {
  EXPECT_NE(refusal(fixture("int64_2x2.npy")).find("dtype '<i8' is not supported"), std::string::npos);
  EXPECT_NE(refusal(fixture("big_endian_2x2.npy")).find("big-endian"), std::string::npos);
  EXPECT_NE(refusal(fixture("vector_3.npy")).find("not a matrix"), std::string::npos);
}

TEST_F(NpyTest, RefusesTruncatedFiles) {
  ScratchDir dir;
  std::string good = slurp(fixture("a_3x5_f64.npy"));
  spit(dir / "short.npy", good.substr(0, good.size() - 8));
  EXPECT_NE(refusal(dir / "short.npy").find("truncated"), std::string::npos);
  spit(dir / "header.npy", good.substr(0, 40));
  EXPECT_NE(refusal(dir / "header.npy").find("truncated"), std::string::npos);
}

TEST_F(NpyTest, RefusesMissingFiles) {
  std::string why = refusal(fixture("no_such_file.npy"));
  EXPECT_NE(why.find("No such file"), std::string::npos) << why;
  EXPECT_NE(why.find("no_such_file.npy"), std::string::npos) << why;
}

TEST_F(NpyTest, ParsesHeaderVariants) {
  // Python 2's numpy wrote long integers with an L and other writers use double quotes.
  std::string dict = "{\"descr\": \"<f4\", \"shape\": (2L, 3L), \"fortran_order\": True}\n";
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(dict.size());
  bytes += '\0';
  bytes += dict;
  NpyHeader h = parse_npy_header({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, "x");
  EXPECT_EQ(h.dtype, Dtype::f32);
  EXPECT_TRUE(h.fortran_order);
  EXPECT_EQ(h.shape, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(h.data_offset, bytes.size());
}

}  // namespace
}  // namespace forkpool::matmul
