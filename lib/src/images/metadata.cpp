// Metadata through exiv2 0.27: read from any input, adjusted for the output, written to JPEG
// and TIFF outputs (PNG and WebP chunks: metadata_containers.cpp).

#include "forkpool/images/metadata.hpp"

#include <exiv2/exiv2.hpp>
#include <fmt/core.h>

#include <mutex>

#include "metadata_containers.hpp"

namespace forkpool::images {

namespace {

// exiv2's XMP toolkit is not thread-safe unless given a lock, and exiv2 prints its warnings on
// stderr, where they would interleave with forkpool's own lines: both set up once per process.
void xmp_lock(void* mutex, bool lock) {
  if (lock)
    static_cast<std::mutex*>(mutex)->lock();
  else
    static_cast<std::mutex*>(mutex)->unlock();
}

void set_up_exiv2() {
  static const bool ready = [] {
    static std::mutex xmp_mutex;
    Exiv2::LogMsg::setLevel(Exiv2::LogMsg::mute);
    Exiv2::XmpParser::initialize(xmp_lock, &xmp_mutex);
    return true;
  }();
  (void)ready;
}

// Tags of an input's EXIF that describe that file's own pixels or hold what is kept elsewhere:
// meaningless, or wrong, on an output encoded anew.
constexpr const char* kInputOnlyTags[] = {
    "Exif.Image.NewSubfileType", "Exif.Image.SubfileType", "Exif.Image.ImageWidth",
    "Exif.Image.ImageLength", "Exif.Image.BitsPerSample", "Exif.Image.Compression",
    "Exif.Image.PhotometricInterpretation", "Exif.Image.FillOrder", "Exif.Image.StripOffsets",
    "Exif.Image.SamplesPerPixel", "Exif.Image.RowsPerStrip", "Exif.Image.StripByteCounts",
    "Exif.Image.PlanarConfiguration", "Exif.Image.Predictor", "Exif.Image.TileWidth",
    "Exif.Image.TileLength", "Exif.Image.TileOffsets", "Exif.Image.TileByteCounts",
    "Exif.Image.SubIFDs", "Exif.Image.ExtraSamples", "Exif.Image.SampleFormat",
    "Exif.Image.JPEGTables", "Exif.Image.JPEGInterchangeFormat",
    "Exif.Image.JPEGInterchangeFormatLength", "Exif.Image.YCbCrSubSampling",
    "Exif.Image.InterColorProfile", "Exif.Image.XMLPacket", "Exif.Image.IPTCNAA",
    "Exif.Image.ImageResources",
};

std::vector<unsigned char> encode_exif(const Exiv2::ExifData& exif, Exiv2::ByteOrder order) {
  if (exif.empty()) return {};
  Exiv2::Blob blob;
  Exiv2::ExifParser::encode(blob, order == Exiv2::invalidByteOrder ? Exiv2::littleEndian : order, exif);
  return {blob.begin(), blob.end()};
}

Exiv2::ByteOrder decode_exif(Exiv2::ExifData& exif, std::span<const unsigned char> bytes) {
  if (bytes.empty()) return Exiv2::littleEndian;
  return Exiv2::ExifParser::decode(exif, bytes.data(), static_cast<uint32_t>(bytes.size()));
}

template <class Data, class Key>
void set_if_present(Data& data, const Key& key, const Exiv2::Value& value) {
  auto it = data.findKey(key);
  if (it != data.end()) it->setValue(&value);
}

// Runs `work`, turning what exiv2 (or the allocator) throws into an ImageError.
template <class Work>
auto exiv2_call(const char* doing, Work&& work) {
  set_up_exiv2();
  try {
    return work();
  } catch (const ImageError&) {
    throw;
  } catch (const Exiv2::AnyError& e) {
    throw ImageError(fmt::format("cannot {}: {}", doing, e.what()));
  } catch (const std::exception& e) {
    throw ImageError(fmt::format("cannot {}: {}", doing, e.what()));
  }
}

std::vector<unsigned char> write_through_exiv2(std::span<const unsigned char> encoded, ImageFormat format,
                                               const ImageMetadata& metadata) {
  auto image = Exiv2::ImageFactory::open(encoded.data(), static_cast<long>(encoded.size()));
  if (image.get() == nullptr) throw ImageError("exiv2 does not know the encoder's output");
  Exiv2::ExifData exif;
  decode_exif(exif, metadata.exif);
  if (format == ImageFormat::tiff) {
    // The encoder's own tags (size, strips, compression) stay; the input's come on top.
    image->readMetadata();
    for (const auto& datum : exif) image->exifData()[datum.key()] = datum.value();
  } else {
    image->setExifData(exif);
  }
  if (!metadata.xmp.empty()) image->setXmpPacket(metadata.xmp);
  if (!metadata.iptc.empty()) {
    Exiv2::IptcData iptc;
    Exiv2::IptcParser::decode(iptc, metadata.iptc.data(), static_cast<uint32_t>(metadata.iptc.size()));
    image->setIptcData(iptc);
  }
  if (!metadata.icc.empty()) {
    Exiv2::DataBuf icc(metadata.icc.data(), static_cast<long>(metadata.icc.size()));
    image->setIccProfile(icc, /*bTestValid=*/false);
  }
  image->writeMetadata();
  Exiv2::BasicIo& io = image->io();
  io.seek(0, Exiv2::BasicIo::beg);
  const Exiv2::DataBuf written = io.read(static_cast<long>(io.size()));
  if (written.size_ != static_cast<long>(io.size())) throw ImageError("exiv2 lost the written file");
  return {written.pData_, written.pData_ + written.size_};
}

}  // namespace

ImageMetadata read_metadata(std::span<const std::byte> file) {
  return exiv2_call("read its metadata", [&] {
    ImageMetadata m;
    auto image = Exiv2::ImageFactory::open(reinterpret_cast<const Exiv2::byte*>(file.data()),
                                           static_cast<long>(file.size()));
    if (image.get() == nullptr) return m;
    image->readMetadata();
    if (image->iccProfileDefined()) {
      const Exiv2::DataBuf* icc = image->iccProfile();
      m.icc.assign(icc->pData_, icc->pData_ + icc->size_);
    }
    Exiv2::ExifData& exif = image->exifData();
    Exiv2::ExifThumb(exif).erase();
    for (const char* key : kInputOnlyTags) {
      auto it = exif.findKey(Exiv2::ExifKey(key));
      if (it != exif.end()) exif.erase(it);
    }
    m.exif = encode_exif(exif, image->byteOrder());
    if (!image->xmpData().empty() || !image->xmpPacket().empty()) {
      // The packet as parsed, not as found: exiv2 writes back what it parsed.
      std::string packet;
      if (Exiv2::XmpParser::encode(packet, image->xmpData(), Exiv2::XmpParser::omitPacketWrapper) == 0)
        m.xmp = std::move(packet);
    }
    if (!image->iptcData().empty()) {
      const Exiv2::DataBuf iptc = Exiv2::IptcParser::encode(image->iptcData());
      m.iptc.assign(iptc.pData_, iptc.pData_ + iptc.size_);
    }
    return m;
  });
}

ImageMetadata metadata_for_output(const ImageMetadata& input, cv::Size size, bool srgb) {
  return exiv2_call("adjust its metadata", [&] {
    ImageMetadata m = input;
    if (!input.exif.empty()) {
      Exiv2::ExifData exif;
      const auto order = decode_exif(exif, input.exif);
      // The pixels were turned the right way up when they were decoded.
      exif["Exif.Image.Orientation"] = uint16_t{1};
      set_if_present(exif, Exiv2::ExifKey("Exif.Photo.PixelXDimension"), Exiv2::ULongValue(size.width));
      set_if_present(exif, Exiv2::ExifKey("Exif.Photo.PixelYDimension"), Exiv2::ULongValue(size.height));
      if (srgb) {
        exif["Exif.Photo.ColorSpace"] = uint16_t{1};
        set_if_present(exif, Exiv2::ExifKey("Exif.Iop.InteroperabilityIndex"), Exiv2::AsciiValue("R98"));
      }
      m.exif = encode_exif(exif, order);
    }
    if (!input.xmp.empty()) {
      Exiv2::XmpData xmp;
      if (Exiv2::XmpParser::decode(xmp, input.xmp) != 0) throw ImageError("cannot parse its XMP");
      set_if_present(xmp, Exiv2::XmpKey("Xmp.tiff.Orientation"), Exiv2::XmpTextValue("1"));
      set_if_present(xmp, Exiv2::XmpKey("Xmp.exif.PixelXDimension"), Exiv2::XmpTextValue(std::to_string(size.width)));
      set_if_present(xmp, Exiv2::XmpKey("Xmp.exif.PixelYDimension"), Exiv2::XmpTextValue(std::to_string(size.height)));
      set_if_present(xmp, Exiv2::XmpKey("Xmp.tiff.ImageWidth"), Exiv2::XmpTextValue(std::to_string(size.width)));
      set_if_present(xmp, Exiv2::XmpKey("Xmp.tiff.ImageLength"), Exiv2::XmpTextValue(std::to_string(size.height)));
      if (srgb) set_if_present(xmp, Exiv2::XmpKey("Xmp.exif.ColorSpace"), Exiv2::XmpTextValue("1"));
      std::string packet;
      if (Exiv2::XmpParser::encode(packet, xmp, Exiv2::XmpParser::omitPacketWrapper) != 0)
        throw ImageError("cannot write its XMP");
      m.xmp = std::move(packet);
    }
    return m;
  });
}

std::vector<unsigned char> attach_metadata(std::vector<unsigned char> encoded, ImageFormat format,
                                           const ImageMetadata& metadata) {
  if (metadata.empty()) return encoded;
  return exiv2_call("write its metadata", [&]() -> std::vector<unsigned char> {
    switch (format) {
      case ImageFormat::png: return detail::add_png_metadata(encoded, metadata);
      case ImageFormat::webp: return detail::add_webp_metadata(encoded, metadata);
      case ImageFormat::jpeg:
      case ImageFormat::tiff: return write_through_exiv2(encoded, format, metadata);
    }
    return encoded;
  });
}

}  // namespace forkpool::images
