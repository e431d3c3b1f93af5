// denoise[=H]: non-local means, the heavy CPU-bound op.

#include <opencv2/photo.hpp>

#include "op_support.hpp"
#include "ops.hpp"

namespace forkpool::images {

namespace {
struct Denoise {
  double strength = 6.0;

  static Denoise parse(std::string_view arguments) {
    if (arguments.empty()) return {};
    return {detail::parse_number("denoise", arguments, 0.1, 100)};
  }
  [[nodiscard]] cv::Mat run(const cv::Mat& image) const {
    return detail::on_color_channels(image, [this](const cv::Mat& color) {
      cv::Mat out;
      auto h = static_cast<float>(strength);
      if (color.channels() == 1)
        cv::fastNlMeansDenoising(color, out, h, 7, 21);
      else
        cv::fastNlMeansDenoisingColored(color, out, h, h, 7, 21);
      return out;
    });
  }
};
}  // namespace

const OpInfo kDenoiseOp{"denoise", "[H]",
                        "non-local means denoising, strength H (default 6); slow: the heavy case",
                        &detail::make_op<Denoise>};

}  // namespace forkpool::images
