// probe_image: the few header fields forkpool needs, read without decoding: the size (for the
// pixel limit and reduced-size JPEG decoding), the orientation, and whether the file is whole.

#include <algorithm>
#include <cstring>

#include "forkpool/images/codec.hpp"

namespace forkpool::images {

namespace {

using namespace std::string_view_literals;

// Bounds-checked big- or little-endian reads over a byte span.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> data, bool big_endian = true)
      : data_(data), big_(big_endian) {}
  [[nodiscard]] bool has(std::size_t offset, std::size_t n) const {
    return offset <= data_.size() && n <= data_.size() - offset;
  }
  [[nodiscard]] unsigned u8(std::size_t at) const { return std::to_integer<unsigned>(data_[at]); }
  [[nodiscard]] unsigned u16(std::size_t at) const {
    return big_ ? (u8(at) << 8) | u8(at + 1) : u8(at) | (u8(at + 1) << 8);
  }
  [[nodiscard]] std::uint32_t u32(std::size_t at) const {
    return big_ ? (std::uint32_t{u16(at)} << 16) | u16(at + 2)
                : u16(at) | (std::uint32_t{u16(at + 2)} << 16);
  }
  [[nodiscard]] bool equals(std::size_t at, std::string_view s) const {
    return has(at, s.size()) && std::memcmp(data_.data() + at, s.data(), s.size()) == 0;
  }
  [[nodiscard]] std::size_t size() const { return data_.size(); }

 private:
  std::span<const std::byte> data_;
  bool big_;
};

// Tags of the first IFD of a TIFF structure (a TIFF file, or the EXIF block of a JPEG).
struct TiffTags {
  unsigned width = 0, height = 0, orientation = 1;
};

std::optional<TiffTags> read_tiff_ifd0(std::span<const std::byte> tiff) {
  Reader order(tiff);
  bool big;
  if (order.equals(0, "MM\0*"sv)) big = true;
  else if (order.equals(0, "II*\0"sv)) big = false;
  else return std::nullopt;
  Reader r(tiff, big);
  if (!r.has(4, 4)) return std::nullopt;
  std::size_t ifd = r.u32(4);
  if (!r.has(ifd, 2)) return std::nullopt;
  unsigned count = r.u16(ifd);
  TiffTags tags;
  for (unsigned i = 0; i < count; ++i) {
    std::size_t entry = ifd + 2 + 12 * std::size_t{i};
    if (!r.has(entry, 12)) break;
    unsigned tag = r.u16(entry), type = r.u16(entry + 2);
    // SHORT values sit in the first two bytes of the value field, LONG in all four.
    unsigned value = type == 3 ? r.u16(entry + 8) : type == 4 ? r.u32(entry + 8) : 0;
    if (tag == 256) tags.width = value;
    else if (tag == 257) tags.height = value;
    else if (tag == 274 && value >= 1 && value <= 8) tags.orientation = value;
  }
  return tags;
}

ImageHeader probe_jpeg(std::span<const std::byte> data) {
  Reader r(data);
  ImageHeader h;
  h.format = ImageFormat::jpeg;
  h.complete = false;
  std::size_t pos = 2, scan = 0;
  while (r.has(pos, 4)) {
    if (r.u8(pos) != 0xFF) return h;  // lost sync: corrupt, let the decoder say so
    unsigned marker = r.u8(pos + 1);
    if (marker == 0xFF) {             // fill byte
      ++pos;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
      pos += 2;
      continue;
    }
    std::size_t length = r.u16(pos + 2);
    bool is_sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
                  marker != 0xCC;
    if (is_sof && r.has(pos + 4, 6)) {
      h.size = cv::Size(static_cast<int>(r.u16(pos + 7)), static_cast<int>(r.u16(pos + 5)));
      h.channels = static_cast<int>(r.u8(pos + 9));
    } else if (marker == 0xE1 && r.equals(pos + 4, "Exif\0\0"sv) &&
               r.has(pos + 10, length > 8 ? length - 8 : 0)) {
      if (auto tags = read_tiff_ifd0(data.subspan(pos + 10, length - 8)))
        h.orientation = static_cast<int>(tags->orientation);
    } else if (marker == 0xDA) {
      scan = pos + 2 + length;
      break;
    }
    pos += 2 + length;
  }
  if (scan == 0 || scan > data.size()) return h;
  // The entropy-coded data never holds FF D9 (an FF there is followed by 00 or a restart
  // marker), so an FF D9 after the first scan is the end-of-image marker.
  for (std::size_t i = data.size() - 1; i > scan; --i) {
    if (r.u8(i) == 0xD9 && r.u8(i - 1) == 0xFF) {
      h.complete = true;
      break;
    }
  }
  return h;
}

ImageHeader probe_png(std::span<const std::byte> data) {
  Reader r(data);
  ImageHeader h;
  h.format = ImageFormat::png;
  if (r.equals(12, "IHDR"sv) && r.has(16, 8))
    h.size = cv::Size(static_cast<int>(r.u32(16)), static_cast<int>(r.u32(20)));
  // The IEND chunk closes every PNG; a writer may pad a little after it.
  std::size_t tail = std::min<std::size_t>(data.size(), 64);
  std::string_view end(reinterpret_cast<const char*>(data.data() + data.size() - tail), tail);
  h.complete = end.find("IEND") != std::string_view::npos;
  return h;
}

ImageHeader probe_webp(std::span<const std::byte> data) {
  Reader r(data, /*big_endian=*/false);
  ImageHeader h;
  h.format = ImageFormat::webp;
  auto u24 = [&](std::size_t at) { return r.u16(at) | (r.u8(at + 2) << 16); };
  if (r.equals(12, "VP8 "sv) && r.has(26, 4)) {
    h.size = cv::Size(static_cast<int>(r.u16(26) & 0x3FFF), static_cast<int>(r.u16(28) & 0x3FFF));
  } else if (r.equals(12, "VP8L"sv) && r.has(21, 4)) {
    std::uint32_t bits = r.u32(21);
    h.size = cv::Size(static_cast<int>((bits & 0x3FFF) + 1), static_cast<int>(((bits >> 14) & 0x3FFF) + 1));
  } else if (r.equals(12, "VP8X"sv) && r.has(24, 6)) {
    h.size = cv::Size(static_cast<int>(u24(24) + 1), static_cast<int>(u24(27) + 1));
  }
  // RIFF says how long the file is; fewer bytes than that is a truncated file.
  h.complete = r.has(0, 8) && r.u32(4) + std::size_t{8} <= data.size();
  return h;
}

}  // namespace

cv::Size ImageHeader::oriented_size() const noexcept {
  return orientation >= 5 ? cv::Size(size.height, size.width) : size;
}

std::optional<ImageHeader> probe_image(std::span<const std::byte> data) {
  Reader r(data);
  if (r.has(0, 3) && r.u8(0) == 0xFF && r.u8(1) == 0xD8 && r.u8(2) == 0xFF) return probe_jpeg(data);
  if (r.equals(0, "\x89PNG\r\n\x1a\n"sv)) return probe_png(data);
  if (r.equals(0, "RIFF"sv) && r.equals(8, "WEBP"sv)) return probe_webp(data);
  if (r.equals(0, "II*\0"sv) || r.equals(0, "MM\0*"sv)) {
    ImageHeader h;
    h.format = ImageFormat::tiff;
    if (auto tags = read_tiff_ifd0(data)) {
      h.size = cv::Size(static_cast<int>(tags->width), static_cast<int>(tags->height));
      h.orientation = static_cast<int>(tags->orientation);
    }
    return h;
  }
  return std::nullopt;
}

}  // namespace forkpool::images
