// The op registry and the parsing of op texts into chains.

#include <fmt/core.h>

#include <array>

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

cv::Mat run_op_chain(const OpChain& chain, cv::Mat image, std::size_t first) {
  for (std::size_t i = first; i < chain.size(); ++i) image = chain[i]->run(image);
  return image;
}

}  // namespace forkpool::images
