// The metadata layer on its own: reading a file's ICC profile, EXIF, XMP and IPTC, making
// them true of an output, and putting them on each encoder's bytes.

#include <exiv2/exiv2.hpp>
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "common/leak_check.hpp"
#include "crafted_images.hpp"
#include "forkpool/images/codec.hpp"
#include "forkpool/images/colour.hpp"
#include "forkpool/images/metadata.hpp"
#include "image_test_support.hpp"

namespace forkpool::images {
namespace {

using namespace forkpool::testing;
using MetadataTest = LeakCheckedTest;

const std::filesystem::path kPhoto = FORKPOOL_SOURCE_DIR "/data/colour/adobe_rgb_gps.jpg";

// The EXIF tag `key` of `metadata` as text; empty when it has none.
std::string exif_tag(const ImageMetadata& metadata, const char* key) {
  if (metadata.exif.empty()) return {};
  Exiv2::ExifData exif;
  Exiv2::ExifParser::decode(exif, metadata.exif.data(), static_cast<uint32_t>(metadata.exif.size()));
  auto it = exif.findKey(Exiv2::ExifKey(key));
  return it == exif.end() ? std::string() : it->toString();
}

std::string xmp_tag(const ImageMetadata& metadata, const char* key) {
  Exiv2::XmpData xmp;
  if (metadata.xmp.empty() || Exiv2::XmpParser::decode(xmp, metadata.xmp) != 0) return {};
  auto it = xmp.findKey(Exiv2::XmpKey(key));
  return it == xmp.end() ? std::string() : it->toString();
}

std::vector<unsigned char> encode(const cv::Mat& image, const char* ext, std::vector<int> params = {}) {
  std::vector<unsigned char> bytes;
  EXPECT_TRUE(cv::imencode(ext, image, bytes, params));
  return bytes;
}

ImageMetadata read(const std::vector<unsigned char>& bytes) {
  return read_metadata({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()});
}

ImageMetadata photo_metadata() { return read_metadata(as_bytes(read_bytes(kPhoto))); }

TEST_F(MetadataTest, ReadsTheColourPhotosProfileExifXmpAndIptc) {
  const ImageMetadata m = photo_metadata();
  EXPECT_TRUE(icc_describes(m.icc, 3));
  EXPECT_FALSE(icc_describes(m.icc, 1));  // an RGB profile says nothing of grey pixels
  EXPECT_EQ(exif_tag(m, "Exif.Image.Orientation"), "6");
  EXPECT_EQ(exif_tag(m, "Exif.GPSInfo.GPSLatitude"), "51/1 28/1 4012/100");
  EXPECT_EQ(exif_tag(m, "Exif.GPSInfo.GPSLongitudeRef"), "W");
  EXPECT_EQ(exif_tag(m, "Exif.Image.Make"), "forkpool");
  EXPECT_EQ(xmp_tag(m, "Xmp.dc.creator"), "forkpool test data");
  EXPECT_FALSE(m.iptc.empty());
}

TEST_F(MetadataTest, AFileWithoutMetadataHasNone) {
  const auto bytes = encode(synthetic_image(32, 24), ".png");
  EXPECT_TRUE(read(bytes).empty());
  EXPECT_EQ(attach_metadata(bytes, ImageFormat::png, {}), bytes);
}

TEST_F(MetadataTest, BytesThatAreNoImageAreRefusedWithAReason) {
  const std::string junk = "this is not an image at all, whatever its name says";
  try {
    (void)read_metadata(as_bytes(junk));
    ADD_FAILURE() << "read junk";
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot read its metadata"), std::string::npos) << e.what();
  }
}

TEST_F(MetadataTest, OutputMetadataIsUprightWithTheOutputsSizeAndKeepsTheRest) {
  const ImageMetadata m = metadata_for_output(photo_metadata(), cv::Size(240, 160), false);
  EXPECT_EQ(exif_tag(m, "Exif.Image.Orientation"), "1");
  EXPECT_EQ(exif_tag(m, "Exif.Photo.PixelXDimension"), "240");
  EXPECT_EQ(exif_tag(m, "Exif.Photo.PixelYDimension"), "160");
  EXPECT_EQ(exif_tag(m, "Exif.GPSInfo.GPSLatitude"), "51/1 28/1 4012/100");
  EXPECT_EQ(exif_tag(m, "Exif.Photo.ColorSpace"), "65535");
  EXPECT_EQ(exif_tag(m, "Exif.Iop.InteroperabilityIndex"), "R03");
  EXPECT_EQ(xmp_tag(m, "Xmp.tiff.Orientation"), "1");
  EXPECT_EQ(m.icc, photo_metadata().icc);

  const ImageMetadata srgb = metadata_for_output(photo_metadata(), cv::Size(240, 160), true);
  EXPECT_EQ(exif_tag(srgb, "Exif.Photo.ColorSpace"), "1");
  EXPECT_EQ(exif_tag(srgb, "Exif.Iop.InteroperabilityIndex"), "R98");
}

TEST_F(MetadataTest, TheInputsThumbnailAndPixelLayoutTagsAreNotCarried) {
  // A TIFF's own layout (strips, compression) and a JPEG's EXIF thumbnail describe the input.
  ImageMetadata m = read(encode(synthetic_image(40, 30), ".tiff"));
  EXPECT_EQ(exif_tag(m, "Exif.Image.StripOffsets"), "");
  EXPECT_EQ(exif_tag(m, "Exif.Image.ImageWidth"), "");

  Exiv2::ExifData exif;
  exif["Exif.Image.Make"] = "camera";
  Exiv2::ExifThumb thumb(exif);
  const auto small = encode(synthetic_image(16, 16), ".jpg");
  thumb.setJpegThumbnail(small.data(), static_cast<long>(small.size()));
  Exiv2::Blob blob;
  Exiv2::ExifParser::encode(blob, Exiv2::littleEndian, exif);
  m = {};
  m.exif.assign(blob.begin(), blob.end());
  const ImageMetadata read_back = read(attach_metadata(encode(synthetic_image(40, 30), ".jpg"), ImageFormat::jpeg, m));
  EXPECT_EQ(exif_tag(read_back, "Exif.Image.Make"), "camera");
  EXPECT_EQ(exif_tag(read_back, "Exif.Thumbnail.JPEGInterchangeFormat"), "");
}

struct FormatCase {
  ImageFormat format;
  const char* ext;
  int channels;
  std::vector<int> params;
  bool keeps_iptc;
};

void PrintTo(const FormatCase& c, std::ostream* os) {
  *os << to_string(c.format) << " with " << c.channels << " channels";
}

class AttachMetadataTest : public MetadataTest, public ::testing::WithParamInterface<FormatCase> {};

// Each format's output keeps its pixels and gains the metadata, readable by exiv2 and bytes for
// bytes the profile given.
TEST_P(AttachMetadataTest, TheOutputCarriesTheMetadataAndTheSamePixels) {
  const FormatCase& c = GetParam();
  const cv::Mat image = synthetic_image(48, 40, c.channels, 7);
  const auto plain = encode(image, c.ext, c.params);
  const ImageMetadata m = metadata_for_output(photo_metadata(), image.size(), false);
  const auto with = attach_metadata(plain, c.format, m);
  ASSERT_NE(with, plain);

  const ImageMetadata back = read(with);
  EXPECT_EQ(back.icc, m.icc);
  EXPECT_EQ(exif_tag(back, "Exif.Image.Orientation"), "1");
  EXPECT_EQ(exif_tag(back, "Exif.GPSInfo.GPSLatitude"), "51/1 28/1 4012/100");
  EXPECT_EQ(exif_tag(back, "Exif.Photo.PixelXDimension"), "48");
  EXPECT_EQ(xmp_tag(back, "Xmp.dc.creator"), "forkpool test data");
  EXPECT_EQ(back.iptc.empty(), !c.keeps_iptc);

  const cv::Mat before = cv::imdecode(plain, cv::IMREAD_UNCHANGED);
  const cv::Mat after = cv::imdecode(with, cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(after.empty());
  ASSERT_EQ(after.size(), before.size());
  ASSERT_EQ(after.type(), before.type());
  EXPECT_EQ(cv::norm(after, before, cv::NORM_INF), 0);
  // Our own probe still reads the output, upright.
  auto header = probe_image({reinterpret_cast<const std::byte*>(with.data()), with.size()});
  ASSERT_TRUE(header);
  EXPECT_EQ(header->size, image.size());
  EXPECT_EQ(header->orientation, 1);
}

INSTANTIATE_TEST_SUITE_P(
    Formats, AttachMetadataTest,
    ::testing::Values(FormatCase{ImageFormat::jpeg, ".jpg", 3, {}, true},
                      FormatCase{ImageFormat::png, ".png", 3, {}, false},
                      FormatCase{ImageFormat::png, ".png", 4, {}, false},
                      FormatCase{ImageFormat::webp, ".webp", 3, {}, false},           // VP8
                      FormatCase{ImageFormat::webp, ".webp", 4, {}, false},           // VP8X + ALPH
                      FormatCase{ImageFormat::webp, ".webp", 4, {cv::IMWRITE_WEBP_QUALITY, 101}, false},  // VP8L
                      FormatCase{ImageFormat::tiff, ".tiff", 3, {}, true}),
    [](const auto& info) {
      return std::string(to_string(info.param.format)) + std::to_string(info.param.channels) +
             (info.param.params.empty() ? "" : "lossless");
    });

// A WebP output is an extended file whose header announces what it holds, as libwebp reads it.
TEST_F(MetadataTest, AWebpOutputsHeaderAnnouncesItsChunks) {
  const auto with = attach_metadata(encode(synthetic_image(33, 21, 4), ".webp", {cv::IMWRITE_WEBP_QUALITY, 101}),
                                    ImageFormat::webp, photo_metadata());
  ASSERT_GE(with.size(), 30u);
  EXPECT_EQ(std::string(with.begin() + 12, with.begin() + 16), "VP8X");
  EXPECT_EQ(with[20], 0x20 | 0x10 | 0x08 | 0x04);  // ICC, alpha, EXIF, XMP
  EXPECT_EQ(with[24] | (with[25] << 8) | (with[26] << 16), 32);  // width - 1
  EXPECT_EQ(with[27] | (with[28] << 8) | (with[29] << 16), 20);  // height - 1
  const std::uint32_t riff = with[4] | (with[5] << 8) | (with[6] << 16) | (with[7] << 24);
  EXPECT_EQ(riff, with.size() - 8);
  EXPECT_EQ(std::string(with.begin() + 30, with.begin() + 34), "ICCP");
}

}  // namespace
}  // namespace forkpool::images
