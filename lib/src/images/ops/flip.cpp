// flip=h|v: mirror left-right (h) or top-bottom (v).

#include <fmt/core.h>

#include "op_support.hpp"
#include "ops.hpp"

namespace forkpool::images {

namespace {
struct Flip {
  int code = 1;  // cv::flip's: 1 around the vertical axis (h), 0 around the horizontal (v)

  static Flip parse(std::string_view arguments) {
    if (arguments == "h") return {1};
    if (arguments == "v") return {0};
    throw OpSyntaxError(fmt::format("flip: '{}' is not h or v", arguments));
  }
  [[nodiscard]] cv::Mat run(const cv::Mat& image) const {
    cv::Mat out;
    cv::flip(image, out, code);
    return out;
  }
};
}  // namespace

const OpInfo kFlipOp{"flip", "h|v", "mirror left-right (h) or top-bottom (v)",
                     &detail::make_op<Flip>};

}  // namespace forkpool::images
