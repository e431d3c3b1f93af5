#pragma once
// What op files share: the adapter from a parameter struct to an Op, argument parsing, and
// channel handling. Internal to the images module.

#include <opencv2/core.hpp>

#include <functional>
#include <memory>
#include <string_view>
#include <utility>

#include "forkpool/images/op.hpp"

namespace forkpool::images::detail {

// Adapts a parameter struct P with `static P parse(std::string_view)` and
// `cv::Mat run(const cv::Mat&) const` (and optionally `cv::Size output_size(cv::Size) const`,
// `cv::Mat run_from(const cv::Mat&, cv::Size full) const` and `cv::Size largest_size(cv::Size)
// const`) to an Op. Immutable once built, so any thread may run it.
template <class P>
class TypedOp final : public Op {
 public:
  explicit TypedOp(P params) : params_(std::move(params)) {}
  [[nodiscard]] cv::Mat run(const cv::Mat& image) const override { return params_.run(image); }
  [[nodiscard]] std::optional<cv::Size> output_size(cv::Size in) const override {
    if constexpr (requires { params_.output_size(in); })
      return params_.output_size(in);
    else
      return std::nullopt;
  }
  [[nodiscard]] cv::Mat run_from(const cv::Mat& image, cv::Size full) const override {
    if constexpr (requires { params_.run_from(image, full); })
      return params_.run_from(image, full);
    else
      return params_.run(image);
  }
  [[nodiscard]] cv::Size largest_size(cv::Size in) const override {
    if constexpr (requires { params_.largest_size(in); })
      return params_.largest_size(in);
    else
      return in;
  }

 private:
  P params_;
};

template <class P>
std::unique_ptr<Op> make_op(std::string_view arguments) {
  return std::make_unique<TypedOp<P>>(P::parse(arguments));
}

// All of `text` as a number in [min, max]; throws OpSyntaxError naming the op.
double parse_number(std::string_view op, std::string_view text, double min, double max);

// Throws OpSyntaxError when an op that takes no arguments was given some.
void expect_no_arguments(std::string_view op, std::string_view arguments);

// One 8-bit gray channel from a 1-, 3- or 4-channel (BGR[A]) image.
cv::Mat to_gray(const cv::Mat& image);

// Applies `fn` to the colour channels and keeps an alpha channel as it was, so transparency
// survives colour ops. `fn` gets and returns 1 or 3 channels of the same size.
cv::Mat on_color_channels(const cv::Mat& image, const std::function<cv::Mat(const cv::Mat&)>& fn);

}  // namespace forkpool::images::detail
