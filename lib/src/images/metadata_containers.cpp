// Metadata chunks in PNG and WebP files that OpenCV's encoders made.

#include "metadata_containers.hpp"

#include <fmt/core.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <string_view>

namespace forkpool::images::detail {

namespace {

using Bytes = std::vector<unsigned char>;

void put_be32(Bytes& out, std::uint32_t v) {
  for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<unsigned char>(v >> shift));
}
void put_le32(Bytes& out, std::uint32_t v) {
  for (int shift : {0, 8, 16, 24}) out.push_back(static_cast<unsigned char>(v >> shift));
}
void put_le24(Bytes& out, std::uint32_t v) {
  for (int shift : {0, 8, 16}) out.push_back(static_cast<unsigned char>(v >> shift));
}
std::uint32_t le32(const unsigned char* p) {
  return p[0] | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[3]} << 24);
}
std::uint32_t le24(const unsigned char* p) { return p[0] | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16); }
void append(Bytes& out, std::string_view text) { out.insert(out.end(), text.begin(), text.end()); }
void append(Bytes& out, std::span<const unsigned char> bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }

// Chunk lengths are 31 bits in PNG and 32 in RIFF; a WebP file is under 4 GiB.
constexpr std::size_t kMaxChunk = 0x7fff'0000u;

void check_size(std::size_t size, std::string_view what) {
  if (size > kMaxChunk) throw ImageError(fmt::format("its {} is too large for the output", what));
}

