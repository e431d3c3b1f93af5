#pragma once
// A temporary folder for a test.

#include <filesystem>
#include <string>

namespace forkpool::testing {

// A fresh folder under the system's temporary directory, removed with everything in it when
// the object dies. One test thread.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace forkpool::testing
