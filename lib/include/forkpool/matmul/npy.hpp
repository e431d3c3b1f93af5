#pragma once
// NumPy .npy files: read (headers 1.0, 2.0 and 3.0) and write, for the 2-D little-endian
// float32/float64 arrays that `forkpool matmul` multiplies.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "forkpool/ipc/unique_fd.hpp"

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

// Longest header forkpool reads: numpy writes about 128 bytes for a matrix (numpy's own reader
// refuses more than 10000 by default).
inline constexpr std::size_t kMaxNpyHeaderBytes = 1 << 16;
// Bytes of a file's start that hold any header forkpool accepts: magic, version, length, text.
inline constexpr std::size_t kNpyHeadBytes = 12 + kMaxNpyHeaderBytes;

// Parses the header at the start of `file` (the whole file or at least its header). `name`
// goes into error messages. Throws NpyError for a bad magic string, a header that does not
// parse, is longer than kMaxNpyHeaderBytes or is cut short, or a dtype other than <f4/<f8
// (big-endian included). Any thread.
NpyHeader parse_npy_header(std::span<const std::byte> file, std::string_view name);

// What NpyFile::open checks before it reads any data, on bytes: `head` is the start of a file
// of `file_size` bytes, the first min(file_size, kNpyHeadBytes) of them. Returns the header
// of a non-empty 2-D matrix whose elements all lie inside the file; throws NpyError (one line,
// naming the file) otherwise. Pure function, any thread.
NpyHeader check_npy_matrix(std::span<const std::byte> head, std::uint64_t file_size,
                           std::string_view name);

// One open .npy file whose header has been read and checked against the file's size. Its
// elements are read (not mapped) when asked for, so a file that shrinks or is rewritten
// meanwhile is an NpyError ("changed while reading"), never a SIGBUS. Move-only; holds the
// file open until destroyed. One thread at a time.
class NpyFile {
 public:
  // Throws NpyError (the file cannot be opened or read, is not a regular file or not a valid
  // .npy, is not 2-D, or is shorter than its header says).
  static NpyFile open(const std::filesystem::path& path);

  [[nodiscard]] const NpyHeader& header() const noexcept { return header_; }
  [[nodiscard]] std::size_t rows() const noexcept { return header_.shape[0]; }
  [[nodiscard]] std::size_t cols() const noexcept { return header_.shape[1]; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  // Bytes of element data: rows * cols * size_of(dtype).
  [[nodiscard]] std::size_t data_bytes() const noexcept;

  // Reads the matrix into `dst`, rows * cols elements of `dtype` in row-major order, converting
  // the element type and the order (C or Fortran) as it goes: straight into `dst` where they
  // match, through a small buffer otherwise. Throws NpyError when the read fails or the file
  // changed since open().
  void read_row_major(Dtype dtype, std::byte* dst) const;

  // The elements as the file holds them (its dtype and order), little-endian. For small files
  // and tests; throws like read_row_major().
  [[nodiscard]] std::vector<std::byte> read_data() const;

 private:
  NpyFile() = default;
  // Reads data bytes [offset, offset + out.size()) into `out`.
  void read_at(std::size_t offset, std::span<std::byte> out) const;
  [[noreturn]] void changed() const;
  void check_unchanged() const;

  std::string name_;
  ipc::UniqueFd fd_;
  NpyHeader header_;
  // What fstat said at open(): another size or modification time later means it changed.
  std::uint64_t size_ = 0;
  std::int64_t mtime_ns_ = 0;
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
