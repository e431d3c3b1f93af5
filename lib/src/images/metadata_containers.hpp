#pragma once
// PNG and WebP chunks for metadata, written by forkpool (exiv2 0.27 writes PNG's iCCP without
// a keyword and WebP's ICC chunk under the name VP8X). Private to lib/src/images; any thread.

#include <span>
#include <vector>

#include "forkpool/images/metadata.hpp"

namespace forkpool::images::detail {

// `png` with iCCP, eXIf and an iTXt XMP packet after its IHDR. Throws ImageError when `png`
// does not start with a signature and an IHDR.
std::vector<unsigned char> add_png_metadata(std::span<const unsigned char> png, const ImageMetadata& metadata);

// `webp` as an extended file (VP8X) with ICCP, EXIF and XMP chunks where `metadata` has them.
// Throws ImageError when `webp` is not a RIFF WebP file of whole chunks.
std::vector<unsigned char> add_webp_metadata(std::span<const unsigned char> webp, const ImageMetadata& metadata);

}  // namespace forkpool::images::detail
