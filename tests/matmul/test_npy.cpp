// .npy reading and writing against files numpy wrote, and every refusal.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "common/leak_check.hpp"
#include "forkpool/matmul/matmul.hpp"
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
  EXPECT_EQ(a.data_bytes(), 15u * 8);
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
  EXPECT_EQ(s.data_bytes(), 15u * 4);
  auto narrow = read_row_major(fixture("a_3x5_f32.npy"));
  auto wide = read_row_major(fixture("a_3x5_f64.npy"));
  for (std::size_t i = 0; i < 15; ++i) EXPECT_EQ(narrow[i], static_cast<double>(static_cast<float>(wide[i])));
}

TEST_F(NpyTest, WritesWhatNumpyWrites) {
  // A C-order file forkpool writes is byte for byte the one numpy writes.
  ScratchDir dir;
  for (const char* name : {"c_3x5x2_f64.npy", "a_3x5_f32.npy", "col_1000x1_f64.npy", "one_1x1_f64.npy"}) {
    NpyFile f = NpyFile::open(fixture(name));
    write_npy(dir / name, f.header().dtype, f.rows(), f.cols(), f.read_data());
    EXPECT_EQ(slurp(dir / name), slurp(fixture(name))) << name;
  }
  EXPECT_EQ(dir.entries().size(), 4u) << "no temporary file is left beside the outputs";
}

TEST_F(NpyTest, WriteReplacesAnExistingFileWhole) {
  ScratchDir dir;
  spit(dir / "c.npy", "old contents");
  NpyFile f = NpyFile::open(fixture("a_3x5_f64.npy"));
  write_npy(dir / "c.npy", Dtype::f64, 3, 5, f.read_data());
  EXPECT_EQ(read_row_major(dir / "c.npy"), read_row_major(fixture("a_3x5_f64.npy")));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"c.npy"});
}

TEST_F(NpyTest, FailedWriteLeavesNothing) {
  ScratchDir dir;
  NpyFile f = NpyFile::open(fixture("a_3x5_f64.npy"));
  EXPECT_THROW(write_npy(dir / "missing" / "c.npy", Dtype::f64, 3, 5, f.read_data()), std::runtime_error);
  std::filesystem::create_directory(dir / "c.npy");  // the target is a folder: rename fails
  EXPECT_THROW(write_npy(dir / "c.npy", Dtype::f64, 3, 5, f.read_data()), std::runtime_error);
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

// A rows x cols .npy file whose element i, in the file's order, is i.
void write_counting(const std::filesystem::path& path, Dtype dtype, bool fortran, std::size_t rows,
                    std::size_t cols) {
  std::string header = npy_header(dtype, rows, cols);
  if (fortran) header.replace(header.find("False"), 5, "True ");  // same length
  std::string data(rows * cols * size_of(dtype), '\0');
  for (std::size_t i = 0; i < rows * cols; ++i) {
    if (dtype == Dtype::f32) {
      float v = static_cast<float>(i);
      std::memcpy(data.data() + 4 * i, &v, 4);
    } else {
      double v = static_cast<double>(i);
      std::memcpy(data.data() + 8 * i, &v, 8);
    }
  }
  spit(path, header + data);
}

// Matrices larger than the conversion buffer, of every order and type, and a Fortran-order one
// whose columns are each larger than the buffer: read in pieces, they come out as read whole.
TEST_F(NpyTest, ReadsLargeMatricesOfEveryOrderAndType) {
  ScratchDir dir;
  struct Case {
    Dtype dtype;
    bool fortran;
    std::size_t rows, cols;
  };
  for (Case c : {Case{Dtype::f32, false, 1100, 1000}, Case{Dtype::f32, true, 1100, 1000},
                 Case{Dtype::f64, true, 700, 1000}, Case{Dtype::f64, true, 600'001, 3}}) {
    write_counting(dir / "m.npy", c.dtype, c.fortran, c.rows, c.cols);
    NpyFile f = NpyFile::open(dir / "m.npy");
    ASSERT_EQ(f.header().fortran_order, c.fortran);
    std::vector<double> expected = read_row_major(dir / "m.npy");
    for (Dtype to : {Dtype::f32, Dtype::f64}) {
      std::vector<std::byte> got(c.rows * c.cols * size_of(to));
      f.read_row_major(to, got.data());
      for (std::size_t i = 0; i < expected.size(); ++i) {
        double v = to == Dtype::f32 ? reinterpret_cast<const float*>(got.data())[i]
                                    : reinterpret_cast<const double*>(got.data())[i];
        ASSERT_EQ(v, to == Dtype::f32 ? double(float(expected[i])) : expected[i])
            << c.rows << "x" << c.cols << " fortran " << c.fortran << " at " << i;
      }
    }
  }
}

// Inputs were once memory-mapped: a file cut short while matmul loaded it killed the process
// with SIGBUS. Now they are read, and the change is an error naming the file.
TEST_F(NpyTest, AFileThatShrinksWhileLoadedIsAnError) {
  ScratchDir dir;
  write_counting(dir / "a.npy", Dtype::f64, false, 64, 64);
  write_counting(dir / "b.npy", Dtype::f64, false, 64, 64);
  NpyFile a = NpyFile::open(dir / "a.npy");
  NpyFile b = NpyFile::open(dir / "b.npy");
  ASSERT_EQ(::truncate((dir / "b.npy").c_str(), 4096), 0);
  try {
    (void)load_operands(a, b, Dtype::f64);
    ADD_FAILURE() << "a file that shrank was read";
  } catch (const NpyError& e) {
    EXPECT_NE(std::string(e.what()).find("b.npy: changed while reading"), std::string::npos) << e.what();
  }
}

TEST_F(NpyTest, AFileRewrittenWhileLoadedIsAnError) {
  ScratchDir dir;
  write_counting(dir / "a.npy", Dtype::f32, true, 30, 20);
  NpyFile a = NpyFile::open(dir / "a.npy");
  // Same size, other contents: only its modification time tells.
  write_counting(dir / "a.npy", Dtype::f32, false, 30, 20);
  timespec later[2] = {{0, UTIME_OMIT}, {::time(nullptr) + 10, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir / "a.npy").c_str(), later, 0), 0);
  std::vector<std::byte> out(30 * 20 * 8);
  try {
    a.read_row_major(Dtype::f64, out.data());
    ADD_FAILURE() << "a rewritten file was read";
  } catch (const NpyError& e) {
    EXPECT_NE(std::string(e.what()).find("a.npy: changed while reading"), std::string::npos) << e.what();
  }
}

TEST_F(NpyTest, RefusesAHeaderLongerThanAnyNumpyWrites) {
  ScratchDir dir;
  std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }";
  dict.resize(kMaxNpyHeaderBytes + 64, ' ');
  dict.back() = '\n';
  std::string bytes = std::string("\x93NUMPY\x02\x00", 8);
  for (int i = 0; i < 4; ++i) bytes += static_cast<char>((dict.size() >> (8 * i)) & 0xff);
  spit(dir / "long.npy", bytes + dict + std::string(8, '\0'));
  std::string why = refusal(dir / "long.npy");
  EXPECT_NE(why.find("header of 65600 bytes is too long"), std::string::npos) << why;
}

}  // namespace
}  // namespace forkpool::matmul
