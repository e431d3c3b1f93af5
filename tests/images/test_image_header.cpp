// The header probe and the limits checked before decoding, on crafted files: lengths that lie,
// sizes in every type libtiff reads, scan and chunk bombs, formats refused by name.

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdlib>

#include "common/leak_check.hpp"
#include "crafted_images.hpp"
#include "forkpool/images/codec.hpp"
#include "forkpool/images/image_job.hpp"
#include "image_test_support.hpp"

namespace forkpool::images {
namespace {

using namespace forkpool::testing;
using ImageHeaderTest = LeakCheckedTest;

std::string encoded(const std::string& ext, const cv::Mat& image, std::vector<int> params = {}) {
  std::vector<uchar> bytes;
  if (!cv::imencode(ext, image, bytes, params)) throw std::runtime_error("cannot encode " + ext);
  return {bytes.begin(), bytes.end()};
}

// load_image (read, probe, limits, decode) on `bytes` saved as a file named `name`.
LoadedImage load_bytes(const std::string& bytes, const std::string& name = "x.img",
                       std::uint64_t max_pixels = ImageRecipe{}.max_pixels) {
  TempDir dir;
  write_bytes(dir / name, bytes);
  ImageRecipe recipe;
  recipe.max_pixels = max_pixels;
  return load_image(dir / name, parse_op_chain({}), recipe);
}

// The message load_image refuses `bytes` with ("" when it decodes them).
std::string refusal(const std::string& bytes, std::uint64_t max_pixels = ImageRecipe{}.max_pixels) {
  try {
    (void)load_bytes(bytes, "x.img", max_pixels);
    return "";
  } catch (const ImageError& e) {
    return e.what();
  }
}

ImageHeader probe(const std::string& bytes) {
  auto header = probe_image(as_bytes(bytes));
  EXPECT_TRUE(header);
  return header.value_or(ImageHeader{});
}

std::string with_byte_inserted(const std::string& bytes, std::size_t at, char c) {
  return bytes.substr(0, at) + c + bytes.substr(at);
}

// ---- JPEG ----------------------------------------------------------------------------------

TEST_F(ImageHeaderTest, ExifSegmentShorterThanItsOwnHeaderIsNotReadPastItsEnd) {
  // 86 bytes: an APP1 "Exif" segment 6 bytes long (its header alone is 8), then a TIFF block
  // whose first IFD lies 2 GB away. The probe once took length - 8 and read there (SIGSEGV).
  std::string jpeg("\xFF\xD8\xFF\xE1\x00\x06" "Exif\0\0" "MM\0*\x7F\xFF\xFF\xF0", 20);
  jpeg += std::string("\xFF\xFE\x00\x3E", 4) + std::string(60, 'c');
  jpeg += "\xFF\xD9";
  ASSERT_EQ(jpeg.size(), 86u);
  ImageHeader h = probe(jpeg);
  EXPECT_EQ(h.orientation, 1);
  EXPECT_NE(refusal(jpeg), "");
}

TEST_F(ImageHeaderTest, BytesBetweenJpegSegmentsAreSkippedAsLibjpegDoes) {
  const std::string rocket = read_bytes(sample_image("rocket.jpg"));
  const auto parts = jpeg_parts(rocket);
  ASSERT_GT(parts.size(), 3u);
  for (char c : {'\xFF', '\x00', '\x42'}) {  // a fill byte, and stray bytes libjpeg skips
    // Right after SOI only a fill byte keeps the FF D8 FF signature every reader looks for.
    for (std::size_t i = c == '\xFF' ? 1 : 2; i + 1 < parts.size(); ++i) {
      const std::string padded = with_byte_inserted(rocket, parts[i].begin, c);
      ImageHeader h = probe(padded);
      EXPECT_TRUE(h.complete) << "byte " << int(c) << " before part " << i;
      EXPECT_EQ(h.size, cv::Size(640, 427)) << "byte " << int(c) << " before part " << i;
      EXPECT_EQ(refusal(padded), "") << "byte " << int(c) << " before part " << i;
    }
  }
}

TEST_F(ImageHeaderTest, SegmentLengthShorterThanItsFieldIsADefect) {
  std::string jpeg("\xFF\xD8\xFF\xFE\x00\x01\xFF\xD9", 8);
  EXPECT_NE(probe(jpeg).defect, "");
}

cv::Mat textured(int width, int height, int channels = 3) {
  return synthetic_image(width, height, channels, 7);
}

TEST_F(ImageHeaderTest, ProgressiveJpegScansAreCountedAndCapped) {
  const std::string progressive = encoded(".jpg", textured(64, 48), {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  ImageHeader h = probe(progressive);
  EXPECT_TRUE(h.progressive);
  EXPECT_GT(h.scans, 1);
  EXPECT_LE(h.scans, 12);
  EXPECT_GT(h.working_bytes, 0u);  // libjpeg keeps every coefficient of a progressive JPEG
  EXPECT_EQ(probe(encoded(".jpg", textured(64, 48))).working_bytes, 0u);  // baseline streams

  const std::string at_cap = jpeg_with_scans(progressive, kMaxJpegScans);
  EXPECT_EQ(probe(at_cap).scans, kMaxJpegScans);
  EXPECT_EQ(refusal(at_cap), "");
  const std::string bomb = jpeg_with_scans(progressive, kMaxJpegScans + 1);
  EXPECT_NE(refusal(bomb).find("more than 500 scans"), std::string::npos) << refusal(bomb);
}

TEST_F(ImageHeaderTest, JpegWhoseCodedDataCannotHoldItsSizeIsRefused) {
  // 20000x10000 claimed over a 16x16 image's data: libjpeg filled in 200 megapixels of grey (a
  // progressive one took 600 MB of coefficients and 15 s) from a file of a few hundred bytes.
  for (int progressive : {0, 1}) {
    std::string jpeg = encoded(".jpg", textured(16, 16), {cv::IMWRITE_JPEG_PROGRESSIVE, progressive});
    EXPECT_EQ(probe(jpeg).defect, "");
    for (const JpegPart& p : jpeg_parts(jpeg))
      if (p.marker == 0xC0 || p.marker == 0xC2) {
        jpeg[p.begin + 5] = '\x27';  // height 10000
        jpeg[p.begin + 6] = '\x10';
        jpeg[p.begin + 7] = '\x4E';  // width 20000
        jpeg[p.begin + 8] = '\x20';
      }
    ImageHeader h = probe(jpeg);
    EXPECT_EQ(h.size, cv::Size(20000, 10000));
    EXPECT_NE(h.defect.find("needs at least"), std::string::npos) << h.defect;
    EXPECT_NE(refusal(jpeg).find("needs at least"), std::string::npos) << refusal(jpeg);
  }
}

TEST_F(ImageHeaderTest, JpegWithoutScanOrWithTwoFramesIsADefect) {
  const std::string jpeg = encoded(".jpg", textured(16, 16));
  const auto parts = jpeg_parts(jpeg);
  std::string no_scan, two_frames;
  for (const JpegPart& p : parts) {
    const std::string bytes = jpeg.substr(p.begin, p.end - p.begin);
    if (p.marker != 0xDA) no_scan += bytes;
    two_frames += bytes;
    if (p.marker == 0xC0) two_frames += bytes;
  }
  EXPECT_NE(probe(no_scan).defect, "");
  EXPECT_NE(probe(two_frames).defect, "");
}

// ---- TIFF ----------------------------------------------------------------------------------

TEST_F(ImageHeaderTest, TiffSizeIsReadInEveryIntegerTypeLibtiffReads) {
  const cv::Mat image = textured(40, 30);
  for (bool big_endian : {false, true}) {
    for (unsigned type : {1u, 3u, 4u, 6u, 8u, 9u, 16u, 17u}) {
      const std::string tiff = tiff_bytes(image, {.big_endian = big_endian, .size_type = type});
      ImageHeader h = probe(tiff);
      EXPECT_EQ(h.size, cv::Size(40, 30)) << "type " << type << (big_endian ? " MM" : " II");
      // libtiff (through OpenCV) reads the same size from the same bytes.
      cv::Mat decoded = cv::imdecode(std::vector<uchar>(tiff.begin(), tiff.end()), cv::IMREAD_UNCHANGED);
      EXPECT_EQ(decoded.size(), cv::Size(40, 30)) << "type " << type;
    }
  }
}

TEST_F(ImageHeaderTest, TiffWithSignedSizeTagsIsHeldToThePixelLimit) {
  // SSHORT 2000x2000 over 40x30 pixels of data: the probe once saw no size, so --max-megapixels
  // never applied and OpenCV allocated the whole claim.
  const std::string tiff = tiff_bytes(textured(40, 30), {.size_type = 8, .width = 2000, .height = 2000});
  EXPECT_EQ(probe(tiff).size, cv::Size(2000, 2000));
  EXPECT_NE(refusal(tiff, 1'000'000).find("too large"), std::string::npos) << refusal(tiff, 1'000'000);
}

TEST_F(ImageHeaderTest, TiffWithoutAReadableSizeIsRefusedNotDecodedBlind) {
  const std::string negative = tiff_bytes(textured(40, 30), {.size_type = 8, .width = -40});
  EXPECT_TRUE(probe(negative).size.empty());
  EXPECT_NE(refusal(negative).find("without a readable width and height"), std::string::npos)
      << refusal(negative);
}

TEST_F(ImageHeaderTest, TiffStripPastTheEndIsTruncated) {
  const cv::Mat image = textured(40, 30);
  EXPECT_TRUE(probe(tiff_bytes(image)).complete);
  const std::string cut = tiff_bytes(image, {.strip_bytes = 1'000'000});
  EXPECT_FALSE(probe(cut).complete);
  EXPECT_NE(refusal(cut).find("truncated TIFF"), std::string::npos) << refusal(cut);
  EXPECT_FALSE(probe(tiff_bytes(image).substr(0, 200)).complete);  // the IFD is at the end
}

TEST_F(ImageHeaderTest, TiffDirectoryWithAbsurdEntryCountIsADefect) {
  std::string tiff("II*\0\x08\0\0\0\xFF\xFF", 10);
  tiff += std::string(12 * 4, '\0');
  EXPECT_NE(probe(tiff).defect, "");
}

// ---- PNG -----------------------------------------------------------------------------------

TEST_F(ImageHeaderTest, PngChunkClaimingMoreThanTheFileIsRefusedBeforeDecoding) {
  // 56 bytes whose tEXt chunk claims 2^31-1 (its text ends in "IEND", which satisfied the old
  // probe's look for an end marker): libpng allocated the claim (2 GB, 25-45 s) before it found
  // the file shorter.
  std::string png = encoded(".png", textured(16, 16)).substr(0, 33);
  png += png_chunk("tEXt", "comment" "IEND", 0x7FFFFFFF);
  png = png.substr(0, 56);
  ImageHeader h = probe(png);
  EXPECT_FALSE(h.complete);
  EXPECT_NE(h.defect.find("claims 2147483647 bytes"), std::string::npos) << h.defect;
  EXPECT_NE(refusal(png).find("claims 2147483647 bytes"), std::string::npos) << refusal(png);
}

TEST_F(ImageHeaderTest, PngChunksAreWalkedToIend) {
  const std::string png = encoded(".png", textured(16, 16));
  EXPECT_TRUE(probe(png).complete);
  EXPECT_TRUE(probe(png + "trailing bytes after IEND").complete);
  const std::string with_text = png_insert_after_ihdr(png, png_chunk("tEXt", std::string("a\0b", 3)));
  EXPECT_TRUE(probe(with_text).complete);
  EXPECT_EQ(probe(with_text).defect, "");
  // Cut inside a chunk: truncated, and the chunk named.
  ImageHeader cut = probe(png.substr(0, png.size() - 20));
  EXPECT_FALSE(cut.complete);
  EXPECT_NE(cut.defect.find("truncated or corrupt PNG: chunk 'IDAT'"), std::string::npos) << cut.defect;
}

TEST_F(ImageHeaderTest, PngChannelsAreWhatOpenCvReturns) {
  EXPECT_EQ(probe(encoded(".png", textured(8, 8, 1))).channels, 1);
  EXPECT_EQ(probe(encoded(".png", textured(8, 8, 3))).channels, 3);
  EXPECT_EQ(probe(encoded(".png", textured(8, 8, 4))).channels, 4);
  cv::Mat wide;
  textured(8, 8).convertTo(wide, CV_16UC3, 257);
  EXPECT_EQ(probe(encoded(".png", wide)).bits, 16);
}

// ---- WebP ----------------------------------------------------------------------------------

TEST_F(ImageHeaderTest, WebpChunksAreChecked) {
  const std::string lossy = encoded(".webp", textured(20, 10), {cv::IMWRITE_WEBP_QUALITY, 80});
  ImageHeader h = probe(lossy);
  EXPECT_EQ(h.size, cv::Size(20, 10));
  EXPECT_EQ(h.channels, 3);
  EXPECT_TRUE(h.complete);
  const std::string lossless = encoded(".webp", textured(20, 10, 4), {cv::IMWRITE_WEBP_QUALITY, 101});
  ImageHeader l = probe(lossless);
  EXPECT_EQ(l.size, cv::Size(20, 10));
  EXPECT_EQ(l.channels, 4);
  EXPECT_EQ(l.working_bytes, 20u * 10 * 4);  // libwebp's ARGB buffer

  // The first chunk claims more than the RIFF container holds.
  std::string lie = lossy;
  lie[16] = '\xFF';
  lie[17] = '\xFF';
  lie[18] = '\xFF';
  EXPECT_NE(probe(lie).defect, "");
  EXPECT_NE(refusal(lie), "");
}

// ---- Formats not read, limits --------------------------------------------------------------

TEST_F(ImageHeaderTest, OtherFormatsOpenCvDecodesAreRefusedByName) {
  const cv::Mat image = textured(8, 8);
  struct Case { const char* ext; const char* name; };
  for (const Case& c : {Case{".bmp", "BMP"}, Case{".ppm", "PNM"}, Case{".pgm", "PNM"},
                        Case{".pfm", "PFM"}, Case{".ras", "Sun raster"}, Case{".hdr", "Radiance HDR"}}) {
    cv::Mat input = image;
    if (std::string(c.ext) == ".pgm") cv::cvtColor(image, input, cv::COLOR_BGR2GRAY);
    if (std::string(c.ext) == ".pfm" || std::string(c.ext) == ".hdr") image.convertTo(input, CV_32FC3, 1 / 255.0);
    const std::string bytes = encoded(c.ext, input);
    ASSERT_FALSE(cv::imdecode(std::vector<uchar>(bytes.begin(), bytes.end()), cv::IMREAD_UNCHANGED).empty());
    EXPECT_FALSE(probe_image(as_bytes(bytes))) << c.ext;
    EXPECT_EQ(other_image_format(as_bytes(bytes)), std::optional<std::string_view>(c.name)) << c.ext;
    EXPECT_NE(refusal(bytes).find(std::string("a ") + c.name + " image"), std::string::npos)
        << c.ext << ": " << refusal(bytes);
  }
  // Signatures only (this OpenCV cannot write these).
  using namespace std::string_literals;
  for (const auto& [bytes, name] : {std::pair{"\0\0\0\x0CjP  \r\n\x87\n"s, "JPEG 2000"},
                                    std::pair{"II+\0\x08\0\0\0"s, "BigTIFF"},
                                    std::pair{"GIF89a"s, "GIF"}, std::pair{"v/1\x01"s, "OpenEXR"},
                                    std::pair{std::string(128, '\0') + "DICM", "DICOM"}})
    EXPECT_EQ(other_image_format(as_bytes(bytes)), std::optional<std::string_view>(name)) << name;
  EXPECT_FALSE(other_image_format(as_bytes("plain text")));
}

TEST_F(ImageHeaderTest, OpenCvLimitsAreTheOnesItLoadedWith) {
  if (std::getenv("OPENCV_IO_MAX_IMAGE_PIXELS") || std::getenv("OPENCV_IO_MAX_IMAGE_WIDTH") ||
      std::getenv("OPENCV_IO_MAX_IMAGE_HEIGHT"))
    GTEST_SKIP() << "OpenCV's limits are set in the environment";
  EXPECT_EQ(opencv_image_limits().width, 1u << 20);
  EXPECT_EQ(opencv_image_limits().height, 1u << 20);
  EXPECT_EQ(opencv_image_limits().pixels, 1u << 30);
}

ImageHeader header_of(ImageFormat format, cv::Size size, int channels, int bits = 8) {
  ImageHeader h;
  h.format = format;
  h.size = size;
  h.channels = channels;
  h.bits = bits;
  return h;
}

std::string check(const ImageHeader& h, const DecodeLimits& limits, int reduction = 1) {
  try {
    check_before_decoding(h, 1000, reduction, limits);
    return "";
  } catch (const ImageError& e) {
    return e.what();
  }
}

TEST_F(ImageHeaderTest, LimitsRefuseBeforeAnyDecoderAllocates) {
  const auto limits = DecodeLimits::for_pixels(200'000'000);
  EXPECT_EQ(limits.max_bytes, 800'000'000u);
  const ImageHeader ok = header_of(ImageFormat::png, {10000, 10000}, 3);
  EXPECT_EQ(check(ok, limits), "");

  ImageHeader defect = ok;
  defect.defect = "corrupt PNG: a lie";
  EXPECT_EQ(check(defect, limits), "corrupt PNG: a lie");
  ImageHeader cut = ok;
  cut.complete = false;
  EXPECT_NE(check(cut, limits).find("truncated PNG"), std::string::npos);
  ImageHeader no_size = ok;
  no_size.size = {};
  EXPECT_NE(check(no_size, limits).find("without a readable width and height"), std::string::npos);
  EXPECT_NE(check(header_of(ImageFormat::tiff, {20000, 20000}, 1), limits).find("--max-megapixels"),
            std::string::npos);
  // Over OpenCV's own limit of 2^20 a side, whatever forkpool's.
  EXPECT_NE(check(header_of(ImageFormat::webp, {2'000'000, 1}, 3), {}).find("OpenCV's limit"),
            std::string::npos);

  // Memory: 16-bit RGBA takes 8 bytes a pixel, and the 8-bit copy 4 more: 66 megapixels fit.
  EXPECT_EQ(check(header_of(ImageFormat::png, {8000, 8000}, 4, 16), limits), "");
  EXPECT_NE(check(header_of(ImageFormat::png, {8200, 8200}, 4, 16), limits).find("of memory"),
            std::string::npos);
  // A progressive JPEG keeps 2 bytes per sample of coefficients, even when decoded reduced.
  ImageHeader progressive = header_of(ImageFormat::jpeg, {12000, 12000}, 3);
  EXPECT_EQ(check(progressive, limits), "");
  progressive.progressive = true;
  progressive.working_bytes = 12000ull * 12000 * 3 * 2;
  EXPECT_NE(check(progressive, limits, 8).find("of memory"), std::string::npos);
  // Lossless WebP is decoded into a 4-byte-per-pixel buffer first.
  ImageHeader lossless = header_of(ImageFormat::webp, {14000, 14000}, 3);
  EXPECT_EQ(check(lossless, limits), "");
  lossless.working_bytes = 14000ull * 14000 * 4;
  EXPECT_NE(check(lossless, limits).find("of memory"), std::string::npos);
  // No limit of forkpool's own: only OpenCV's applies.
  EXPECT_EQ(check(header_of(ImageFormat::png, {30000, 30000}, 4, 16), {}), "");
}

// ---- Every format: never a read outside the input ------------------------------------------

TEST_F(ImageHeaderTest, EveryPrefixOfEverySampleProbesWithinBounds) {
  // Under ASan (the sanitize preset) a read past the end fails here; elsewhere the probe must at
  // least return, and call a prefix incomplete or say why it refuses it.
  for (const char* name : {"rocket.jpg", "coffee_exif6.jpg", "logo.png", "chelsea.webp", "astronaut.tiff"}) {
    const std::string bytes = read_bytes(sample_image(name));
    for (std::size_t n = 0; n < std::min<std::size_t>(bytes.size(), 3000); ++n) {
      const std::vector<std::byte> exact(as_bytes(bytes).begin(), as_bytes(bytes).begin() + n);
      auto h = probe_image(exact);
      EXPECT_FALSE(h && h->defect.empty() && h->complete && !h->size.empty())
          << "a prefix of " << n << " bytes of " << name << " looks whole";
    }
  }
}

}  // namespace
}  // namespace forkpool::images
