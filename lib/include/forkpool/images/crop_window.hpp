#pragma once
// Which part of an image a fill resize (`resize=WxH^`) keeps once the image covers the box.

#include <opencv2/core.hpp>

#include <optional>
#include <string_view>

namespace forkpool::images {

// centre: the middle. attention: the window holding the most of what draws the eye (edges,
// saturated colour, skin-like hues), after vipsthumbnail's `--smartcrop attention`.
enum class CropMode { centre, attention };

// "centre", "attention".
std::string_view to_string(CropMode mode) noexcept;
// "centre" (or "center") or "attention"; nullopt for anything else.
std::optional<CropMode> crop_mode_from_name(std::string_view name) noexcept;

// The `box`-sized window of `image` (8-bit, 1, 3 or 4 channels; alpha is ignored) that `mode`
// keeps; `box` is no larger than the image. Deterministic: the same pixels give the same
// window on every backend. Any thread.
cv::Rect crop_window(const cv::Mat& image, cv::Size box, CropMode mode);

// The attention map crop_window(..., attention) searches, at the size it searches it (the
// image scaled so that its longer side is at most kAttentionMapSide): 8-bit, higher where the
// eye goes. For tests and for anyone tuning it. Any thread.
inline constexpr int kAttentionMapSide = 256;
cv::Mat attention_map(const cv::Mat& image);

}  // namespace forkpool::images
