// Fuzzes the whole .npy load path: the checks on bytes (check_npy_matrix), then NpyFile::open and
// the reads of the same bytes as a real file, in every element type. Each must accept or throw
// NpyError with a one-line message, and the two must agree; what is accepted reads back the
// file's own bytes. Allocation is bounded by the input: the checks hold the data to the file.

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "forkpool/matmul/npy.hpp"

namespace {

using namespace forkpool::matmul;

void expect_one_line(const NpyError& e) {
  std::string_view what = e.what();
  if (what.empty() || what.find('\n') != std::string_view::npos || what.find('\r') != std::string_view::npos)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  std::optional<NpyHeader> checked;
  try {
    checked = check_npy_matrix(file.first(std::min(size, kNpyHeadBytes)), size, "fuzz.npy");
    if (checked->data_offset > size) std::abort();
  } catch (const NpyError& e) {
    expect_one_line(e);
  }

  // The same bytes as a file, opened and read as matmul does.
  int fd = ::memfd_create("fuzz.npy", MFD_CLOEXEC);
  if (fd < 0) std::abort();
  for (std::size_t done = 0; done < size;) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) std::abort();
    done += static_cast<std::size_t>(n);
  }
  try {
    NpyFile f = NpyFile::open("/proc/self/fd/" + std::to_string(fd));
    if (!checked || f.header().shape != checked->shape || f.header().dtype != checked->dtype)
      std::abort();
    std::vector<std::byte> raw = f.read_data();
    if (raw.size() != f.data_bytes() ||
        (!raw.empty() && std::memcmp(raw.data(), data + f.header().data_offset, raw.size()) != 0))
      std::abort();
    for (Dtype to : {Dtype::f32, Dtype::f64}) {
      std::vector<std::byte> dst(f.rows() * f.cols() * size_of(to));
      f.read_row_major(to, dst.data());
    }
  } catch (const NpyError& e) {
    if (checked) std::abort();  // the file did not change: what the checks take must load
    expect_one_line(e);
  }
  ::close(fd);
  return 0;
}
