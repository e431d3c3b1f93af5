#include "op_support.hpp"

#include <fmt/core.h>
#include <opencv2/imgproc.hpp>

#include <charconv>
#include <vector>

namespace forkpool::images::detail {

double parse_number(std::string_view op, std::string_view text, double min, double max) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    throw OpSyntaxError(fmt::format("{}: '{}' is not a number", op, text));
  if (!(value >= min && value <= max))
    throw OpSyntaxError(fmt::format("{}: {} is out of range [{}, {}]", op, text, min, max));
  return value;
}

void expect_no_arguments(std::string_view op, std::string_view arguments) {
  if (!arguments.empty())
    throw OpSyntaxError(fmt::format("{} takes no arguments (got '{}')", op, arguments));
}

cv::Mat to_gray(const cv::Mat& image) {
  if (image.channels() == 1) return image;
  cv::Mat gray;
  cv::cvtColor(image, gray, image.channels() == 4 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGR2GRAY);
  return gray;
}

cv::Mat on_color_channels(const cv::Mat& image,
                          const std::function<cv::Mat(const cv::Mat&)>& fn) {
  if (image.channels() != 4) return fn(image);
  cv::Mat color, alpha;
  cv::cvtColor(image, color, cv::COLOR_BGRA2BGR);
  cv::extractChannel(image, alpha, 3);
  cv::Mat done = fn(color);
  if (done.channels() == 1) cv::cvtColor(done, done, cv::COLOR_GRAY2BGR);
  std::vector<cv::Mat> planes;
  cv::split(done, planes);
  planes.push_back(alpha);
  cv::Mat out;
  cv::merge(planes, out);
  return out;
}

}  // namespace forkpool::images::detail
