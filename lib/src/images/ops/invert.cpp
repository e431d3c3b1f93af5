// invert: negative of the colours; an alpha channel is kept.

#include "op_support.hpp"
#include "ops.hpp"

namespace forkpool::images {

namespace {
struct Invert {
  static Invert parse(std::string_view arguments) {
    detail::expect_no_arguments("invert", arguments);
    return {};
  }
  [[nodiscard]] cv::Mat run(const cv::Mat& image) const {
    return detail::on_color_channels(image, [](const cv::Mat& color) {
      cv::Mat out;
      cv::bitwise_not(color, out);
      return out;
    });
  }
};
}  // namespace

const OpInfo kInvertOp{"invert", "", "negative image (keeps transparency)", &detail::make_op<Invert>};

}  // namespace forkpool::images
