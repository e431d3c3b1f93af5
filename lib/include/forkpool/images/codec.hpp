#pragma once
// Reading what an image file is (without decoding it), decoding it to 8-bit pixels the right
// way up, and encoding the result.

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace forkpool::images {

enum class ImageFormat { jpeg, png, webp, tiff };

// "jpeg", "png", "webp", "tiff".
std::string_view to_string(ImageFormat format) noexcept;
// The extension forkpool writes: "jpg", "png", "webp", "tiff".
std::string_view extension_for(ImageFormat format) noexcept;
// A format name or file extension, any case, with or without the dot: "jpg", ".JPEG", "tif".
std::optional<ImageFormat> format_from_name(std::string_view name) noexcept;

// Why one image could not be read, decoded or encoded: a message for the user, without the
// path (the caller adds it).
struct ImageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What the first bytes of a file say, read without decoding. Plain value, any thread.
struct ImageHeader {
  ImageFormat format = ImageFormat::jpeg;
  cv::Size size;         // as stored, before orientation; empty when the header is cut short
  int orientation = 1;   // EXIF/TIFF orientation 1..8 (1: stored the right way up)
  int channels = 0;      // JPEG colour components (1: gray), 0 when not known
  bool complete = true;  // false: the file ends before its end marker (a truncated download)

  // The size after orientation (5..8 swap width and height).
  [[nodiscard]] cv::Size oriented_size() const noexcept;
};

// nullopt when the bytes are not JPEG, PNG, WebP or TIFF.
std::optional<ImageHeader> probe_image(std::span<const std::byte> data);

// Decodes `data`, whose header is `header`, to 8-bit pixels with 1, 3 (BGR) or 4 (BGRA)
// channels, turned the right way up by its orientation. reduction 2, 4 or 8 (JPEG only) has
// libjpeg decode at 1/reduction of the size, much faster for large photos. Throws ImageError.
cv::Mat decode_image(std::span<const std::byte> data, const ImageHeader& header, int reduction = 1);

// Turns an image stored with EXIF orientation `orientation` the right way up.
cv::Mat apply_orientation(cv::Mat image, int orientation);

// Encodes in `format`; `quality` (1..100) applies to JPEG and WebP. Alpha is dropped for JPEG.
// Throws ImageError.
std::vector<unsigned char> encode_image(const cv::Mat& image, ImageFormat format, int quality);

}  // namespace forkpool::images
