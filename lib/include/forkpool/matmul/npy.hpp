#pragma once
// NumPy .npy files: read (memory-mapped, headers 1.0, 2.0 and 3.0) and write, for the 2-D
// little-endian float32/float64 arrays that `forkpool matmul` multiplies.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace forkpool::matmul {

enum class Dtype { f32, f64 };
std::string_view to_string(Dtype d) noexcept;             // "f32", "f64"
std::optional<Dtype> parse_dtype(std::string_view name) noexcept;
std::size_t size_of(Dtype d) noexcept;

// A file that is not an .npy forkpool can use. what() is one line that names the file and
// says what is wrong with it, for the user.
struct NpyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What an .npy header says.
struct NpyHeader {
  int major_version = 1;
  Dtype dtype = Dtype::f64;
  bool fortran_order = false;
  std::vector<std::size_t> shape;
  std::size_t data_offset = 0;  // bytes from the start of the file to the first element

  [[nodiscard]] std::size_t element_count() const noexcept;
};

// Parses the header at the start of `file` (the whole file or at least its header). `name`
// goes into error messages. Throws NpyError for a bad magic string, a header that does not
// parse, a dtype other than <f4/<f8 (big-endian included), or a header cut short. Any thread.
NpyHeader parse_npy_header(std::span<const std::byte> file, std::string_view name);

// A read-only memory map of one .npy file whose header has been checked against the file's
// size, so data() holds every element. Move-only; unmaps on destruction. Any thread; after
// fork both processes hold the mapping.
class NpyFile {
 public:
  // Throws NpyError (the file cannot be opened, is not a valid .npy, is not 2-D, or is
  // shorter than its header says).
  static NpyFile open(const std::filesystem::path& path);

  NpyFile(NpyFile&& other) noexcept;
  NpyFile& operator=(NpyFile&& other) noexcept;
  NpyFile(const NpyFile&) = delete;
  NpyFile& operator=(const NpyFile&) = delete;
  ~NpyFile();

  [[nodiscard]] const NpyHeader& header() const noexcept { return header_; }
  [[nodiscard]] std::size_t rows() const noexcept { return header_.shape[0]; }
  [[nodiscard]] std::size_t cols() const noexcept { return header_.shape[1]; }
  // The elements, in the file's order (C or Fortran), little-endian.
  [[nodiscard]] std::span<const std::byte> data() const noexcept;
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  NpyFile() = default;
  void release() noexcept;

  std::string name_;
  const std::byte* map_ = nullptr;
  std::size_t map_size_ = 0;
  NpyHeader header_;
};

// The bytes of a version 1.0 header for a C-order 2-D array of `dtype`, padded so the data
// starts on a 64-byte boundary, as numpy writes it.
std::string npy_header(Dtype dtype, std::size_t rows, std::size_t cols);

// Writes a C-order rows x cols array to `path` through forkpool's one output writer
// (ipc::OutputFile): a temporary file in the target's folder, renamed over it only once
// complete, so an interrupted write never leaves a half-written file; a symlink is written
// through, a FIFO or device in place. Throws std::runtime_error naming the call, the path and
// the reason ("write(C.npy): No space left on device") and leaves no temporary file.
void write_npy(const std::filesystem::path& path, Dtype dtype, std::size_t rows, std::size_t cols,
               std::span<const std::byte> data);

}  // namespace forkpool::matmul
