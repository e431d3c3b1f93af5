#pragma once
// What an image file carries besides its pixels (ICC profile, EXIF, XMP, IPTC): read from an
// input over exiv2, adjusted for the output, and put on the output's encoded bytes (OpenCV's
// encoders write none). Our header probe (probe_image) still decides sizes and orientation.
// Every function here may be called from any thread.

#include <opencv2/core.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "forkpool/images/codec.hpp"

namespace forkpool::images {

// The metadata of one file, as plain bytes. Plain value, any thread.
struct ImageMetadata {
  std::vector<unsigned char> icc;   // ICC profile
  std::vector<unsigned char> exif;  // EXIF as a TIFF structure ("II*\0" or "MM\0*" first)
  std::string xmp;                  // XMP packet
  std::vector<unsigned char> iptc;  // IPTC IIM records

  [[nodiscard]] bool empty() const noexcept {
    return icc.empty() && exif.empty() && xmp.empty() && iptc.empty();
  }
};

// The metadata of a JPEG, PNG, WebP or TIFF file. The EXIF comes without its thumbnail (it
// shows the input, not what is made of it) and without the tags that describe the input's
// own pixel layout (strips, tiles, compression: TIFF inputs), the ICC profile, XMP and IPTC
// that a TIFF keeps in tags. Throws ImageError ("cannot read its metadata: ...") when exiv2
// cannot parse them.
ImageMetadata read_metadata(std::span<const std::byte> file);

// `input`'s metadata made true of an output `size` pixels, stored the right way up: EXIF and
// XMP Orientation 1 and pixel dimensions `size` (the dimensions only where the input had
// them); with `srgb`, the colour space sRGB (EXIF ColorSpace 1, interoperability index R98).
// The ICC profile is left as it is. Throws ImageError when the EXIF or XMP cannot be parsed.
ImageMetadata metadata_for_output(const ImageMetadata& input, cv::Size size, bool srgb);

// `encoded` (a file of `format` as encode_image makes it) with `metadata` added, written in
// memory: JPEG (APP1 EXIF and XMP, APP2 ICC, APP13 IPTC) and TIFF (tags) through exiv2; PNG
// (iCCP, eXIf, iTXt XMP) and WebP (VP8X with ICCP, EXIF, XMP chunks) by forkpool, since
// exiv2 0.27 writes these two wrongly. PNG and WebP have no IPTC. Throws ImageError.
std::vector<unsigned char> attach_metadata(std::vector<unsigned char> encoded, ImageFormat format,
                                           const ImageMetadata& metadata);

}  // namespace forkpool::images
