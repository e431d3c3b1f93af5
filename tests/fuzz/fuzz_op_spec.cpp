// Fuzzes the op parser of `images --op`: the input is one op text per line ("resize=800x600",
// "blur=2", "gray"), parsed as a chain. parse_op must build the op or throw OpSyntaxError,
// never crash; an op that only resizes must give a size from 1x1 to 2^24 a side for any image
// size.
// Parsing only: no pixels.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "forkpool/images/op.hpp"

namespace {

constexpr int kMaxSide = 1 << 20;         // the longest side a geometry may ask for
constexpr int kMaxOutputSide = 1 << 24;  // the longest side a resize gives
constexpr int kSizes[] = {1, 3, 1000, 65535, kMaxSide};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace forkpool::images;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> texts;
  for (std::size_t start = 0; start <= input.size() && texts.size() < 8;) {
    std::size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    texts.emplace_back(input.substr(start, end - start));
    start = end + 1;
  }
  try {
    OpChain chain = parse_op_chain(texts);
    if (chain.size() != texts.size()) std::abort();
    for (const auto& op : chain)
      for (int w : kSizes)
        for (int h : kSizes)
          if (auto out = op->output_size({w, h});
              out && (out->width < 1 || out->height < 1 || out->width > kMaxOutputSide ||
                      out->height > kMaxOutputSide))
            std::abort();
  } catch (const OpSyntaxError&) {
  }
  return 0;
}
