// Fuzzes the .npy header parser with whole files: it must accept or throw NpyError, and what it
// accepts must be self-consistent (the data offset lies inside the header it read).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "forkpool/matmul/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace forkpool::matmul;
  std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  try {
    NpyHeader header = parse_npy_header(file, "fuzz.npy");
    if (header.data_offset > size) std::abort();
    (void)header.element_count();
  } catch (const NpyError&) {
  }
  return 0;
}
