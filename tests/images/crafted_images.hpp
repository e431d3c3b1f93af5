#pragma once
// Image files built byte by byte for the tests of the header probe and the decoding limits:
// TIFFs with any integer type for their size tags, PNG chunks with correct CRCs (or lying
// lengths), and JPEG segments to insert, repeat or cut.

#include <opencv2/core.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace forkpool::testing {

std::span<const std::byte> as_bytes(const std::string& s);

// An uncompressed single-strip TIFF of `image` (8-bit grey or BGR, written as RGB).
struct TiffOptions {
  bool big_endian = false;
  int orientation = 0;        // 0: no Orientation tag
  unsigned size_type = 4;     // TIFF type of ImageWidth and ImageLength: 1 BYTE, 3 SHORT, 4 LONG,
                              // 6 SBYTE, 8 SSHORT, 9 SLONG, 16 LONG8, 17 SLONG8
  std::int64_t width = -1;    // >= 0 (or < -1): written instead of the image's width
  std::int64_t height = -1;
  std::int64_t strip_bytes = -1;  // >= 0: written as StripByteCounts instead of the true count
};
std::string tiff_bytes(const cv::Mat& image, const TiffOptions& options = {});

// One PNG chunk with its CRC; `claimed_length` (when >= 0) replaces the true length field.
std::string png_chunk(const std::string& type, const std::string& data, std::int64_t claimed_length = -1);
// `png` with `chunk` inserted right after IHDR.
std::string png_insert_after_ihdr(const std::string& png, const std::string& chunk);

// A JPEG's markers in order: for a scan, [begin, end) spans the SOS segment and its coded data.
struct JpegPart {
  unsigned marker;
  std::size_t begin, end;
};
std::vector<JpegPart> jpeg_parts(const std::string& jpeg);
// `jpeg` with its last scan repeated until it has `scans` scans.
std::string jpeg_with_scans(const std::string& jpeg, int scans);

}  // namespace forkpool::testing
