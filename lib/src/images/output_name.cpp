#include "forkpool/images/output_name.hpp"

#include <fmt/core.h>

#include <stdexcept>

namespace forkpool::images {

namespace fs = std::filesystem;

OutputPattern::OutputPattern(std::string_view text) : text_(text) {
  auto bad = [&](std::string_view why) {
    return std::invalid_argument(fmt::format("the output pattern '{}' {}", text_, why));
  };
  if (text.empty()) throw bad("is empty");
  if (text.front() == '/')
    throw bad("is absolute: it names a path in the output folder, e.g. '{dir}/{stem}_small.{ext}'");
  std::string literal;
  bool has_stem = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      literal += c;
      ++i;
      continue;
    }
    if (c == '}') throw bad("has a '}' with no '{' (write '}}' for a brace)");
    if (c != '{') {
      literal += c;
      continue;
    }
    const auto close = text.find('}', i);
    if (close == std::string_view::npos) throw bad("has a '{' with no '}' (write '{{' for a brace)");
    const auto name = text.substr(i + 1, close - i - 1);
    Field field{};
    if (name == "dir") field = Field::dir;
    else if (name == "stem") field = Field::stem;
    else if (name == "ext") field = Field::ext;
    else throw bad(fmt::format("has an unknown placeholder {{{}}} (known: {{dir}}, {{stem}}, {{ext}})", name));
    has_stem = has_stem || field == Field::stem;
    if (!literal.empty()) parts_.emplace_back(std::exchange(literal, {}));
    parts_.emplace_back(field);
    i = close;
  }
  if (!literal.empty()) parts_.emplace_back(std::move(literal));
  if (!has_stem) throw bad("has no {stem}: every input would be given the same name");
}

fs::path OutputPattern::expand(const fs::path& relative, std::optional<ImageFormat> format) const {
  std::string text;
  for (const auto& part : parts_) {
    if (const auto* literal = std::get_if<std::string>(&part)) {
      text += *literal;
      continue;
    }
    switch (std::get<Field>(part)) {
      case Field::dir: text += relative.parent_path().native(); break;
      case Field::stem: text += relative.stem().native(); break;
      case Field::ext: {
        if (format) {
          text += extension_for(*format);
        } else {
          const fs::path ext = relative.extension();
          text += ext.native().substr(ext.empty() ? 0 : 1);
        }
        break;
      }
    }
  }
  // Split on '/' by hand: a "{dir}" that is empty leaves "/a.jpg", which is not absolute here.
  // Joined as text and made a path once (each path /= splits the whole path again).
  std::string out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('/', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view piece(text.data() + start, end - start);
    if (piece == "..")
      throw std::invalid_argument(fmt::format(
          "the output pattern '{}' makes '{}' for {}, which leaves the output folder", text_, text,
          relative.native()));
    if (!piece.empty() && piece != ".") {
      if (!out.empty()) out += '/';
      out += piece;
    }
    start = end + 1;
  }
  if (out.empty())
    throw std::invalid_argument(
        fmt::format("the output pattern '{}' makes an empty name for {}", text_, relative.native()));
  return fs::path(std::move(out));
}

}  // namespace forkpool::images
