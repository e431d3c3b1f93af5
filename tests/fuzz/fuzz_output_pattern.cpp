// Fuzzes the output pattern of `images -o PATTERN`: the first line is the pattern, each further
// line (up to 8) an input's relative path. OutputPattern must accept the pattern or throw
// std::invalid_argument; expand must give a relative, non-empty path with no "." or ".." part
// (it stays inside the output folder), or throw std::invalid_argument. Text only: no files.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "forkpool/images/output_name.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace forkpool::images;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto first = input.find('\n');
  const auto pattern_text = input.substr(0, first);
  std::optional<OutputPattern> pattern;
  try {
    pattern.emplace(pattern_text);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  int lines = 0;
  for (std::size_t start = first == std::string_view::npos ? input.size() + 1 : first + 1;
       start <= input.size() && lines < 8; ++lines) {
    std::size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    const std::filesystem::path relative(input.substr(start, end - start));
    start = end + 1;
    for (std::optional<ImageFormat> format : {std::optional<ImageFormat>{}, std::optional(ImageFormat::webp)}) {
      try {
        const auto out = pattern->expand(relative, format);
        if (out.empty() || out.is_absolute()) std::abort();
        for (const auto& part : out)
          if (part.empty() || part == "." || part == "..") std::abort();
      } catch (const std::invalid_argument&) {
      }
    }
  }
  return 0;
}
