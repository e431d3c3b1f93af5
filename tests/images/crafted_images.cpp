#include "crafted_images.hpp"

#include <zlib.h>

#include <opencv2/imgproc.hpp>

#include <stdexcept>

namespace forkpool::testing {

namespace {

void put(std::string& out, std::uint64_t value, unsigned bytes, bool big_endian) {
  for (unsigned i = 0; i < bytes; ++i) {
    unsigned shift = 8 * (big_endian ? bytes - 1 - i : i);
    out.push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

unsigned type_size(unsigned type) {
  switch (type) {
    case 1: case 6: return 1;
    case 3: case 8: return 2;
    case 4: case 9: return 4;
    default: return 8;
  }
}

}  // namespace

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string tiff_bytes(const cv::Mat& image, const TiffOptions& o) {
  CV_Assert(image.depth() == CV_8U && (image.channels() == 1 || image.channels() == 3));
  cv::Mat rgb;  // a new buffer: cvtColor into one shared with `image` would change it
  if (image.channels() == 3) cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
  else rgb = image;
  std::string pixels;
  for (int y = 0; y < rgb.rows; ++y)
    pixels.append(rgb.ptr<char>(y), rgb.cols * rgb.elemSize());

  struct Entry {
    unsigned tag, type;
    std::uint32_t count;
    std::vector<std::uint64_t> values;
  };
  const std::uint64_t spp = static_cast<std::uint64_t>(image.channels());
  auto size_value = [&](std::int64_t override_value, int actual) {
    std::int64_t v = override_value == -1 ? actual : override_value;
    return static_cast<std::uint64_t>(v);  // two's complement for the signed types
  };
  const std::uint64_t strip_offset = 8;
  std::vector<Entry> entries = {
      {256, o.size_type, 1, {size_value(o.width, image.cols)}},
      {257, o.size_type, 1, {size_value(o.height, image.rows)}},
      {258, 3, static_cast<std::uint32_t>(spp), std::vector<std::uint64_t>(spp, 8)},
      {259, 3, 1, {1}},
      {262, 3, 1, {spp == 3 ? 2u : 1u}},
      {273, 4, 1, {strip_offset}},
      {277, 3, 1, {spp}},
      {278, 4, 1, {static_cast<std::uint64_t>(image.rows)}},
      {279, 4, 1, {o.strip_bytes >= 0 ? static_cast<std::uint64_t>(o.strip_bytes) : pixels.size()}},
  };
  if (o.orientation != 0)
    entries.insert(entries.begin() + 6, Entry{274, 3, 1, {static_cast<std::uint64_t>(o.orientation)}});

  const bool be = o.big_endian;
  std::string out = be ? std::string("MM\0*", 4) : std::string("II*\0", 4);
  const std::uint64_t ifd = strip_offset + pixels.size() + (pixels.size() & 1);
  put(out, ifd, 4, be);
  out += pixels;
  if (pixels.size() & 1) out.push_back('\0');
  std::string extra;  // values longer than 4 bytes, after the IFD
  const std::uint64_t extra_at = ifd + 2 + 12 * entries.size() + 4;
  put(out, entries.size(), 2, be);
  for (const Entry& e : entries) {
    put(out, e.tag, 2, be);
    put(out, e.type, 2, be);
    put(out, e.count, 4, be);
    std::string value;
    for (std::uint64_t v : e.values) put(value, v, type_size(e.type), be);
    if (value.size() <= 4) {
      value.resize(4, '\0');
      out += value;
    } else {
      put(out, extra_at + extra.size(), 4, be);
      extra += value;
    }
  }
  put(out, 0, 4, be);  // no next IFD
  return out + extra;
}

std::string png_chunk(const std::string& type, const std::string& data, std::int64_t claimed_length) {
  std::string out;
  put(out, claimed_length >= 0 ? static_cast<std::uint64_t>(claimed_length) : data.size(), 4, true);
  const std::string body = type + data;
  out += body;
  const auto crc = crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  put(out, crc, 4, true);
  return out;
}

std::string png_insert_after_ihdr(const std::string& png, const std::string& chunk) {
  constexpr std::size_t kAfterIhdr = 8 + 25;
  if (png.size() < kAfterIhdr || png.compare(12, 4, "IHDR") != 0) throw std::runtime_error("not a PNG");
  return png.substr(0, kAfterIhdr) + chunk + png.substr(kAfterIhdr);
}

std::vector<JpegPart> jpeg_parts(const std::string& jpeg) {
  auto u8 = [&](std::size_t at) { return static_cast<unsigned char>(jpeg.at(at)); };
  std::vector<JpegPart> parts{{0xD8, 0, 2}};
  std::size_t pos = 2;
  while (pos + 1 < jpeg.size()) {
    if (u8(pos) != 0xFF) throw std::runtime_error("jpeg_parts: lost sync");
    const unsigned marker = u8(pos + 1);
    if (marker == 0xD9) {
      parts.push_back({marker, pos, pos + 2});
      break;
    }
    std::size_t end = pos + 2 + (u8(pos + 2) << 8 | u8(pos + 3));
    if (marker == 0xDA) {  // the coded data runs to the next marker that is not RSTn
      while (end + 1 < jpeg.size() &&
             !(u8(end) == 0xFF && u8(end + 1) != 0 && (u8(end + 1) < 0xD0 || u8(end + 1) > 0xD7)))
        ++end;
    }
    parts.push_back({marker, pos, end});
    pos = end;
  }
  return parts;
}

std::string jpeg_with_scans(const std::string& jpeg, int scans) {
  const auto parts = jpeg_parts(jpeg);
  int have = 0;
  const JpegPart* last = nullptr;
  for (const JpegPart& p : parts)
    if (p.marker == 0xDA) {
      ++have;
      last = &p;
    }
  if (last == nullptr) throw std::runtime_error("jpeg_with_scans: no scan");
  const std::string scan = jpeg.substr(last->begin, last->end - last->begin);
  std::string out = jpeg.substr(0, last->end);
  for (int i = have; i < scans; ++i) out += scan;
  return out + jpeg.substr(last->end);
}

}  // namespace forkpool::testing
