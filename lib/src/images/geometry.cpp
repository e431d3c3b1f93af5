#include "forkpool/images/geometry.hpp"

#include <fmt/core.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace forkpool::images {

namespace {

constexpr int kMaxSide = 1 << 20;  // far beyond any decodable image; catches typos like 8000000
// Longest side apply() gives: a side scaled from another can be far longer than any asked for
// (2000x on a 1 x 1000000 image), and must not wrap.
constexpr double kMaxOutputSide = 1 << 24;

[[noreturn]] void bad_geometry(std::string_view text, std::string_view why) {
  throw std::invalid_argument(fmt::format(
      "bad geometry '{}': {} (expected WxH, Wx, xH or N%, optionally followed by >, < or !; or "
      "WxH^ to fill WxH and crop, optionally followed by > or <, then :centre or :attention)",
      text, why));
}

// Parses all of `digits` as a side length in 1..kMaxSide.
int parse_side(std::string_view text, std::string_view digits) {
  int value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size())
    bad_geometry(text, fmt::format("'{}' is not a whole number", digits));
  if (value < 1 || value > kMaxSide)
    bad_geometry(text, fmt::format("{} is out of range 1..{}", value, kMaxSide));
  return value;
}

}  // namespace

cv::Size Geometry::scaled_size(cv::Size in) const {
  auto scaled = [](int side, double s) {
    return static_cast<int>(std::clamp(std::round(side * s), 1.0, kMaxOutputSide));
  };
  if (fill) {
    // The larger of the two scales covers the box; '>' and '<' then decide, as ImageMagick's
    // do, whether that scale may be applied at all.
    const double sx = static_cast<double>(width) / in.width;
    const double sy = static_cast<double>(height) / in.height;
    const double s = std::max(sx, sy);
    if ((shrink_only && s >= 1) || (enlarge_only && s <= 1)) return in;
    // The covering side is set to its target exactly; the other rounds to at least its target.
    if (sx >= sy) return {width, scaled(in.height, sx)};
    return {scaled(in.width, sy), height};
  }
  const bool shrinks = (width > 0 && in.width > width) || (height > 0 && in.height > height) ||
                       (percent > 0 && percent < 100);
  const bool grows = (width > 0 && in.width < width) || (height > 0 && in.height < height) ||
                     percent > 100;
  if ((shrink_only && !shrinks) || (enlarge_only && !grows)) return in;
  if (exact && width > 0 && height > 0) return {width, height};
  if (percent > 0) return {scaled(in.width, percent / 100.0), scaled(in.height, percent / 100.0)};
  const double sx = static_cast<double>(width) / in.width;
  const double sy = static_cast<double>(height) / in.height;
  // The limiting side is set to its target exactly rather than through rounding.
  if (width > 0 && (height == 0 || sx <= sy)) return {width, scaled(in.height, sx)};
  return {scaled(in.width, sy), height};
}

cv::Size Geometry::apply(cv::Size in) const {
  const cv::Size out = scaled_size(in);
  if (!fill) return out;
  return {std::min(out.width, width), std::min(out.height, height)};
}

Geometry parse_geometry(std::string_view text) {
  Geometry g;
  std::string_view body = text;
  bool crop_named = false;
  if (auto colon = body.find(':'); colon != std::string_view::npos) {
    auto mode = crop_mode_from_name(body.substr(colon + 1));
    if (!mode)
      bad_geometry(text, fmt::format("unknown crop '{}' (centre, center or attention)",
                                     body.substr(colon + 1)));
    g.crop = *mode;
    crop_named = true;
    body = body.substr(0, colon);
  }
  while (!body.empty() && (body.back() == '>' || body.back() == '<' || body.back() == '!' ||
                           body.back() == '^')) {
    char flag = body.back();
    body.remove_suffix(1);
    (flag == '>' ? g.shrink_only : flag == '<' ? g.enlarge_only : flag == '!' ? g.exact : g.fill) = true;
  }
  if (g.shrink_only && g.enlarge_only) bad_geometry(text, "'>' and '<' exclude each other");
  if (g.fill && g.exact) bad_geometry(text, "'^' (fill and crop) and '!' (exact) exclude each other");
  if (crop_named && !g.fill) bad_geometry(text, "a crop (':centre', ':attention') needs '^'");
  if (body.empty()) bad_geometry(text, "no size given");
  if (g.fill) {
    auto x = body.find_first_of("xX");
    if (body.back() == '%' || x == std::string_view::npos || x == 0 || x + 1 == body.size())
      bad_geometry(text, "'^' needs both a width and a height (WxH^)");
  }
  if (body.back() == '%') {
    body.remove_suffix(1);
    double value = 0;
    auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), value);
    if (ec != std::errc{} || end != body.data() + body.size() || !(value > 0) || value > 10000)
      bad_geometry(text, "the percentage must be a number in (0, 10000]");
    g.percent = value;
    return g;
  }
  auto x = body.find_first_of("xX");
  if (x == std::string_view::npos) {
    g.width = parse_side(text, body);
    return g;
  }
  std::string_view w = body.substr(0, x), h = body.substr(x + 1);
  if (w.empty() && h.empty()) bad_geometry(text, "no size given");
  if (!w.empty()) g.width = parse_side(text, w);
  if (!h.empty()) g.height = parse_side(text, h);
  return g;
}

