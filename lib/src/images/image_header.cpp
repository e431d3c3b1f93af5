// probe_image: what the headers of an image file say, read without decoding: the size and
// orientation, what the decoder will return and allocate, whether the file is whole, and any
// length or count in it that lies. The file is untrusted: every read is bounds-checked, and a
// length read from it is compared with the bytes left before it is added to an offset.
//
// Each walk follows what the decoder OpenCV uses does with the same bytes (libjpeg, libpng,
// libwebp, libtiff), so the probe neither refuses what they decode nor sizes what they would not.

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "forkpool/images/codec.hpp"
#include "saturating.hpp"

namespace forkpool::images {

namespace {

using namespace std::string_view_literals;

constexpr std::size_t npos = static_cast<std::size_t>(-1);

// Big- or little-endian reads over a byte span. A read past the end gives 0 rather than
// undefined behaviour; callers check has() to tell a short file from a zero.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> data, bool big_endian = true)
      : data_(data), big_(big_endian) {}
  [[nodiscard]] bool has(std::size_t offset, std::uint64_t n) const {
    return offset <= data_.size() && n <= data_.size() - offset;
  }
  [[nodiscard]] unsigned u8(std::size_t at) const {
    return at < data_.size() ? std::to_integer<unsigned>(data_[at]) : 0;
  }
  [[nodiscard]] unsigned u16(std::size_t at) const {
    return big_ ? (u8(at) << 8) | u8(at + 1) : u8(at) | (u8(at + 1) << 8);
  }
  [[nodiscard]] std::uint32_t u24(std::size_t at) const {  // WebP's little-endian sizes
    return u8(at) | (u8(at + 1) << 8) | (std::uint32_t{u8(at + 2)} << 16);
  }
  [[nodiscard]] std::uint32_t u32(std::size_t at) const {
    return big_ ? (std::uint32_t{u16(at)} << 16) | u16(at + 2)
                : u16(at) | (std::uint32_t{u16(at + 2)} << 16);
  }
  [[nodiscard]] std::uint64_t u64(std::size_t at) const {
    return big_ ? (std::uint64_t{u32(at)} << 32) | u32(at + 4)
                : u32(at) | (std::uint64_t{u32(at + 4)} << 32);
  }
  [[nodiscard]] bool equals(std::size_t at, std::string_view s) const {
    return has(at, s.size()) && std::memcmp(data_.data() + at, s.data(), s.size()) == 0;
  }
  [[nodiscard]] std::size_t find(std::size_t from, unsigned char byte) const {
    if (from >= data_.size()) return npos;
    const void* p = std::memchr(data_.data() + from, byte, data_.size() - from);
    return p ? static_cast<std::size_t>(static_cast<const std::byte*>(p) - data_.data()) : npos;
  }
  [[nodiscard]] std::size_t size() const { return data_.size(); }
  [[nodiscard]] bool big_endian() const { return big_; }

