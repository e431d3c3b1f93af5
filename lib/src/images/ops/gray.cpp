// gray: luminance only; an alpha channel is kept.

#include <opencv2/imgproc.hpp>

#include "op_support.hpp"
#include "ops.hpp"

namespace forkpool::images {

namespace {
struct Gray {
  static Gray parse(std::string_view arguments) {
    detail::expect_no_arguments("gray", arguments);
    return {};
  }
  [[nodiscard]] cv::Mat run(const cv::Mat& image) const {
    if (image.channels() != 4) return detail::to_gray(image);
    return detail::on_color_channels(image, [](const cv::Mat& color) { return detail::to_gray(color); });
  }
};
}  // namespace

const OpInfo kGrayOp{"gray", "", "convert to grayscale (keeps transparency)", &detail::make_op<Gray>};

}  // namespace forkpool::images
