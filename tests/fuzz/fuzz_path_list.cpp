// Fuzzes the --files-from list parser: the first byte chooses NUL (odd) or newline (even)
// separation, the rest is the list. parse_path_list must return entries that are not empty and
// hold no separator, no more bytes in all than the list, or throw std::invalid_argument (a
// newline list with a NUL byte).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "forkpool/images/files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool nul = (data[0] & 1) != 0;
  std::string_view list(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    std::size_t total = 0;
    for (const auto& path : forkpool::images::parse_path_list(list, nul)) {
      const auto& text = path.native();
      if (text.empty() || text.find(nul ? '\0' : '\n') != std::string::npos) std::abort();
      total += text.size();
    }
    if (total > list.size()) std::abort();
  } catch (const std::invalid_argument&) {
    if (nul) std::abort();  // a NUL-separated list is never refused
  }
  return 0;
}
