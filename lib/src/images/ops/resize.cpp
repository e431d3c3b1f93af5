// resize=GEOMETRY: ImageMagick geometry (fit inside, one side, percent, >, <, !).

#include "forkpool/images/geometry.hpp"
#include "op_support.hpp"
#include "ops.hpp"

namespace forkpool::images {

namespace {
struct Resize {
  Geometry geometry;

  static Resize parse(std::string_view arguments) {
    try {
      return {parse_geometry(arguments)};
    } catch (const std::invalid_argument& e) {
      throw OpSyntaxError(std::string("resize: ") + e.what());
    }
  }
  [[nodiscard]] cv::Size output_size(cv::Size in) const { return geometry.apply(in); }
  [[nodiscard]] cv::Mat run(const cv::Mat& image) const {
    return resize_image(image, output_size(image.size()));
  }
};
}  // namespace

const OpInfo kResizeOp{"resize", "GEOMETRY",
                       "resize: 800x600 fits inside, 800x / x600 keep the aspect, 50% scales; "
                       "suffix > shrinks only, < enlarges only, ! exact size",
                       &detail::make_op<Resize>};

}  // namespace forkpool::images