cv::Rect CropRegion::clip(cv::Size in) const {
  cv::Rect r = rect & cv::Rect(0, 0, in.width, in.height);
  if (r.empty())
    throw std::runtime_error(fmt::format("crop {}x{}{:+}{:+} lies outside the {}x{} image",
                                         rect.width, rect.height, rect.x, rect.y, in.width,
                                         in.height));
  return r;
}

CropRegion parse_crop_region(std::string_view text) {
  auto bad = [&](std::string_view why) -> CropRegion {
    throw std::invalid_argument(
        fmt::format("bad crop region '{}': {} (expected WxH+X+Y, e.g. 640x480+10+20)", text, why));
  };
  auto sign = text.find_first_of("+-");
  std::string_view size = text.substr(0, sign);
  auto x = size.find_first_of("xX");
  if (x == std::string_view::npos || x == 0 || x + 1 == size.size())
    return bad("width and height are both needed");
  CropRegion region;
  try {
    region.rect.width = parse_side(text, size.substr(0, x));
    region.rect.height = parse_side(text, size.substr(x + 1));
  } catch (const std::invalid_argument&) {
    return bad("width and height must be whole numbers of pixels");
  }
  if (sign == std::string_view::npos) return region;
  std::string_view offsets = text.substr(sign);
  int values[2] = {0, 0};
  for (int& v : values) {
    if (offsets.empty() || (offsets[0] != '+' && offsets[0] != '-')) return bad("two offsets are needed");
    bool negative = offsets[0] == '-';
    offsets.remove_prefix(1);
    // Digits only: from_chars would take a second sign ("+-5", or "--2147483648", whose
    // negation overflows).
    if (offsets.empty() || offsets[0] < '0' || offsets[0] > '9') return bad("offsets must be whole numbers");
    auto [end, ec] = std::from_chars(offsets.data(), offsets.data() + offsets.size(), v);
    if (ec != std::errc{} || v > kMaxSide) return bad("offsets must be whole numbers");
    if (negative) v = -v;
    offsets.remove_prefix(static_cast<std::size_t>(end - offsets.data()));
  }
  if (!offsets.empty()) return bad(fmt::format("unexpected '{}'", offsets));
  region.rect.x = values[0];
  region.rect.y = values[1];
  return region;
}

cv::Mat resize_image(const cv::Mat& image, cv::Size to) {
  if (image.size() == to) return image;
  const bool shrinking = to.width <= image.cols && to.height <= image.rows;
  // Area averaging is what keeps a large reduction free of aliasing, but off integer ratios it
  // costs five times bilinear; below 2x, where bilinear still reads every source pixel, the
  // cheaper filter looks the same. Past the reduced-size JPEG decode most reductions are < 2x.
  const bool by_half_or_more = to.width * 2 <= image.cols && to.height * 2 <= image.rows;
  const int interpolation = !shrinking         ? cv::INTER_CUBIC
                            : by_half_or_more ? cv::INTER_AREA
                                              : cv::INTER_LINEAR;
  cv::Mat out;
  cv::resize(image, out, to, 0, 0, interpolation);
  return out;
}

}  // namespace forkpool::images
