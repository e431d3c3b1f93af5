#pragma once
// Image operations: small, named, typed units run in a chain (DESIGN.md convention 5).

#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace forkpool::images {

// Bad op text ("resize=800y600", "blur", "frobnicate"): the message says what is wrong and
// what the op accepts.
struct OpSyntaxError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// One configured step of a chain. run() is const and keeps no state, so one Op may serve any
// number of threads at once; it throws std::runtime_error when the image does not suit it
// (a crop outside the image).
class Op {
 public:
  virtual ~Op() = default;
  [[nodiscard]] virtual cv::Mat run(const cv::Mat& image) const = 0;
  // For an op that begins by resizing (resize, whose fill then crops): the size it resizes an
  // image of size `in` to, so the decoder may decode a large JPEG at a reduced scale. nullopt
  // for every other op.
  [[nodiscard]] virtual std::optional<cv::Size> output_size(cv::Size /*in*/) const {
    return std::nullopt;
  }
  // For an op with an output_size: what run() would give for an image of size `full`, given
  // `image`, a smaller decode of it. The resize targets come from `full`, so the result has
  // the same size as from the full image. Other ops: run(image).
  [[nodiscard]] virtual cv::Mat run_from(const cv::Mat& image, cv::Size /*full*/) const {
    return run(image);
  }
  // The largest image run() makes from one of size `in`: its result, or a larger one on the
  // way (a fill's cover). Every op but resize keeps the number of pixels or lowers it.
  [[nodiscard]] virtual cv::Size largest_size(cv::Size in) const { return in; }
};

// What the registry knows of an op: its name, its argument syntax, one line of help, and how
// to build it from the text after "name=". Constant data, any thread.
struct OpInfo {
  std::string_view name;       // "resize"
  std::string_view arguments;  // "GEOMETRY"; "" when it takes none; "[AMOUNT]" when optional
  std::string_view help;
  std::unique_ptr<Op> (*make)(std::string_view arguments);  // throws OpSyntaxError
};

// Every op, in the order --list-ops prints them.
std::span<const OpInfo* const> op_registry();

// "name" or "name=ARGS" -> the op. Throws OpSyntaxError.
std::unique_ptr<Op> parse_op(std::string_view text);

using OpChain = std::vector<std::unique_ptr<Op>>;
OpChain parse_op_chain(std::span<const std::string> texts);

// Throws ImageError when `op`, on an image of size `in`, would make one of more than
// `max_pixels` (0: no limit): --max-megapixels bounds every image an op makes, not only the
// input (a 1x65535 strip resized to 1024x would be 1024 x 2^24 pixels).
void check_op_fits(const Op& op, cv::Size in, std::uint64_t max_pixels);

// Runs the chain's ops from `first` on, in order, each checked with check_op_fits first.
cv::Mat run_op_chain(const OpChain& chain, cv::Mat image, std::size_t first = 0,
                     std::uint64_t max_pixels = 0);

}  // namespace forkpool::images
