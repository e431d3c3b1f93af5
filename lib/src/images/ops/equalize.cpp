// equalize[=CLIP]: contrast-limited adaptive histogram equalisation (CLAHE) of the luminance.

#include <opencv2/imgproc.hpp>

#include <vector>

#include "op_support.hpp"
#include "ops.hpp"

namespace forkpool::images {

namespace {
struct Equalize {
  double clip_limit = 2.0;

  static Equalize parse(std::string_view arguments) {
    if (arguments.empty()) return {};
    return {detail::parse_number("equalize", arguments, 0.1, 100)};
  }
  [[nodiscard]] cv::Mat run(const cv::Mat& image) const {
    return detail::on_color_channels(image, [this](const cv::Mat& color) {
      auto clahe = cv::createCLAHE(clip_limit, cv::Size(8, 8));
      cv::Mat out;
      if (color.channels() == 1) {
        clahe->apply(color, out);
        return out;
      }
      // Equalising B, G and R separately shifts hues; equalising L of Lab does not.
      cv::Mat lab;
      cv::cvtColor(color, lab, cv::COLOR_BGR2Lab);
      std::vector<cv::Mat> planes;
      cv::split(lab, planes);
      clahe->apply(planes[0], planes[0]);
      cv::merge(planes, lab);
      cv::cvtColor(lab, out, cv::COLOR_Lab2BGR);
      return out;
    });
  }
};
}  // namespace

const OpInfo kEqualizeOp{"equalize", "[CLIP]",
                         "adaptive histogram equalisation (CLAHE) of the luminance; CLIP default 2",
                         &detail::make_op<Equalize>};

}  // namespace forkpool::images
