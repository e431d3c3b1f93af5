// resize=GEOMETRY: ImageMagick geometry (fit inside, one side, percent, >, <, !, and ^: fill the
// box, then crop to it, in the middle or where the attention is).

#include "forkpool/images/crop_window.hpp"
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
  [[nodiscard]] cv::Size output_size(cv::Size in) const { return geometry.scaled_size(in); }
  [[nodiscard]] cv::Mat run_from(const cv::Mat& image, cv::Size full) const {
    cv::Mat scaled = resize_image(image, geometry.scaled_size(full));
    if (!geometry.fill) return scaled;
    const cv::Size box = geometry.apply(full);
    // Attention runs even when there is nothing to choose: the threads backend builds OpenCV's
    // lazy tables by running each op once on a small sample, and this path must be among them.
    if (box == scaled.size() && geometry.crop == CropMode::centre) return scaled;
    return scaled(crop_window(scaled, box, geometry.crop)).clone();
  }
  [[nodiscard]] cv::Mat run(const cv::Mat& image) const { return run_from(image, image.size()); }
};
}  // namespace

const OpInfo kResizeOp{"resize", "GEOMETRY",
                       "resize: 800x600 fits inside, 800x / x600 keep the aspect, 50% scales; "
                       "suffix > shrinks only, < enlarges only, ! exact size; 800x600^ fills "
                       "800x600 and crops the middle, 800x600^:attention the busiest part",
                       &detail::make_op<Resize>};

}  // namespace forkpool::images
