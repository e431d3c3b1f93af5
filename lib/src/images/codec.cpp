// Decoding to 8-bit pixels the right way up, and encoding, over OpenCV's imgcodecs.

#include <fmt/core.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <string>

#include "forkpool/images/codec.hpp"
#include "jpeg_encoder.hpp"

namespace forkpool::images {

namespace {

// 8-bit, 1, 3 or 4 channels: what every op expects.
cv::Mat to_8bit_gray_bgr_or_bgra(cv::Mat image) {
  if (image.depth() != CV_8U) {
    double scale = image.depth() == CV_16U ? 1.0 / 257.0
                   : image.depth() == CV_32F || image.depth() == CV_64F ? 255.0
                   : 1.0;
    cv::Mat converted;
    image.convertTo(converted, CV_MAKETYPE(CV_8U, image.channels()), scale);
    image = converted;
  }
  if (image.channels() == 2) {  // gray + alpha
    cv::Mat planes[2], bgra;
    cv::split(image, planes);
    cv::Mat merged[4] = {planes[0], planes[0], planes[0], planes[1]};
    cv::merge(merged, 4, bgra);
    image = bgra;
  }
  return image;
}

// OpenCV 4.6 decodes a grey PNG with a tRNS chunk to plain grey (it keeps the alpha of colour
// and palette PNGs with tRNS): the pixels equal to the transparent value get alpha 0 here, as
// libpng's png_set_tRNS_to_alpha would give them.
cv::Mat with_transparent_grey(const cv::Mat& grey, int transparent) {
  cv::Mat alpha = grey != transparent;  // 255 where opaque
  cv::Mat eight = grey;
  if (grey.depth() != CV_8U) grey.convertTo(eight, CV_8U, grey.depth() == CV_16U ? 1.0 / 257.0 : 1.0);
  cv::Mat planes[4] = {eight, eight, eight, alpha}, bgra;
  cv::merge(planes, 4, bgra);
  return bgra;
}

int reduced_flag(int reduction, bool gray) {
  switch (reduction) {
    case 2: return gray ? cv::IMREAD_REDUCED_GRAYSCALE_2 : cv::IMREAD_REDUCED_COLOR_2;
    case 4: return gray ? cv::IMREAD_REDUCED_GRAYSCALE_4 : cv::IMREAD_REDUCED_COLOR_4;
    case 8: return gray ? cv::IMREAD_REDUCED_GRAYSCALE_8 : cv::IMREAD_REDUCED_COLOR_8;
    default: return gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;
  }
}

}  // namespace

std::string_view to_string(ImageFormat format) noexcept {
  switch (format) {
    case ImageFormat::jpeg: return "jpeg";
    case ImageFormat::png: return "png";
    case ImageFormat::webp: return "webp";
    case ImageFormat::tiff: return "tiff";
  }
  return "?";
}

std::string_view extension_for(ImageFormat format) noexcept {
  return format == ImageFormat::jpeg ? "jpg" : to_string(format);
}

std::optional<ImageFormat> format_from_name(std::string_view name) noexcept {
  if (!name.empty() && name.front() == '.') name.remove_prefix(1);
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "jpg" || lower == "jpeg") return ImageFormat::jpeg;
  if (lower == "png") return ImageFormat::png;
  if (lower == "webp") return ImageFormat::webp;
  if (lower == "tif" || lower == "tiff") return ImageFormat::tiff;
  return std::nullopt;
}

cv::Mat apply_orientation(cv::Mat image, int orientation) {
  // The EXIF definitions: which stored row and column are the visual top and left.
  cv::Mat out;
  switch (orientation) {
    case 2: cv::flip(image, out, 1); return out;
    case 3: cv::flip(image, out, -1); return out;
    case 4: cv::flip(image, out, 0); return out;
    case 5: cv::transpose(image, out); return out;
    case 6: cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE); return out;
    case 7: cv::transpose(image, out); cv::flip(out, out, -1); return out;
    case 8: cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE); return out;
    default: return image;
  }
}

