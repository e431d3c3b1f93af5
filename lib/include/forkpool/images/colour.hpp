#pragma once
// Colour profiles of decoded pixels, over Little CMS 2: whether an ICC profile describes the
// pixels, and converting them to sRGB. Every function here may be called from any thread.

#include <opencv2/core.hpp>

#include <optional>
#include <span>
#include <string_view>

namespace forkpool::images {

// What --colorspace does with an input's ICC profile.
enum class Colorspace {
  keep,  // the pixels stay as stored; the output carries the input's profile
  srgb,  // the pixels are converted from the input's profile to sRGB; the output carries none
};

// "keep", "srgb".
std::string_view to_string(Colorspace colorspace) noexcept;
std::optional<Colorspace> colorspace_from_name(std::string_view name) noexcept;

// True when Little CMS reads `icc` as a profile of the colour space 8-bit pixels with
// `channels` channels are in: RGB for 3 (BGR) or 4 (BGRA), grey for 1. False for anything
// else (empty, malformed, CMYK, Lab, an RGB profile on grey pixels).
bool icc_describes(std::span<const unsigned char> icc, int channels);

// `pixels` (8-bit BGR, BGRA or grey) converted from the colours `icc` describes to sRGB
// (grey: to sRGB's tone curve), relative colorimetric intent; alpha is copied. Throws
// ImageError when icc_describes(icc, pixels.channels()) is false.
cv::Mat convert_to_srgb(const cv::Mat& pixels, std::span<const unsigned char> icc);

}  // namespace forkpool::images