 private:
  std::span<const std::byte> data_;
  bool big_;
};

cv::Size size_of(std::uint64_t width, std::uint64_t height) {
  // Past int, OpenCV could not hold it anyway; the limits refuse such sizes by their value.
  constexpr std::uint64_t kMax = 0x7FFFFFFF;
  return {static_cast<int>(std::min(width, kMax)), static_cast<int>(std::min(height, kMax))};
}

// ---- TIFF (a TIFF file, or the EXIF block of a JPEG) ----------------------------------------

// One entry of an IFD: where its value bytes lie, already checked to be inside the data.
struct TiffEntry {
  unsigned type = 0;
  std::uint64_t count = 0;
  std::size_t at = 0;      // first value byte
  bool readable = false;   // false: the value lies (partly) outside the file
};

unsigned tiff_type_size(unsigned type) {
  switch (type) {
    case 1: case 2: case 6: case 7: return 1;  // BYTE ASCII SBYTE UNDEFINED
    case 3: case 8: return 2;                  // SHORT SSHORT
    case 4: case 9: case 11: case 13: return 4;  // LONG SLONG FLOAT IFD
    case 5: case 10: case 12: case 16: case 17: case 18: return 8;  // RATIONAL SRATIONAL DOUBLE LONG8 SLONG8 IFD8
    default: return 0;  // libtiff skips entries of unknown type
  }
}

// The tags the probe reads; libtiff keeps the first of duplicated tags, and so does this.
struct TiffIfd {
  enum Tag : unsigned {
    kWidth = 256, kLength = 257, kBitsPerSample = 258, kCompression = 259, kPhotometric = 262,
    kStripOffsets = 273, kOrientation = 274, kSamplesPerPixel = 277, kRowsPerStrip = 278,
    kStripByteCounts = 279, kPlanar = 284, kTileWidth = 322, kTileLength = 323,
    kTileOffsets = 324, kTileByteCounts = 325,
  };
  static constexpr unsigned kTags[] = {kWidth, kLength, kBitsPerSample, kCompression,
                                       kPhotometric, kStripOffsets, kOrientation,
                                       kSamplesPerPixel, kRowsPerStrip, kStripByteCounts,
                                       kPlanar, kTileWidth, kTileLength, kTileOffsets,
                                       kTileByteCounts};
  TiffEntry entries[std::size(kTags)];
  bool seen[std::size(kTags)] = {};

