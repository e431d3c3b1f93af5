// edges: Canny edge map (white edges on black), thresholds from the image's median.

#include <opencv2/imgproc.hpp>

#include <algorithm>

#include "op_support.hpp"
#include "ops.hpp"

namespace forkpool::images {

namespace {
struct Edges {
  static Edges parse(std::string_view arguments) {
    detail::expect_no_arguments("edges", arguments);
    return {};
  }
  [[nodiscard]] cv::Mat run(const cv::Mat& image) const {
    cv::Mat gray = detail::to_gray(image), smooth, out;
    cv::GaussianBlur(gray, smooth, cv::Size(0, 0), 1.0);
    // Fixed thresholds suit one exposure; a band around the median suits any.
    double median = median_of(smooth);
    double low = std::max(0.0, 0.66 * median), high = std::min(255.0, 1.33 * median);
    cv::Canny(smooth, out, low, std::max(high, low + 1));
    return out;
  }

  static double median_of(const cv::Mat& gray) {
    int histogram[256] = {};
    for (int y = 0; y < gray.rows; ++y) {
      const auto* row = gray.ptr<unsigned char>(y);
      for (int x = 0; x < gray.cols; ++x) ++histogram[row[x]];
    }
    const long half = static_cast<long>(gray.total()) / 2;
    long seen = 0;
    for (int v = 0; v < 256; ++v)
      if ((seen += histogram[v]) > half) return v;
    return 255;
  }
};
}  // namespace

const OpInfo kEdgesOp{"edges", "", "Canny edge map (thresholds chosen from the image's median)",
                      &detail::make_op<Edges>};

}  // namespace forkpool::images
