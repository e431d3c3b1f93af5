#pragma once
// Reading what an image file is (without decoding it), decoding it to 8-bit pixels the right
// way up, and encoding the result.

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
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

// What the headers of a file say, read without decoding: enough to refuse a file before any
// decoder allocates for it. Plain value, any thread.
struct ImageHeader {
  ImageFormat format = ImageFormat::jpeg;
  cv::Size size;          // as stored, before orientation; empty when the header gives none
  int orientation = 1;    // EXIF/TIFF orientation 1..8 (1: stored the right way up)
  int channels = 0;       // what the decoder returns: 1 grey, 3 colour, 4 with alpha; 0 unknown
  int bits = 8;           // bits per sample the decoder returns: 8, 16, 32 or 64
  bool complete = true;   // false: the file ends before its end marker (a truncated download)
  std::string defect;     // why the structure is a lie (a length past the end, too many scans);
                          // empty when none was found. A file with a defect is refused.
  int scans = 0;                    // JPEG: start-of-scan markers
  bool progressive = false;         // JPEG: the decoder keeps every DCT coefficient
  std::uint64_t working_bytes = 0;  // memory the decoder needs besides the pixels it returns
  std::optional<int> transparent_grey;  // PNG grey + tRNS: the transparent sample value, as
                                        // decoded (1, 2, 4-bit values widened to 8 bits)

  // The size after orientation (5..8 swap width and height).
  [[nodiscard]] cv::Size oriented_size() const noexcept;
};

// Progressive JPEGs with more start-of-scan markers than this are refused: each scan makes
// libjpeg walk every block of the image again, so scans are CPU bought with bytes. libjpeg
// writes 10 (colour) or 6 (grey); libjpeg-turbo's TurboJPEG refuses more than 500 with
// TJFLAG_LIMITSCANS, the cap used here.
inline constexpr int kMaxJpegScans = 500;

// nullopt when the bytes are not JPEG, PNG, WebP or TIFF. Never reads outside `data`.
std::optional<ImageHeader> probe_image(std::span<const std::byte> data);

// The name of another image format OpenCV would decode ("BMP", "PNM", "JPEG 2000", ...), so a
// refusal can name it; nullopt when the bytes are no format known here.
std::optional<std::string_view> other_image_format(std::span<const std::byte> data);

// What one decode may cost. Plain value, any thread.
struct DecodeLimits {
  std::uint64_t max_pixels = 0;  // stored width x height; 0: no limit of forkpool's own
  std::uint64_t max_bytes = 0;   // memory at the decode's peak, the file included; 0: none

  // The limits of --max-megapixels: that many pixels, and as much memory as an 8-bit BGRA
  // image of that many pixels (kBytesPerPixel each), whatever the file's depth, alpha,
  // progressive coefficients or lossless WebP buffers make of it.
  static constexpr std::uint64_t kBytesPerPixel = 4;
  static DecodeLimits for_pixels(std::uint64_t max_pixels) noexcept {
    return {max_pixels, max_pixels > UINT64_MAX / kBytesPerPixel ? UINT64_MAX
                                                                 : max_pixels * kBytesPerPixel};
  }
};

// OpenCV's own limits (OPENCV_IO_MAX_IMAGE_WIDTH, _HEIGHT, _PIXELS; 2^20, 2^20, 2^30 unless
// set). OpenCV 4.6 reads them into constants when libopencv_imgcodecs is loaded, before main()
// runs: a process can read them, never change them. Plain value.
struct OpenCvImageLimits {
  std::uint64_t width, height, pixels;
};
const OpenCvImageLimits& opencv_image_limits();

// The memory decode_image takes at its peak for a file of `file_bytes` with this header, decoded
// at 1/reduction (JPEG): the file, the decoder's buffers and output, the conversion to 8 bits,
// and turning it the right way up.
std::uint64_t decode_peak_bytes(const ImageHeader& header, std::uint64_t file_bytes, int reduction = 1);

// Throws ImageError, saying why, when a file with this header must not be given to a decoder:
// a structural defect, a truncated file, a header without a size, a size over OpenCV's limits
// or `limits`, or a decode that would need more memory than `limits` allows.
void check_before_decoding(const ImageHeader& header, std::uint64_t file_bytes, int reduction,
                           const DecodeLimits& limits);

// Decodes `data`, whose header is `header`, to 8-bit pixels with 1, 3 (BGR) or 4 (BGRA)
// channels, turned the right way up by its orientation. reduction 2, 4 or 8 (JPEG only) has
// libjpeg decode at 1/reduction of the size, much faster for large photos. Throws ImageError.
cv::Mat decode_image(std::span<const std::byte> data, const ImageHeader& header, int reduction = 1);

// Turns an image stored with EXIF orientation `orientation` the right way up.
cv::Mat apply_orientation(cv::Mat image, int orientation);

// JPEG chroma subsampling: the colour planes at full resolution (444), half across (422), or
// half across and down (420, libjpeg's and OpenCV's default).
enum class JpegSubsampling { s420, s422, s444 };
// TIFF compression (tag 259): none (1), LZW (5, OpenCV's default), Deflate (8).
enum class TiffCompression { none, lzw, deflate };

// "420", "422", "444"; "none", "lzw", "deflate".
std::string_view to_string(JpegSubsampling subsampling) noexcept;
std::string_view to_string(TiffCompression compression) noexcept;
std::optional<JpegSubsampling> jpeg_subsampling_from_name(std::string_view name) noexcept;
std::optional<TiffCompression> tiff_compression_from_name(std::string_view name) noexcept;

// How each format's encoder is set besides quality; each applies to its own format only. The
// defaults write what forkpool always wrote (OpenCV 4.6's own defaults). Plain value.
struct EncoderOptions {
  bool jpeg_progressive = false;
  JpegSubsampling jpeg_subsampling = JpegSubsampling::s420;
  int png_level = -1;  // zlib level 0..9; -1: OpenCV's fast default (level 1, Sub filter, RLE)
  bool webp_lossless = false;  // quality then does not apply
  TiffCompression tiff_compression = TiffCompression::lzw;

  friend bool operator==(const EncoderOptions&, const EncoderOptions&) = default;
};

// Encodes in `format`; `quality` (1..100) applies to JPEG and lossy WebP. Alpha is dropped for
// JPEG. Throws ImageError.
std::vector<unsigned char> encode_image(const cv::Mat& image, ImageFormat format, int quality,
                                        const EncoderOptions& options = {});

}  // namespace forkpool::images
