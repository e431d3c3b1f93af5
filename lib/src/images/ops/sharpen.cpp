// sharpen[=AMOUNT]: unsharp mask (radius sigma 1 px).

#include <opencv2/imgproc.hpp>

#include "op_support.hpp"
#include "ops.hpp"

namespace forkpool::images {

namespace {
struct Sharpen {
  double amount = 1.0;

  static Sharpen parse(std::string_view arguments) {
    if (arguments.empty()) return {};
    return {detail::parse_number("sharpen", arguments, 0, 20)};
  }
  [[nodiscard]] cv::Mat run(const cv::Mat& image) const {
    return detail::on_color_channels(image, [this](const cv::Mat& color) {
      cv::Mat blurred, out;
      cv::GaussianBlur(color, blurred, cv::Size(0, 0), 1.0);
      cv::addWeighted(color, 1.0 + amount, blurred, -amount, 0, out);
      return out;
    });
  }
};
}  // namespace

const OpInfo kSharpenOp{"sharpen", "[AMOUNT]", "unsharp mask; AMOUNT 0..20, default 1",
                        &detail::make_op<Sharpen>};

}  // namespace forkpool::images
