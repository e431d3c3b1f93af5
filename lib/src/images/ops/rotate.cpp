// rotate=90|180|270: clockwise, lossless.

#include <fmt/core.h>

#include "op_support.hpp"
#include "ops.hpp"

namespace forkpool::images {

namespace {
struct Rotate {
  cv::RotateFlags code = cv::ROTATE_90_CLOCKWISE;

  static Rotate parse(std::string_view arguments) {
    if (arguments == "90") return {cv::ROTATE_90_CLOCKWISE};
    if (arguments == "180") return {cv::ROTATE_180};
    if (arguments == "270") return {cv::ROTATE_90_COUNTERCLOCKWISE};
    throw OpSyntaxError(fmt::format("rotate: '{}' is not 90, 180 or 270", arguments));
  }
  [[nodiscard]] cv::Mat run(const cv::Mat& image) const {
    cv::Mat out;
    cv::rotate(image, out, code);
    return out;
  }
};
}  // namespace

const OpInfo kRotateOp{"rotate", "90|180|270", "rotate clockwise by a multiple of 90 degrees",
                       &detail::make_op<Rotate>};

}  // namespace forkpool::images