void put_png_chunk(Bytes& out, std::string_view type, std::span<const unsigned char> data) {
  check_size(data.size(), type);
  put_be32(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t start = out.size();
  append(out, type);
  append(out, data);
  uLong crc = crc32(0, out.data() + start, static_cast<uInt>(out.size() - start));
  put_be32(out, static_cast<std::uint32_t>(crc));
}

Bytes deflate_bytes(std::span<const unsigned char> data) {
  uLongf size = compressBound(static_cast<uLong>(data.size()));
  Bytes out(size);
  if (compress2(out.data(), &size, data.data(), static_cast<uLong>(data.size()), Z_BEST_COMPRESSION) != Z_OK)
    throw ImageError("cannot compress its ICC profile");
  out.resize(size);
  return out;
}

void put_riff_chunk(Bytes& out, std::string_view fourcc, std::span<const unsigned char> data) {
  check_size(data.size(), fourcc);
  append(out, fourcc);
  put_le32(out, static_cast<std::uint32_t>(data.size()));
  append(out, data);
  if (data.size() % 2 == 1) out.push_back(0);
}

std::span<const unsigned char> as_bytes(std::string_view text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

// Canvas size and alpha of a simple (VP8 or VP8L) WebP image chunk.
struct Canvas {
  std::uint32_t width = 0, height = 0;
  bool alpha = false;
};

Canvas canvas_of(std::string_view fourcc, std::span<const unsigned char> data) {
  Canvas c;
  if (fourcc == "VP8L" && data.size() >= 5 && data[0] == 0x2f) {
    const std::uint32_t bits = le32(data.data() + 1);
    c.width = (bits & 0x3fff) + 1;
    c.height = ((bits >> 14) & 0x3fff) + 1;
    c.alpha = (bits >> 28) & 1;
    return c;
  }
  if (fourcc == "VP8 " && data.size() >= 10 && data[3] == 0x9d && data[4] == 0x01 && data[5] == 0x2a) {
    c.width = (data[6] | (data[7] << 8)) & 0x3fff;
    c.height = (data[8] | (data[9] << 8)) & 0x3fff;
    return c;
  }
  throw ImageError("the WebP encoder's output has no image chunk forkpool knows");
}

}  // namespace

Bytes add_png_metadata(std::span<const unsigned char> png, const ImageMetadata& metadata) {
  static constexpr unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  constexpr std::size_t kAfterIhdr = 8 + 8 + 13 + 4;
  if (png.size() < kAfterIhdr || !std::equal(kSignature, kSignature + 8, png.begin()) ||
      std::string_view(reinterpret_cast<const char*>(png.data()) + 12, 4) != "IHDR")
    throw ImageError("the PNG encoder's output does not start with an IHDR");
  Bytes out(png.begin(), png.begin() + kAfterIhdr);
  if (!metadata.icc.empty()) {
    Bytes data;
    append(data, std::string_view("ICC profile\0\0", 13));  // keyword, its end, method 0 (zlib)
    append(data, deflate_bytes(metadata.icc));
    put_png_chunk(out, "iCCP", data);
  }
  if (!metadata.exif.empty()) put_png_chunk(out, "eXIf", metadata.exif);
  if (!metadata.xmp.empty()) {
    Bytes data;
    // keyword, its end, uncompressed, method, no language tag, no translated keyword
    append(data, std::string_view("XML:com.adobe.xmp\0\0\0\0\0", 22));
    append(data, metadata.xmp);
    put_png_chunk(out, "iTXt", data);
  }
  append(out, png.subspan(kAfterIhdr));
  return out;
}

Bytes add_webp_metadata(std::span<const unsigned char> webp, const ImageMetadata& metadata) {
  if (webp.size() < 12 || std::string_view(reinterpret_cast<const char*>(webp.data()), 4) != "RIFF" ||
      std::string_view(reinterpret_cast<const char*>(webp.data()) + 8, 4) != "WEBP")
    throw ImageError("the WebP encoder's output is not a RIFF WebP file");
  // The chunks as they are, minus any VP8X, ICCP, EXIF or XMP: those are written anew.
  Bytes image_chunks;
  Canvas canvas;
  bool extended = false, seen_image = false;
  std::uint8_t flags = 0;
  std::size_t at = 12;
  while (at < webp.size()) {
    if (webp.size() - at < 8) throw ImageError("the WebP encoder's output ends inside a chunk");
    const std::string_view fourcc(reinterpret_cast<const char*>(webp.data()) + at, 4);
    const std::size_t size = le32(webp.data() + at + 4);
    const std::size_t padded = size + size % 2;
    if (padded > webp.size() - at - 8) throw ImageError("the WebP encoder's output ends inside a chunk");
    const auto data = webp.subspan(at + 8, size);
    if (fourcc == "VP8X") {
      if (size < 10) throw ImageError("the WebP encoder's VP8X chunk is short");
      extended = true;
      flags = data[0];
      canvas.width = le24(data.data() + 4) + 1;
      canvas.height = le24(data.data() + 7) + 1;
    } else if (fourcc != "ICCP" && fourcc != "EXIF" && fourcc != "XMP ") {
      if (!extended && !seen_image && (fourcc == "VP8 " || fourcc == "VP8L")) canvas = canvas_of(fourcc, data);
      seen_image = seen_image || fourcc == "VP8 " || fourcc == "VP8L";
      append(image_chunks, webp.subspan(at, 8 + padded));
    }
    at += 8 + padded;
  }
  if (!seen_image || canvas.width == 0 || canvas.height == 0)
    throw ImageError("the WebP encoder's output has no image chunk with a size");
  if (canvas.alpha) flags |= 0x10;
  flags &= ~0x2c;
  if (!metadata.icc.empty()) flags |= 0x20;
  if (!metadata.exif.empty()) flags |= 0x08;
  if (!metadata.xmp.empty()) flags |= 0x04;

  Bytes out{'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P'};  // size filled in below
  Bytes vp8x{flags, 0, 0, 0};
  put_le24(vp8x, canvas.width - 1);
  put_le24(vp8x, canvas.height - 1);
  put_riff_chunk(out, "VP8X", vp8x);
  if (!metadata.icc.empty()) put_riff_chunk(out, "ICCP", metadata.icc);
  append(out, image_chunks);
  if (!metadata.exif.empty()) put_riff_chunk(out, "EXIF", metadata.exif);
  if (!metadata.xmp.empty()) put_riff_chunk(out, "XMP ", as_bytes(metadata.xmp));
  check_size(out.size() - 8, "metadata");
  const auto riff_size = static_cast<std::uint32_t>(out.size() - 8);
  for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<unsigned char>(riff_size >> (8 * i));
  return out;
}

}  // namespace forkpool::images::detail
