// Fuzzes the image header probe with whole files: JPEG segments, scans and the EXIF IFD, PNG
// chunks, WebP chunks, TIFF IFDs, and the limits worked out from what it returns. It must never
// read outside its input, and what it returns must hold together.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "forkpool/images/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace forkpool::images;
  std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  (void)other_image_format(file);
  const auto header = probe_image(file);
  if (!header) return 0;
  if (header->orientation < 1 || header->orientation > 8) std::abort();
  if (header->size.width < 0 || header->size.height < 0) std::abort();
  if (header->channels < 0 || header->channels > 4) std::abort();
  if (header->scans < 0 || header->scans > kMaxJpegScans + 1) std::abort();
  if (header->scans > kMaxJpegScans && header->defect.empty()) std::abort();
  (void)header->oriented_size();
  for (int reduction : {1, 2, 4, 8})
    if (decode_peak_bytes(*header, size, reduction) < size) std::abort();
  try {
    check_before_decoding(*header, size, 1, DecodeLimits::for_pixels(200'000'000));
    if (!header->defect.empty() || !header->complete || header->size.empty()) std::abort();
  } catch (const ImageError&) {
  }
  return 0;
}
