// blur=SIGMA: Gaussian blur.

#include <opencv2/imgproc.hpp>

#include "op_support.hpp"
#include "ops.hpp"

namespace forkpool::images {

namespace {
struct Blur {
  double sigma = 1.0;

  static Blur parse(std::string_view arguments) {
    return {detail::parse_number("blur", arguments, 0.01, 500)};
  }
  [[nodiscard]] cv::Mat run(const cv::Mat& image) const {
    cv::Mat out;
    cv::GaussianBlur(image, out, cv::Size(0, 0), sigma);
    return out;
  }
};
}  // namespace

const OpInfo kBlurOp{"blur", "SIGMA", "Gaussian blur with standard deviation SIGMA pixels",
                     &detail::make_op<Blur>};

}  // namespace forkpool::images
