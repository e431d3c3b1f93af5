// The op registry and the parsing of op texts into chains.

#include <fmt/core.h>

#include <array>

#include "forkpool/images/codec.hpp"
#include "forkpool/images/op.hpp"
#include "ops/ops.hpp"

namespace forkpool::images {

namespace {
#define FORKPOOL_OP_ADDRESS(Name) &k##Name##Op,
constexpr std::array kRegistry{FORKPOOL_IMAGE_OPS(FORKPOOL_OP_ADDRESS)};
#undef FORKPOOL_OP_ADDRESS

std::string known_names() {
  std::string names;
  for (const OpInfo* info : kRegistry) names += (names.empty() ? "" : ", ") + std::string(info->name);
  return names;
}
}  // namespace

std::span<const OpInfo* const> op_registry() { return kRegistry; }

std::unique_ptr<Op> parse_op(std::string_view text) {
  auto eq = text.find('=');
  std::string_view name = text.substr(0, eq);
  std::string_view arguments = eq == std::string_view::npos ? std::string_view{} : text.substr(eq + 1);
  for (const OpInfo* info : kRegistry) {
    if (info->name != name) continue;
    if (arguments.empty() && !info->arguments.empty() && info->arguments.front() != '[')
      throw OpSyntaxError(fmt::format("{} needs an argument: {}={}", name, name, info->arguments));
    return info->make(arguments);
  }
  throw OpSyntaxError(fmt::format("unknown op '{}' (ops: {}; see --list-ops)", name, known_names()));
}

OpChain parse_op_chain(std::span<const std::string> texts) {
  OpChain chain;
  chain.reserve(texts.size());
  for (const auto& text : texts) chain.push_back(parse_op(text));
  return chain;
}

void check_op_fits(const Op& op, cv::Size in, std::uint64_t max_pixels) {
  if (max_pixels == 0) return;
  const cv::Size out = op.largest_size(in);
  // In double: a product like 1024 x 2^24 overflows int.
  const double pixels = static_cast<double>(out.width) * out.height;
  if (pixels > static_cast<double>(max_pixels))
    throw ImageError(fmt::format("an op would make a {}x{} image ({:.0f} megapixels) from {}x{}: over the "
                                 "limit of {:.0f} (--max-megapixels)",
                                 out.width, out.height, pixels / 1e6, in.width, in.height,
                                 static_cast<double>(max_pixels) / 1e6));
}

cv::Mat run_op_chain(const OpChain& chain, cv::Mat image, std::size_t first, std::uint64_t max_pixels) {
  for (std::size_t i = first; i < chain.size(); ++i) {
    check_op_fits(*chain[i], image.size(), max_pixels);
    image = chain[i]->run(image);
  }
  return image;
}

}  // namespace forkpool::images