  const TiffEntry* get(unsigned tag) const {
    for (std::size_t i = 0; i < std::size(kTags); ++i)
      if (kTags[i] == tag) return seen[i] ? &entries[i] : nullptr;
    return nullptr;
  }
  void put(unsigned tag, const TiffEntry& e) {
    for (std::size_t i = 0; i < std::size(kTags); ++i)
      if (kTags[i] == tag && !seen[i]) {
        entries[i] = e;
        seen[i] = true;
      }
  }
};

// Value `index` of an integer entry, the way libtiff reads it: any of the integer types
// (BYTE, SHORT, LONG, IFD, LONG8, IFD8 and the signed SBYTE, SSHORT, SLONG, SLONG8); a
// negative value is out of range (libtiff refuses it). nullopt when not an integer or unreadable.
std::optional<std::uint64_t> tiff_uint(const Reader& r, const TiffEntry& e, std::uint64_t index = 0) {
  if (!e.readable || index >= e.count) return std::nullopt;
  const std::size_t at = e.at + static_cast<std::size_t>(index) * tiff_type_size(e.type);
  auto non_negative = [](std::int64_t v) -> std::optional<std::uint64_t> {
    if (v < 0) return std::nullopt;
    return static_cast<std::uint64_t>(v);
  };
  switch (e.type) {
    case 1: return r.u8(at);
    case 3: return r.u16(at);
    case 4: case 13: return r.u32(at);
    case 16: case 18: return r.u64(at);
    case 6: return non_negative(static_cast<std::int8_t>(r.u8(at)));
    case 8: return non_negative(static_cast<std::int16_t>(r.u16(at)));
    case 9: return non_negative(static_cast<std::int32_t>(r.u32(at)));
    case 17: return non_negative(static_cast<std::int64_t>(r.u64(at)));
    default: return std::nullopt;
  }
}

// A single-valued integer tag (libtiff insists on count 1 for these).
std::optional<std::uint64_t> tiff_single(const Reader& r, const TiffIfd& ifd, unsigned tag) {
  const TiffEntry* e = ifd.get(tag);
  if (!e || e->count != 1) return std::nullopt;
  return tiff_uint(r, *e);
}

struct TiffRead {
  std::optional<TiffIfd> ifd;
  std::string defect;
  bool truncated = false;
};

// libtiff refuses a first directory with more entries than this ("Sanity check on directory
// count failed").
constexpr unsigned kMaxTiffEntries = 4096;

TiffRead read_tiff_ifd0(std::span<const std::byte> tiff) {
  TiffRead out;
  Reader order(tiff);
  bool big;
  if (order.equals(0, "MM\0*"sv)) big = true;
  else if (order.equals(0, "II*\0"sv)) big = false;
  else return out;
  Reader r(tiff, big);
  if (!r.has(4, 4)) {
    out.truncated = true;
    return out;
  }
  const std::size_t ifd = r.u32(4);
  if (!r.has(ifd, 2)) {
    out.truncated = true;
    return out;
  }
  const unsigned count = r.u16(ifd);
  if (count > kMaxTiffEntries) {
    out.defect = fmt::format("corrupt TIFF: the first directory claims {} entries (libtiff reads "
                             "at most {})", count, kMaxTiffEntries);
    return out;
  }
  if (!r.has(ifd + 2, std::uint64_t{12} * count)) {
    out.truncated = true;  // libtiff cannot read a directory cut short
    return out;
  }
  TiffIfd tags;
  for (unsigned i = 0; i < count; ++i) {
    const std::size_t entry = ifd + 2 + 12 * std::size_t{i};
    TiffEntry e;
    e.type = r.u16(entry + 2);
    e.count = r.u32(entry + 4);
    const unsigned size = tiff_type_size(e.type);
    if (size == 0) continue;
    const std::uint64_t bytes = e.count * size;
    e.at = bytes <= 4 ? entry + 8 : r.u32(entry + 8);
    e.readable = r.has(e.at, bytes);
    tags.put(r.u16(entry), e);
  }
  out.ifd = tags;
  return out;
}

// The orientation tag of the first IFD, 1 when absent or out of range (libtiff and OpenCV's
// EXIF reader both ignore a value outside 1..8).
int tiff_orientation(const Reader& r, const TiffIfd& ifd) {
  auto v = tiff_single(r, ifd, TiffIfd::kOrientation);
  return v && *v >= 1 && *v <= 8 ? static_cast<int>(*v) : 1;
}

ImageHeader probe_tiff(std::span<const std::byte> data) {
  ImageHeader h;
  h.format = ImageFormat::tiff;
  TiffRead read = read_tiff_ifd0(data);
  h.defect = std::move(read.defect);
  h.complete = !read.truncated;
  if (!read.ifd) return h;
  const TiffIfd& ifd = *read.ifd;
  const Reader r(data, Reader(data).equals(0, "MM"sv));
  h.orientation = tiff_orientation(r, ifd);
  auto width = tiff_single(r, ifd, TiffIfd::kWidth);
  auto length = tiff_single(r, ifd, TiffIfd::kLength);
  if (width && length) h.size = size_of(*width, *length);

  const std::uint64_t samples = tiff_single(r, ifd, TiffIfd::kSamplesPerPixel).value_or(1);
  std::uint64_t bits = 1;
  if (const TiffEntry* e = ifd.get(TiffIfd::kBitsPerSample)) bits = tiff_uint(r, *e).value_or(1);
  const std::uint64_t photometric = tiff_single(r, ifd, TiffIfd::kPhotometric).value_or(1);
  // OpenCV 4.6 returns grey for min-is-white/black, BGR for a palette, otherwise as many
  // channels as samples (3 or 4).
  h.channels = photometric <= 1 ? 1 : photometric == 3 ? 3 : samples >= 4 ? 4 : 3;
  h.bits = bits <= 8 ? 8 : bits <= 16 ? 16 : bits <= 32 ? 32 : 64;

  // OpenCV reads a tile, or a strip of RowsPerStrip rows, into a buffer of its own (4 bytes per
  // pixel for the 8-bit RGBA path, else samples x bytes per sample).
  if (!h.size.empty()) {
    const auto w = static_cast<std::uint64_t>(h.size.width);
    const auto ht = static_cast<std::uint64_t>(h.size.height);
    std::uint64_t tile_w = w, tile_h = ht;
    auto tw = tiff_single(r, ifd, TiffIfd::kTileWidth);
    auto tl = tiff_single(r, ifd, TiffIfd::kTileLength);
    if (tw && tl) {
      tile_w = *tw;
      tile_h = *tl;
    } else if (auto rows = tiff_single(r, ifd, TiffIfd::kRowsPerStrip)) {
      tile_h = std::min(*rows, ht);
    }
    const std::uint64_t bytes_per_pixel =
        std::max<std::uint64_t>(std::min<std::uint64_t>(samples, 64), 4) * (h.bits / 8);
    h.working_bytes = saturating_product({tile_w, tile_h, bytes_per_pixel});
  }

  // Every strip (or tile) must lie inside the file: one that runs past the end is a file cut
  // short, which libtiff decodes only up to the cut.
  const bool tiled = ifd.get(TiffIfd::kTileOffsets) != nullptr;
  const TiffEntry* offsets = ifd.get(tiled ? TiffIfd::kTileOffsets : TiffIfd::kStripOffsets);
  const TiffEntry* counts = ifd.get(tiled ? TiffIfd::kTileByteCounts : TiffIfd::kStripByteCounts);
  if (offsets && counts && offsets->readable && counts->readable) {
    const std::uint64_t n = std::min(offsets->count, counts->count);
    for (std::uint64_t i = 0; i < n; ++i) {
      auto at = tiff_uint(r, *offsets, i);
      auto bytes = tiff_uint(r, *counts, i);
      if (at && bytes && *bytes > 0 && !r.has(static_cast<std::size_t>(std::min<std::uint64_t>(*at, npos)), *bytes)) {
        h.complete = false;
        break;
      }
    }
  }
  return h;
}

// ---- JPEG ---------------------------------------------------------------------------------

// Where the next marker code is, the way libjpeg's next_marker() finds it: bytes that are not
// 0xFF are skipped ("extraneous bytes before marker", a warning), so are 0xFF fill bytes and
// FF 00 pairs. npos at the end of the data.
std::size_t next_marker(const Reader& r, std::size_t pos) {
  while (true) {
    pos = r.find(pos, 0xFF);
    if (pos == npos) return npos;
    while (pos < r.size() && r.u8(pos) == 0xFF) ++pos;
    if (pos >= r.size()) return npos;
    if (r.u8(pos) != 0x00) return pos;
    ++pos;
  }
}

// The end of entropy-coded data that starts at `pos`: the first FF that is not a stuffed
// FF 00 and not a restart marker FF D0..D7 (fill bytes FF FF.. may come before either).
std::size_t end_of_scan(const Reader& r, std::size_t pos) {
  while (true) {
    const std::size_t ff = r.find(pos, 0xFF);
    if (ff == npos) return r.size();
    std::size_t q = ff + 1;
    while (q < r.size() && r.u8(q) == 0xFF) ++q;
    if (q >= r.size()) return r.size();
    const unsigned b = r.u8(q);
    if (b != 0x00 && (b < 0xD0 || b > 0xD7)) return ff;
    pos = q + 1;
  }
}

bool is_sof(unsigned marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

ImageHeader probe_jpeg(std::span<const std::byte> data) {
  const Reader r(data);
  ImageHeader h;
  h.format = ImageFormat::jpeg;
  h.complete = false;
  bool have_sof = false, have_exif = false;
  std::uint64_t coefficient_blocks = 0, coded_bytes = 0;
  bool huffman = true;
  std::size_t pos = 2;
  auto refuse = [&](std::string why) {
    h.defect = "corrupt JPEG: " + std::move(why);
    return h;
  };
  while (true) {
    const std::size_t at = next_marker(r, pos);
    if (at == npos) break;  // no end-of-image marker: cut short
    const unsigned marker = r.u8(at);
    pos = at + 1;
    if (marker == 0xD9) {  // EOI; anything after it is ignored, as libjpeg does
      h.complete = true;
      break;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // TEM, RSTn: no length
    if (marker == 0xD8) return refuse("a second start-of-image marker");
    if (!r.has(pos, 2)) break;
    const std::size_t length = r.u16(pos);
    if (length < 2)
      return refuse(fmt::format("segment FF{:02X} is {} bytes long, less than its own length field",
                                marker, length));
    if (!r.has(pos, length)) break;  // the segment runs past the end of the file
    const auto body = data.subspan(pos + 2, length - 2);
    const Reader b(body);
    if (is_sof(marker)) {
      if (have_sof) return refuse("two frame headers (SOF markers)");
      have_sof = true;
      const unsigned components = b.u8(5);
      if (!b.has(0, 6 + 3 * std::size_t{components}) || components == 0)
        return refuse("the frame header is shorter than its components");
      const std::uint64_t width = b.u16(3), height = b.u16(1);
      h.size = size_of(width, height);
      h.channels = components == 1 ? 1 : 3;
      h.progressive = marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE;
      huffman = marker < 0xC9;
      unsigned hmax = 1, vmax = 1;
      for (unsigned c = 0; c < components; ++c) {
        hmax = std::max(hmax, b.u8(7 + 3 * c) >> 4);
        vmax = std::max(vmax, b.u8(7 + 3 * c) & 15);
      }
      // libjpeg's whole-image coefficient buffer: a block of 64 16-bit values per 8x8 block of
      // each component, at that component's sampling.
      for (unsigned c = 0; c < components; ++c) {
        const std::uint64_t hs = std::max(1u, b.u8(7 + 3 * c) >> 4);
        const std::uint64_t vs = std::max(1u, b.u8(7 + 3 * c) & 15);
        const std::uint64_t cw = (width * hs + hmax - 1) / hmax, ch = (height * vs + vmax - 1) / vmax;
        coefficient_blocks += ((cw + 7) / 8) * ((ch + 7) / 8);
      }
    } else if (marker == 0xE1 && !have_exif && b.equals(0, "Exif\0\0"sv)) {
      have_exif = true;
      const auto tiff = body.subspan(6);
      if (auto read = read_tiff_ifd0(tiff); read.ifd)
        h.orientation = tiff_orientation(Reader(tiff, Reader(tiff).equals(0, "MM"sv)), *read.ifd);
    } else if (marker == 0xDA) {
      if (!have_sof) return refuse("a scan before the frame header");
      if (++h.scans > kMaxJpegScans) {
        h.defect = fmt::format("JPEG of more than {} scans refused (each scan makes libjpeg go "
                               "over the whole image again)", kMaxJpegScans);
        return h;
      }
      const std::size_t end = end_of_scan(r, pos + length);
      coded_bytes += end - std::min(end, pos + length);
      pos = end;
      continue;
    }
    pos += length;
  }
  if (h.complete && h.scans == 0) return refuse("no image data (no scan)");
  // Huffman coding spends at least one bit on the DC value of every block, so fewer coded bytes
  // than blocks / 8 cannot hold the image: libjpeg would make up the rest (grey), after a walk
  // over every block of a size the header may have made up too.
  if (h.complete && huffman && coded_bytes < coefficient_blocks / 8) {
    h.defect = fmt::format("truncated or corrupt JPEG: {}x{} needs at least {} bytes of coded data, "
                           "the file has {}", h.size.width, h.size.height, coefficient_blocks / 8,
                           coded_bytes);
    return h;
  }
  // A progressive or multi-scan JPEG is decoded into a buffer of every coefficient first.
  if (h.progressive || h.scans > 1) h.working_bytes = coefficient_blocks * 64 * 2;
  return h;
}

// ---- PNG ----------------------------------------------------------------------------------

ImageHeader probe_png(std::span<const std::byte> data) {
  const Reader r(data);
  ImageHeader h;
  h.format = ImageFormat::png;
  h.complete = false;
  if (!r.equals(12, "IHDR"sv) || r.u32(8) != 13) {
    if (r.has(8, 25)) h.defect = "corrupt PNG: the first chunk is not a 13-byte IHDR";
    return h;
  }
  if (!r.has(8, 25)) return h;
  const std::uint32_t width = r.u32(16), height = r.u32(20);
  const unsigned depth = r.u8(24), colour = r.u8(25);
  h.size = size_of(width, height);
  h.bits = depth == 16 ? 16 : 8;
  bool transparency = false, seen_idat = false;
  // Every chunk must end inside the file: libpng allocates what a chunk claims before it finds
  // out that the file is shorter (a 56-byte file claiming 2 GB cost 2 GB and 10 s).
  std::size_t pos = 8;
  while (r.has(pos, 8)) {
    const std::uint64_t length = r.u32(pos);
    const auto type = std::string_view(reinterpret_cast<const char*>(data.data() + pos + 4), 4);
    auto printable = [&] {
      std::string s(type);
      for (char& c : s)
        if (c < 0x20 || c > 0x7E) c = '?';
      return s;
    };
    if (length > 0x7FFFFFFF) {
      h.defect = fmt::format("corrupt PNG: chunk '{}' claims {} bytes (at most 2^31-1)", printable(), length);
      return h;
    }
    if (!r.has(pos + 8, length + 4)) {
      // A download cut short ends inside its last chunk; a lie about a length claims bytes the
      // file never had. Either way the walk stops here, before libpng allocates the claim.
      h.defect = fmt::format("truncated or corrupt PNG: chunk '{}' claims {} bytes, {} more than "
                             "the file has", printable(), length, length + 4 - (r.size() - pos - 8));
      return h;
    }
    if (type == "IEND"sv) {
      h.complete = true;
      break;
    }
    if (type == "IDAT"sv) seen_idat = true;
    // libpng honours tRNS only before the image data.
    if (type == "tRNS"sv && !seen_idat) {
      transparency = true;
      // OpenCV widens 1, 2 and 4-bit grey to 8 bits (x255, x85, x17): the value follows.
      if (colour == 0 && length == 2 && (depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16))
        h.transparent_grey = static_cast<int>(r.u16(pos + 8)) * (depth < 8 ? 255 / ((1 << depth) - 1) : 1);
    }
    pos += 12 + static_cast<std::size_t>(length);
  }
  // What OpenCV 4.6 returns: grey stays grey (grey + alpha becomes BGRA), colour is BGR, and
  // BGRA when it has alpha or (colour or palette) a tRNS chunk.
  switch (colour) {
    case 0: h.channels = 1; break;
    case 4: case 6: h.channels = 4; break;
    case 2: case 3: h.channels = transparency ? 4 : 3; break;
    default: h.channels = 0; break;
  }
  return h;
}

// ---- WebP ---------------------------------------------------------------------------------

ImageHeader probe_webp(std::span<const std::byte> data) {
  const Reader r(data, /*big_endian=*/false);
  ImageHeader h;
  h.format = ImageFormat::webp;
  // RIFF says how long the file is; fewer bytes than that is a truncated file.
  const std::uint64_t riff_end = std::uint64_t{r.u32(4)} + 8;
  h.complete = riff_end <= r.size();
  const std::size_t end = static_cast<std::size_t>(std::min<std::uint64_t>(riff_end, r.size()));
  bool alpha = false, lossless = false, first = true;
  cv::Size canvas, frame;
  std::size_t pos = 12;
  while (pos + 8 <= end) {
    const std::uint64_t length = r.u32(pos + 4);
    const std::size_t body = pos + 8;
    if (length > end - body) {
      if (riff_end <= r.size())
        h.defect = fmt::format("corrupt WebP: a chunk claims {} bytes, past the end of its RIFF "
                               "container ({} bytes left)", length, end - body);
      h.complete = false;
      break;
    }
    if (r.equals(pos, "VP8X"sv) && first && length >= 10) {
      const unsigned flags = r.u8(body);
      if (flags & 0x02) {
        h.defect = "animated WebP is not supported";
        return h;
      }
      alpha = alpha || (flags & 0x10) != 0;
      canvas = size_of(std::uint64_t{r.u24(body + 4)} + 1, std::uint64_t{r.u24(body + 7)} + 1);
    } else if (r.equals(pos, "VP8 "sv) && length >= 10) {
      // A key frame: 3-byte frame tag, start code 9D 01 2A, then 14-bit width and height.
      if ((r.u8(body) & 1) == 0 && r.u8(body + 3) == 0x9D && r.u8(body + 4) == 0x01 &&
          r.u8(body + 5) == 0x2A)
        frame = size_of(r.u16(body + 6) & 0x3FFF, r.u16(body + 8) & 0x3FFF);
      break;
    } else if (r.equals(pos, "VP8L"sv) && length >= 5) {
      if (r.u8(body) == 0x2F) {
        const std::uint32_t bits = r.u32(body + 1);
        frame = size_of((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
        alpha = alpha || (bits >> 28 & 1) != 0;
        lossless = true;
      }
      break;
    }
    first = false;
    pos = body + static_cast<std::size_t>(length + (length & 1));
  }
  if (!canvas.empty() && !frame.empty() && canvas != frame) {
    // libwebp refuses a frame whose size is not the canvas's.
    h.defect = fmt::format("corrupt WebP: a {}x{} image on a {}x{} canvas", frame.width,
                           frame.height, canvas.width, canvas.height);
    return h;
  }
  h.size = canvas.empty() ? frame : canvas;
  h.channels = alpha ? 4 : 3;
  // Lossless WebP is decoded into an ARGB buffer of the whole image first; a lossy image with
  // alpha keeps a plane of it.
  const auto pixels = static_cast<std::uint64_t>(h.size.width) * static_cast<std::uint64_t>(h.size.height);
  h.working_bytes = lossless ? pixels * 4 : alpha ? pixels : 0;
  return h;
}

}  // namespace

cv::Size ImageHeader::oriented_size() const noexcept {
  return orientation >= 5 ? cv::Size(size.height, size.width) : size;
}

std::optional<ImageHeader> probe_image(std::span<const std::byte> data) {
  const Reader r(data);
  if (r.has(0, 3) && r.u8(0) == 0xFF && r.u8(1) == 0xD8 && r.u8(2) == 0xFF) return probe_jpeg(data);
  if (r.equals(0, "\x89PNG\r\n\x1a\n"sv)) return probe_png(data);
  if (r.equals(0, "RIFF"sv) && r.equals(8, "WEBP"sv)) return probe_webp(data);
  if (r.equals(0, "II*\0"sv) || r.equals(0, "MM\0*"sv)) return probe_tiff(data);
  return std::nullopt;
}

std::optional<std::string_view> other_image_format(std::span<const std::byte> data) {
  const Reader r(data);
  if (r.equals(0, "BM"sv)) return "BMP";
  if (r.equals(0, "GIF87a"sv) || r.equals(0, "GIF89a"sv)) return "GIF";
  if (r.equals(0, "II+\0"sv) || r.equals(0, "MM\0+"sv)) return "BigTIFF";
  if (r.has(0, 3) && r.u8(0) == 'P' && r.u8(1) >= '1' && r.u8(1) <= '7' && std::isspace(static_cast<int>(r.u8(2))))
    return r.u8(1) == '7' ? "PAM" : "PNM";
  if (r.equals(0, "PF"sv) || r.equals(0, "Pf"sv)) return "PFM";
  if (r.equals(0, "\x59\xA6\x6A\x95"sv)) return "Sun raster";
  if (r.equals(0, "#?RADIANCE"sv) || r.equals(0, "#?RGBE"sv)) return "Radiance HDR";
  if (r.equals(0, "\0\0\0\x0CjP  \r\n\x87\n"sv) || r.equals(0, "\xFF\x4F\xFF\x51"sv))
    return "JPEG 2000";
  if (r.equals(0, "\0\0\0\x0CJXL \r\n\x87\n"sv) || r.equals(0, "\xFF\x0A"sv)) return "JPEG XL";
  if (r.equals(0, "\x76\x2F\x31\x01"sv)) return "OpenEXR";
  if (r.equals(128, "DICM"sv)) return "DICOM";
  if (r.equals(4, "ftypavif"sv) || r.equals(4, "ftypavis"sv)) return "AVIF";
  if (r.equals(4, "ftyphei"sv) || r.equals(4, "ftypmif1"sv)) return "HEIF";
  if (r.equals(0, "8BPS"sv)) return "Photoshop";
  return std::nullopt;
}

}  // namespace forkpool::images
