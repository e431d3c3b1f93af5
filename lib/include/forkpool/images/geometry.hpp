#pragma once
// ImageMagick-style geometry: how big an image becomes (resize) and which region to keep (crop).

#include <opencv2/core.hpp>

#include <string>
#include <string_view>

namespace forkpool::images {

// A resize target as ImageMagick writes it: "800x600" (fit inside, aspect kept), "800x" or
// "x600" (that side, aspect kept), "50%" (scale), with a trailing ">" (only shrink), "<" (only
// enlarge) or "!" (exactly WxH, aspect ignored). Plain value, any thread.
struct Geometry {
  int width = 0;         // 0: not given
  int height = 0;        // 0: not given
  double percent = 0.0;  // > 0: scale by this percentage instead of width/height
  bool exact = false;
  bool shrink_only = false;
  bool enlarge_only = false;

  // The size an image of size `in` becomes; `in` itself when the flags leave it alone. A side
  // scaled from the other is at least 1 and at most 2^24 (16777216) pixels.
  [[nodiscard]] cv::Size apply(cv::Size in) const;
};

// Throws std::invalid_argument naming the text and the accepted forms.
Geometry parse_geometry(std::string_view text);

// A crop region, "WxH+X+Y" (offsets optional, default +0+0). Plain value, any thread.
struct CropRegion {
  cv::Rect rect;

  // The part of an image of size `in` the region covers; throws std::runtime_error when that
  // is empty (the region lies outside the image).
  [[nodiscard]] cv::Rect clip(cv::Size in) const;
};

// Throws std::invalid_argument naming the text and the accepted form.
CropRegion parse_crop_region(std::string_view text);

// Resizes to exactly `to` with the interpolation forkpool uses everywhere: area averaging when
// shrinking by 2x or more (no aliasing), bilinear below that, bicubic when enlarging. Every backend calls this one function, which
// keeps their outputs byte-identical.
cv::Mat resize_image(const cv::Mat& image, cv::Size to);

}  // namespace forkpool::images
