// What a decode may cost, decided from the header before any decoder sees the file.

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>

#include "forkpool/images/codec.hpp"
#include "saturating.hpp"

namespace forkpool::images {

namespace {

std::string_view display_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::jpeg: return "JPEG";
    case ImageFormat::png: return "PNG";
    case ImageFormat::webp: return "WebP";
    case ImageFormat::tiff: return "TIFF";
  }
  return "image";
}

// As OpenCV 4.6 parses these variables (utils::getConfigurationParameterSizeT): digits with an
// optional KB, MB or GB suffix (binary units). A value OpenCV could not parse stops it from
// loading, so none is seen here; anything odd falls back to the default.
std::uint64_t opencv_size_parameter(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || !std::isdigit(static_cast<unsigned char>(*text))) return fallback;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  const std::string_view suffix(end);
  if (suffix.empty()) return value;
  if (suffix == "KB" || suffix == "Kb" || suffix == "kb") return saturating_product({value, 1ull << 10});
  if (suffix == "MB" || suffix == "Mb" || suffix == "mb") return saturating_product({value, 1ull << 20});
  if (suffix == "GB" || suffix == "Gb" || suffix == "gb") return saturating_product({value, 1ull << 30});
  return fallback;
}

std::string megabytes(std::uint64_t bytes) { return fmt::format("{:.0f} MB", bytes / 1e6); }

}  // namespace

const OpenCvImageLimits& opencv_image_limits() {
  // The environment as it was when OpenCV read it: nothing in forkpool changes these variables.
  static const OpenCvImageLimits limits{
      opencv_size_parameter("OPENCV_IO_MAX_IMAGE_WIDTH", 1ull << 20),
      opencv_size_parameter("OPENCV_IO_MAX_IMAGE_HEIGHT", 1ull << 20),
      opencv_size_parameter("OPENCV_IO_MAX_IMAGE_PIXELS", 1ull << 30)};
  return limits;
}

std::uint64_t decode_peak_bytes(const ImageHeader& header, std::uint64_t file_bytes, int reduction) {
  const auto r = static_cast<std::uint64_t>(std::max(reduction, 1));
  const auto w = (static_cast<std::uint64_t>(std::max(header.size.width, 0)) + r - 1) / r;
  const auto h = (static_cast<std::uint64_t>(std::max(header.size.height, 0)) + r - 1) / r;
  // Unknown channels count as the most there can be.
  const auto channels = static_cast<std::uint64_t>(header.channels <= 0 ? 4 : std::min(header.channels, 4));
  const auto bytes = static_cast<std::uint64_t>(std::max(header.bits, 8) / 8);
  const std::uint64_t decoded = saturating_product({w, h, channels, bytes});
  const bool grey_alpha = header.transparent_grey && channels == 1;
  const std::uint64_t eight_bit = saturating_product({w, h, grey_alpha ? 4 : channels});
  // Stages that hold two images at once; each ends before the next begins.
  std::uint64_t peak = saturating_sum({decoded, header.working_bytes});
  if (header.format == ImageFormat::tiff && header.orientation != 1)
    peak = std::max(peak, saturating_product({decoded, 2}));  // OpenCV's TIFF decoder turns it
  if (bytes != 1 || grey_alpha)  // the 8-bit copy (and the alpha mask of a grey PNG's tRNS)
    peak = std::max(peak, saturating_sum({decoded, eight_bit, grey_alpha ? saturating_product({w, h}) : 0}));
  if (header.format == ImageFormat::jpeg && header.orientation != 1)
    peak = std::max(peak, saturating_product({eight_bit, 2}));
  return saturating_sum({file_bytes, peak});
}

void check_before_decoding(const ImageHeader& header, std::uint64_t file_bytes, int reduction,
                           const DecodeLimits& limits) {
  const auto name = display_name(header.format);
  if (!header.defect.empty()) throw ImageError(header.defect);
  if (!header.complete)
    throw ImageError(fmt::format("truncated {} (the file ends before the image does)", name));
  const cv::Size size = header.size;
  if (size.empty())
    throw ImageError(fmt::format("{} without a readable width and height: refused rather than "
                                 "decoded blind", name));
  const auto width = static_cast<std::uint64_t>(size.width);
  const auto height = static_cast<std::uint64_t>(size.height);
  const std::uint64_t pixels = width * height;
  const OpenCvImageLimits& cv_limits = opencv_image_limits();
  if (width > cv_limits.width || height > cv_limits.height || pixels > cv_limits.pixels)
    throw ImageError(fmt::format(
        "too large to decode: {}x{} is over OpenCV's limit of {}x{} and {:.0f} megapixels "
        "(OPENCV_IO_MAX_IMAGE_WIDTH, _HEIGHT, _PIXELS)",
        width, height, cv_limits.width, cv_limits.height, cv_limits.pixels / 1e6));
  if (limits.max_pixels > 0 && pixels > limits.max_pixels)
    throw ImageError(fmt::format("too large to decode: {}x{} is {:.0f} megapixels (limit {:.0f}, "
                                 "see --max-megapixels)",
                                 width, height, pixels / 1e6, limits.max_pixels / 1e6));
  if (limits.max_bytes > 0) {
    const std::uint64_t need = decode_peak_bytes(header, file_bytes, reduction);
    if (need > limits.max_bytes)
      throw ImageError(fmt::format(
          "too large to decode: this {}x{} {} needs about {} of memory (limit {}, {} bytes per "
          "pixel of --max-megapixels)",
          width, height, name, megabytes(need), megabytes(limits.max_bytes),
          DecodeLimits::kBytesPerPixel));
  }
}

}  // namespace forkpool::images
