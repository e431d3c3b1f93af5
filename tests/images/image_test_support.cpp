#include "image_test_support.hpp"

#include <stdlib.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace forkpool::testing {

cv::Mat synthetic_image(int width, int height, int channels, int seed) {
  cv::Mat bgr(height, width, CV_8UC3);
  cv::RNG rng(static_cast<std::uint64_t>(seed) + 1);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(255 * x / std::max(1, width - 1)),
                                          static_cast<uchar>(255 * y / std::max(1, height - 1)),
                                          static_cast<uchar>((x * y + seed * 37) % 256));
  for (int i = 0; i < 6; ++i)
    cv::circle(bgr, {rng.uniform(0, width), rng.uniform(0, height)}, rng.uniform(2, std::max(3, width / 4)),
               cv::Scalar(rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)), -1);
  if (channels == 3) return bgr;
  cv::Mat out;
  if (channels == 1) {
    cv::cvtColor(bgr, out, cv::COLOR_BGR2GRAY);
    return out;
  }
  cv::Mat alpha(height, width, CV_8UC1);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      alpha.at<uchar>(y, x) = static_cast<uchar>(std::clamp(255 - 2 * (std::abs(x - width / 2) + std::abs(y - height / 2)), 0, 255));
  cv::cvtColor(bgr, out, cv::COLOR_BGR2BGRA);
  cv::insertChannel(alpha, out, 3);
  return out;
}

void write_image(const std::filesystem::path& path, const cv::Mat& image) {
  std::filesystem::create_directories(path.parent_path());
  if (!cv::imwrite(path.native(), image)) throw std::runtime_error("cannot write " + path.native());
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::vector<std::string> files_under(const std::filesystem::path& root) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.is_regular_file()) files.push_back(e.path().lexically_relative(root).native());
  std::sort(files.begin(), files.end());
  return files;
}

std::filesystem::path sample_image(const std::string& name) {
  return std::filesystem::path(FORKPOOL_SOURCE_DIR) / "data" / "images" / name;
}

cv::Mat field_with_object(cv::Size size, cv::Rect object) {
  cv::Mat image(size, CV_8UC3, cv::Scalar(120, 124, 128));
  cv::Mat part = image(object);
  for (int y = 0; y < part.rows; ++y)
    for (int x = 0; x < part.cols; ++x)
      part.at<cv::Vec3b>(y, x) = ((x / 8 + y / 8) % 2) ? cv::Vec3b(40, 60, 220) : cv::Vec3b(30, 200, 240);
  return image;
}

int saturated_pixels(const cv::Mat& bgr) {
  cv::Mat hsv, planes[3];
  cv::cvtColor(bgr, hsv, cv::COLOR_BGR2HSV);
  cv::split(hsv, planes);
  return cv::countNonZero(planes[1] > 100);
}

CommandOutcome forkpool_images(std::vector<std::string> args) {
  args.insert(args.begin(), {FORKPOOL_BINARY, "images"});
  return run_command(args);
}

}  // namespace forkpool::testing
