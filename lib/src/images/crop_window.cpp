// The window a fill resize keeps: the middle, or the part with the most attention.

#include "forkpool/images/crop_window.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace forkpool::images {

namespace {

// Weights of the three cues, each in [0, 1] per pixel before weighting. Equal: none of them is
// trusted more than the others, as libvips weighs its own cues equally.
constexpr float kEdgeWeight = 1.0f / 3, kSaturationWeight = 1.0f / 3, kSkinWeight = 1.0f / 3;
// |dx| + |dy| of a 3x3 Sobel across a step from 0 to 255: an edge this strong counts fully.
constexpr float kStrongEdge = 1020.0f;
// Skin-like pixels in OpenCV's 8-bit HSV (hue 0..180, i.e. degrees / 2): reds to oranges,
// neither grey nor fully saturated, not dark. Wide on purpose: every skin tone, lit or not.
constexpr int kSkinHueMax = 25;  // 50 degrees
constexpr int kSkinSaturationMin = 48, kSkinSaturationMax = 175, kSkinValueMin = 90;

cv::Mat to_bgr(const cv::Mat& image) {
  cv::Mat bgr;
  if (image.channels() == 4) cv::cvtColor(image, bgr, cv::COLOR_BGRA2BGR);
  else if (image.channels() == 1) cv::cvtColor(image, bgr, cv::COLOR_GRAY2BGR);
  else bgr = image;
  return bgr;
}

// The top-left corner of the `window`-sized part of `map` with the largest sum; of equal sums,
// the one nearest the middle (so a featureless image is cropped in the middle), then the first.
// Sums are of 8-bit values in 32-bit integers (at most 256 x 256 x 255), so ties are exact.
cv::Point densest_window(const cv::Mat& map, cv::Size window) {
  cv::Mat sums;
  cv::integral(map, sums, CV_32S);
  const int free_x = map.cols - window.width, free_y = map.rows - window.height;
  cv::Point best(0, 0);
  long best_sum = -1;
  int best_distance = 0;
  for (int y = 0; y <= free_y; ++y) {
    const int* top = sums.ptr<int>(y);
    const int* bottom = sums.ptr<int>(y + window.height);
    for (int x = 0; x <= free_x; ++x) {
      const long sum = static_cast<long>(bottom[x + window.width]) - bottom[x] -
                       top[x + window.width] + top[x];
      const int distance = std::abs(2 * x - free_x) + std::abs(2 * y - free_y);
      if (sum > best_sum || (sum == best_sum && distance < best_distance)) {
        best = {x, y};
        best_sum = sum;
        best_distance = distance;
      }
    }
  }
  return best;
}

}  // namespace

std::string_view to_string(CropMode mode) noexcept {
  return mode == CropMode::attention ? "attention" : "centre";
}

std::optional<CropMode> crop_mode_from_name(std::string_view name) noexcept {
  if (name == "centre" || name == "center") return CropMode::centre;
  if (name == "attention") return CropMode::attention;
  return std::nullopt;
}

cv::Mat attention_map(const cv::Mat& image) {
  // A small copy: where the interest lies does not need every pixel, and the search below
  // tries every window position.
  const double scale =
      std::min(1.0, static_cast<double>(kAttentionMapSide) / std::max(image.cols, image.rows));
  const cv::Size size(std::max(1, static_cast<int>(std::lround(image.cols * scale))),
                      std::max(1, static_cast<int>(std::lround(image.rows * scale))));
  cv::Mat small;
  cv::resize(image, small, size, 0, 0, cv::INTER_AREA);
  const cv::Mat bgr = to_bgr(small);

  cv::Mat grey, dx, dy, edges;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  cv::Sobel(grey, dx, CV_32F, 1, 0);
  cv::Sobel(grey, dy, CV_32F, 0, 1);
  edges = cv::min((cv::abs(dx) + cv::abs(dy)) / kStrongEdge, 1.0f);

  cv::Mat hsv, planes[3];
  cv::cvtColor(bgr, hsv, cv::COLOR_BGR2HSV);
  cv::split(hsv, planes);
  // Saturation counts as much as the pixel is bright: the chroma of near-black is noise.
  cv::Mat saturation, value;
  planes[1].convertTo(saturation, CV_32F, 1.0 / 255);
  planes[2].convertTo(value, CV_32F, 1.0 / 255);
  saturation = saturation.mul(value);

  cv::Mat skin;
  cv::inRange(hsv, cv::Scalar(0, kSkinSaturationMin, kSkinValueMin),
              cv::Scalar(kSkinHueMax, kSkinSaturationMax, 255), skin);
  skin.convertTo(skin, CV_32F, 1.0 / 255);

  cv::Mat interest = kEdgeWeight * edges + kSaturationWeight * saturation + kSkinWeight * skin;
  cv::Mat map;
  interest.convertTo(map, CV_8U, 255);
  // Blurred, so an object's busy outline and its coloured inside count as one region, and a
  // single sharp speck does not.
  const double sigma = std::max(1.0, std::max(map.cols, map.rows) / 40.0);
  cv::GaussianBlur(map, map, cv::Size(0, 0), sigma, sigma, cv::BORDER_REPLICATE);
  return map;
}

cv::Rect crop_window(const cv::Mat& image, cv::Size box, CropMode mode) {
  box.width = std::clamp(box.width, 1, image.cols);
  box.height = std::clamp(box.height, 1, image.rows);
  if (mode == CropMode::centre)
    return {(image.cols - box.width) / 2, (image.rows - box.height) / 2, box.width, box.height};
  // Even when the box is the whole image: the threads backend builds OpenCV's lazy tables by
  // running each op once on a sample, and this is the path that must be run.
  const cv::Mat map = attention_map(image);
  const double fx = static_cast<double>(map.cols) / image.cols;
  const double fy = static_cast<double>(map.rows) / image.rows;
  const cv::Size window(std::clamp(static_cast<int>(std::lround(box.width * fx)), 1, map.cols),
                        std::clamp(static_cast<int>(std::lround(box.height * fy)), 1, map.rows));
  const cv::Point corner = densest_window(map, window);
  // The middle of the map is the middle of the image: there, the centre crop exactly, which
  // the mapping back below could miss by a pixel or two.
  if (std::abs(2 * corner.x - (map.cols - window.width)) <= 1 &&
      std::abs(2 * corner.y - (map.rows - window.height)) <= 1)
    return crop_window(image, box, CropMode::centre);
  // The window's centre, back at full size; the box goes around it, inside the image.
  const double cx = (corner.x + window.width / 2.0) / fx;
  const double cy = (corner.y + window.height / 2.0) / fy;
  const int x = std::clamp(static_cast<int>(std::lround(cx - box.width / 2.0)), 0, image.cols - box.width);
  const int y = std::clamp(static_cast<int>(std::lround(cy - box.height / 2.0)), 0, image.rows - box.height);
  return {x, y, box.width, box.height};
}

}  // namespace forkpool::images
