#pragma once
// Helpers shared by the matmul tests: fixture paths, a scratch folder, reading matrices.

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "forkpool/matmul/npy.hpp"

namespace forkpool::matmul::testing {

// A file of data/matrices/, written by numpy (make_fixtures.py).
inline std::filesystem::path fixture(const std::string& name) {
  return std::filesystem::path(FORKPOOL_SOURCE_DIR) / "data" / "matrices" / name;
}

// A fresh folder under the temp dir, removed with everything in it when this goes away.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "forkpool-matmul-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  [[nodiscard]] std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_)) out.push_back(e.path().filename());
    return out;
  }

 private:
  std::filesystem::path path_;
};

// The elements of a 2-D .npy file as doubles in row-major order, whatever its dtype and order:
// the file's own bytes, rearranged here rather than by the code under test.
inline std::vector<double> read_row_major(const std::filesystem::path& path) {
  NpyFile f = NpyFile::open(path);
  std::vector<double> out(f.rows() * f.cols());
  const std::vector<std::byte> bytes = f.read_data();
  const std::byte* data = bytes.data();
  for (std::size_t r = 0; r < f.rows(); ++r)
    for (std::size_t c = 0; c < f.cols(); ++c) {
      std::size_t i = f.header().fortran_order ? c * f.rows() + r : r * f.cols() + c;
      out[r * f.cols() + c] = f.header().dtype == Dtype::f32
                                  ? static_cast<double>(reinterpret_cast<const float*>(data)[i])
                                  : reinterpret_cast<const double*>(data)[i];
    }
  return out;
}

}  // namespace forkpool::matmul::testing
