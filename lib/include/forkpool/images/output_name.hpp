#pragma once
// Output names from a pattern (-o/--output), vipsthumbnail's `-o tn_%s.jpg` with names:
// "{dir}/{stem}_small.{ext}".

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "forkpool/images/codec.hpp"

namespace forkpool::images {

// A checked output pattern. Placeholders: {dir} the input's relative folder ("" at the top, and
// then the '/' after it goes too), {stem} its file name without the extension, {ext} the
// output's extension without the dot (--format's, or the input's as written); {{ and }} are
// literal braces. The result is a path relative to the output folder. Plain value; any thread.
class OutputPattern {
 public:
  static constexpr std::string_view kDefault = "{dir}/{stem}.{ext}";

  // Throws std::invalid_argument naming the problem: an unknown placeholder, an unmatched
  // brace, an absolute pattern, or one without {stem} (every input would get one name).
  explicit OutputPattern(std::string_view text = kDefault);

  // The output of the input at `relative` ("trip/a.JPG"), relative to the output folder, with
  // empty and "." parts dropped. Throws std::invalid_argument when it is empty or has a ".."
  // part (it would leave the output folder).
  [[nodiscard]] std::filesystem::path expand(const std::filesystem::path& relative,
                                             std::optional<ImageFormat> format) const;

  [[nodiscard]] const std::string& text() const noexcept { return text_; }

 private:
  enum class Field { dir, stem, ext };
  std::string text_;
  std::vector<std::variant<std::string, Field>> parts_;
};

}  // namespace forkpool::images
