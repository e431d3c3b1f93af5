// threshold: black and white at Otsu's threshold.

#include <opencv2/imgproc.hpp>

#include "op_support.hpp"
#include "ops.hpp"

namespace forkpool::images {

namespace {
struct Threshold {
  static Threshold parse(std::string_view arguments) {
    detail::expect_no_arguments("threshold", arguments);
    return {};
  }
  [[nodiscard]] cv::Mat run(const cv::Mat& image) const {
    cv::Mat out;
    cv::threshold(detail::to_gray(image), out, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
    return out;
  }
};
}  // namespace

const OpInfo kThresholdOp{"threshold", "", "black and white at Otsu's threshold",
                          &detail::make_op<Threshold>};

}  // namespace forkpool::images
