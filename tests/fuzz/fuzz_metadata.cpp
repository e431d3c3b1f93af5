// Fuzzes forkpool's metadata copy with whole files: exiv2 reading an input's ICC profile, EXIF,
// XMP and IPTC (any of the four formats), the EXIF and XMP edited for an output, the result
// written onto a small encoded image of each format (exiv2 for JPEG and TIFF, our own chunks for
// PNG and WebP), read back, and the profile handed to Little CMS. Every failure must be an
// ImageError; whatever is written must be readable again.

#include <opencv2/imgcodecs.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "forkpool/images/codec.hpp"
#include "forkpool/images/colour.hpp"
#include "forkpool/images/metadata.hpp"

namespace {

using namespace forkpool::images;

struct Encoded {
  ImageFormat format;
  std::vector<unsigned char> bytes;
};

// Small outputs of each encoder, made once: the same for every input.
const std::vector<Encoded>& outputs() {
  static const std::vector<Encoded> made = [] {
    const cv::Mat bgr(5, 7, CV_8UC3, cv::Scalar(30, 120, 220));
    const cv::Mat bgra(5, 7, CV_8UC4, cv::Scalar(30, 120, 220, 128));
    std::vector<Encoded> e;
    for (ImageFormat f : {ImageFormat::jpeg, ImageFormat::png, ImageFormat::webp, ImageFormat::tiff})
      e.push_back({f, encode_image(bgr, f, 80)});
    e.push_back({ImageFormat::webp, encode_image(bgra, ImageFormat::webp, 80)});
    return e;
  }();
  return made;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  ImageMetadata input;
  try {
    input = read_metadata(file);
  } catch (const ImageError&) {
    return 0;
  }
  const bool srgb = size % 2 == 1;
  if (icc_describes(input.icc, 3)) {
    try {
      (void)convert_to_srgb(cv::Mat(3, 3, CV_8UC3, cv::Scalar(10, 128, 250)), input.icc);
    } catch (const ImageError&) {
    }
  }
  ImageMetadata output;
  try {
    output = metadata_for_output(input, cv::Size(7, 5), srgb);
  } catch (const ImageError&) {
    return 0;
  }
  for (const Encoded& e : outputs()) {
    std::vector<unsigned char> written;
    try {
      written = attach_metadata(e.bytes, e.format, output);
    } catch (const ImageError&) {
      continue;
    }
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(written.data()), written.size());
    // What forkpool wrote, forkpool must read: the probe and exiv2 alike.
    const auto header = probe_image(bytes);
    if (!header || header->size != cv::Size(7, 5)) std::abort();
    try {
      (void)read_metadata(bytes);
    } catch (const ImageError&) {
      // exiv2 may refuse to read back some tags it wrote (a value it cannot parse again).
    }
  }
  return 0;
}
