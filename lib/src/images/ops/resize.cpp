// resize=GEOMETRY: ImageMagick geometry (fit inside, one side, percent, >, <, !, and ^: fill the
// box, then crop to it, in the middle or where the attention is).

#include <algorithm>
#include <cmath>

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
    const cv::Size target = geometry.scaled_size(full);
    if (geometry.fill && needs_cut_first(target, geometry.apply(full)))
      return cut_then_resize(image, target, geometry.apply(full));
    cv::Mat scaled = resize_image(image, target);
    if (!geometry.fill) return scaled;
    const cv::Size box = geometry.apply(full);
    // Attention runs even when there is nothing to choose: the threads backend builds OpenCV's
    // lazy tables by running each op once on a small sample, and this path must be among them.
    if (box == scaled.size() && geometry.crop == CropMode::centre) return scaled;
    return scaled(crop_window(scaled, box, geometry.crop)).clone();
  }
  [[nodiscard]] cv::Mat run(const cv::Mat& image) const { return run_from(image, image.size()); }
  [[nodiscard]] cv::Size largest_size(cv::Size in) const {
    const cv::Size target = geometry.scaled_size(in);
    if (geometry.fill && needs_cut_first(target, geometry.apply(in))) return geometry.apply(in);
    return target;
  }

  // A fill scales the image to cover the box, then keeps the box. For an image far from the
  // box's shape that cover is huge (a 1x65535 strip to 1024x1024^ is 1024 x 2^24 pixels, 51 GB
  // in colour) though almost all of it is cut away: past 4x the box's pixels, the window is
  // chosen in the image as it is and only that part is resized. (Below it, resize-then-cut is
  // kept: its pixels are the exact middle, or window, of the scaled image.)
  static bool needs_cut_first(cv::Size target, cv::Size box) {
    // In double: cv::Size::area() is an int, and a cover like 1024 x 2^24 overflows it.
    auto area = [](cv::Size size) { return static_cast<double>(size.width) * size.height; };
    return area(target) > 4.0 * area(box);
  }
  [[nodiscard]] cv::Mat cut_then_resize(const cv::Mat& image, cv::Size target, cv::Size box) const {
    const double fx = static_cast<double>(target.width) / image.cols;
    const double fy = static_cast<double>(target.height) / image.rows;
    const cv::Size source_box(std::clamp(static_cast<int>(std::lround(box.width / fx)), 1, image.cols),
                              std::clamp(static_cast<int>(std::lround(box.height / fy)), 1, image.rows));
    const cv::Mat cut = image(crop_window(image, source_box, geometry.crop));
    cv::Mat out = resize_image(cut, box);
    return out.data == cut.data ? cut.clone() : out;
  }
};
}  // namespace

const OpInfo kResizeOp{"resize", "GEOMETRY",
                       "resize: 800x600 fits inside, 800x / x600 keep the aspect, 50% scales; "
                       "suffix > shrinks only, < enlarges only, ! exact size; 800x600^ fills "
                       "800x600 and crops the middle, 800x600^:attention the busiest part",
                       &detail::make_op<Resize>};

}  // namespace forkpool::images
