// Fuzzes the geometry parsers of `images --op` ('resize=1024x1024>', 'crop=640x480+10+20'):
// each input goes to parse_geometry and parse_crop_region, which must accept it or throw
// std::invalid_argument, never crash. What they accept is applied to image sizes from 1x1 to
// the largest a side may be, which must give a size of at least 1x1 (resize) or a region
// inside the image (crop, or std::runtime_error when there is none), and no side beyond
// 2^24, where apply() stops; a fill ('WxH^') at most WxH. Arithmetic only: no pixels.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "forkpool/images/geometry.hpp"

namespace {

constexpr int kMaxSide = 1 << 20;         // the longest side a geometry may ask for
constexpr int kMaxOutputSide = 1 << 24;  // the longest side apply() gives
constexpr int kSizes[] = {1, 2, 3, 7, 640, 1000, 4096, 65535, kMaxSide};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace forkpool::images;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    Geometry g = parse_geometry(text);
    for (int w : kSizes)
      for (int h : kSizes) {
        cv::Size out = g.apply({w, h});
        if (out.width < 1 || out.height < 1 || out.width > kMaxOutputSide ||
            out.height > kMaxOutputSide)
          std::abort();
        // A fill ('^') crops what it scaled to at most the box, and never beyond what it scaled.
        cv::Size scaled = g.scaled_size({w, h});
        if (g.fill && (out.width > g.width || out.height > g.height || out.width > scaled.width ||
                       out.height > scaled.height))
          std::abort();
      }
  } catch (const std::invalid_argument&) {
  }
  try {
    CropRegion region = parse_crop_region(text);
    if (region.rect.width < 1 || region.rect.height < 1) std::abort();
    for (int w : kSizes)
      for (int h : kSizes) {
        try {
          cv::Rect r = region.clip({w, h});
          if (r.empty() || r.x < 0 || r.y < 0 || r.x + r.width > w || r.y + r.height > h) std::abort();
        } catch (const std::runtime_error&) {
        }
      }
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