cv::Mat decode_image(std::span<const std::byte> data, const ImageHeader& header, int reduction) {
  // OpenCV 4.6 turns images the right way up in two places: imdecode turns JPEGs unless told not
  // to (and never with IMREAD_UNCHANGED, which alpha needs), and the TIFF decoder turns TIFFs
  // whatever the flags. So JPEGs are decoded unturned and turned here like every other format
  // OpenCV leaves alone; TIFFs come out turned already. (PNG and WebP: the probe reads no
  // orientation, so theirs is 1.)
  int flags = cv::IMREAD_UNCHANGED;
  if (header.format == ImageFormat::jpeg)
    flags = reduced_flag(reduction, header.channels == 1) | cv::IMREAD_IGNORE_ORIENTATION;
  const cv::Mat buffer(1, static_cast<int>(data.size()), CV_8U,
                       const_cast<std::byte*>(data.data()));
  cv::Mat image;
  try {
    image = cv::imdecode(buffer, flags);
  } catch (const cv::Exception& e) {
    throw ImageError(fmt::format("cannot decode {}: {}", to_string(header.format), e.err));
  }
  if (image.empty())
    throw ImageError(fmt::format("cannot decode {}: corrupt or unsupported data",
                                 to_string(header.format)));
  if (header.transparent_grey && image.channels() == 1)
    image = with_transparent_grey(image, *header.transparent_grey);
  image = to_8bit_gray_bgr_or_bgra(std::move(image));
  return header.format == ImageFormat::jpeg ? apply_orientation(std::move(image), header.orientation)
                                            : image;
}

std::string_view to_string(JpegSubsampling subsampling) noexcept {
  switch (subsampling) {
    case JpegSubsampling::s420: return "420";
    case JpegSubsampling::s422: return "422";
    case JpegSubsampling::s444: return "444";
  }
  return "?";
}

std::string_view to_string(TiffCompression compression) noexcept {
  switch (compression) {
    case TiffCompression::none: return "none";
    case TiffCompression::lzw: return "lzw";
    case TiffCompression::deflate: return "deflate";
  }
  return "?";
}

std::optional<JpegSubsampling> jpeg_subsampling_from_name(std::string_view name) noexcept {
  for (auto s : {JpegSubsampling::s420, JpegSubsampling::s422, JpegSubsampling::s444})
    if (name == to_string(s)) return s;
  return std::nullopt;
}

std::optional<TiffCompression> tiff_compression_from_name(std::string_view name) noexcept {
  for (auto c : {TiffCompression::none, TiffCompression::lzw, TiffCompression::deflate})
    if (name == to_string(c)) return c;
  return std::nullopt;
}

std::vector<unsigned char> encode_image(const cv::Mat& image, ImageFormat format, int quality,
                                        const EncoderOptions& options) {
  cv::Mat pixels = image;
  std::vector<int> params;
  switch (format) {
    case ImageFormat::jpeg:
      if (image.channels() == 4) cv::cvtColor(image, pixels, cv::COLOR_BGRA2BGR);
      // OpenCV 4.6 cannot set the sampling factors (IMWRITE_JPEG_SAMPLING_FACTOR came in 4.7):
      // libjpeg is called directly for 4:2:2 and 4:4:4, and for grey there is nothing to
      // subsample.
      if (options.jpeg_subsampling != JpegSubsampling::s420 && pixels.channels() == 3)
        return encode_jpeg(pixels, quality, options.jpeg_progressive, options.jpeg_subsampling);
      params = {cv::IMWRITE_JPEG_QUALITY, quality};
      if (options.jpeg_progressive) params.insert(params.end(), {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
      break;
    // A WebP quality above 100 is OpenCV's way of asking for lossless.
    case ImageFormat::webp: params = {cv::IMWRITE_WEBP_QUALITY, options.webp_lossless ? 101 : quality}; break;
    case ImageFormat::png:
      if (options.png_level >= 0) params = {cv::IMWRITE_PNG_COMPRESSION, options.png_level};
      break;
    case ImageFormat::tiff:
      // libtiff's numbers (tiff.h): COMPRESSION_NONE, COMPRESSION_ADOBE_DEFLATE. LZW is
      // OpenCV's default, left to it so that those files stay as they were.
      if (options.tiff_compression != TiffCompression::lzw)
        params = {cv::IMWRITE_TIFF_COMPRESSION, options.tiff_compression == TiffCompression::none ? 1 : 8};
      break;
  }
  std::vector<unsigned char> bytes;
  try {
    std::string ext = fmt::format(".{}", extension_for(format));
    if (!cv::imencode(ext, pixels, bytes, params))
      throw ImageError(fmt::format("cannot encode {}", to_string(format)));
  } catch (const cv::Exception& e) {
    throw ImageError(fmt::format("cannot encode {}: {}", to_string(format), e.err));
  }
  return bytes;
}

}  // namespace forkpool::images
