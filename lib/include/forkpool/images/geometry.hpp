#pragma once
// ImageMagick-style geometry: how big an image becomes (resize) and which region to keep (crop).

#include <opencv2/core.hpp>

#include <string>
#include <string_view>

#include "forkpool/images/crop_window.hpp"

namespace forkpool::images {

// A resize target as ImageMagick writes it: "800x600" (fit inside, aspect kept), "800x" or
// "x600" (that side, aspect kept), "50%" (scale), with a trailing ">" (only shrink), "<" (only
// enlarge), "!" (exactly WxH, aspect ignored) or "^" (fill: cover WxH, aspect kept, then crop
// to WxH; ":centre" or ":attention" after the flags says which part is kept). Plain value, any
// thread.
struct Geometry {
  int width = 0;         // 0: not given
  int height = 0;        // 0: not given
  double percent = 0.0;  // > 0: scale by this percentage instead of width/height
  bool exact = false;
  bool shrink_only = false;
  bool enlarge_only = false;
  bool fill = false;                 // '^': width and height are both given
  CropMode crop = CropMode::centre;  // fill only

  // The size an image of size `in` is resized to; `in` itself when the flags leave it alone.
  // A side scaled from the other is at least 1 and at most 2^24 (16777216) pixels. For a fill,
  // the size that covers WxH (ImageMagick's '^'), which the crop then cuts down.
  [[nodiscard]] cv::Size scaled_size(cv::Size in) const;
  // The size an image of size `in` ends up: scaled_size, cut to at most WxH for a fill (exactly
  // WxH unless '>' or '<' left an image smaller than the box unscaled).
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
