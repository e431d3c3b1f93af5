// crop=WxH+X+Y: keeps a region; a region partly outside the image is clipped to it.

#include "forkpool/images/geometry.hpp"
#include "op_support.hpp"
#include "ops.hpp"

namespace forkpool::images {

namespace {
struct Crop {
  CropRegion region;

  static Crop parse(std::string_view arguments) {
    try {
      return {parse_crop_region(arguments)};
    } catch (const std::invalid_argument& e) {
      throw OpSyntaxError(std::string("crop: ") + e.what());
    }
  }
  [[nodiscard]] cv::Mat run(const cv::Mat& image) const {
    return image(region.clip(image.size())).clone();
  }
};
}  // namespace

const OpInfo kCropOp{"crop", "WxH+X+Y",
                     "keep the WxH region whose top-left corner is at X,Y (clipped to the image)",
                     &detail::make_op<Crop>};

}  // namespace forkpool::images
