// Header probing, decoding the right way up (EXIF orientation), reduced-size JPEG decoding,
// and encoding in each format.

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/leak_check.hpp"
#include "crafted_images.hpp"
#include "forkpool/images/codec.hpp"
#include "forkpool/images/image_job.hpp"
#include "image_test_support.hpp"

namespace forkpool::images {
namespace {

using namespace forkpool::testing;
using CodecTest = LeakCheckedTest;

ImageHeader probe_file(const std::string& sample) {
  auto header = probe_image(as_bytes(read_bytes(sample_image(sample))));
  EXPECT_TRUE(header) << sample;
  return header.value_or(ImageHeader{});
}

TEST_F(CodecTest, ProbeReadsSizeAndFormatOfEachSample) {
  struct Case { const char* name; ImageFormat format; cv::Size size; };
  for (const Case& c : {Case{"rocket.jpg", ImageFormat::jpeg, {640, 427}},
                        Case{"logo.png", ImageFormat::png, {500, 500}},
                        Case{"chelsea.webp", ImageFormat::webp, {451, 300}},
                        Case{"astronaut.tiff", ImageFormat::tiff, {512, 512}}}) {
    ImageHeader h = probe_file(c.name);
    EXPECT_EQ(h.format, c.format) << c.name;
    EXPECT_EQ(h.size, c.size) << c.name;
    EXPECT_TRUE(h.complete) << c.name;
    EXPECT_EQ(h.orientation, 1) << c.name;
  }
}

TEST_F(CodecTest, ProbeReadsExifOrientation) {
  ImageHeader h = probe_file("coffee_exif6.jpg");
  EXPECT_EQ(h.orientation, 6);
  EXPECT_EQ(h.size, cv::Size(400, 600));
  EXPECT_EQ(h.oriented_size(), cv::Size(600, 400));
}

TEST_F(CodecTest, ProbeSeesTruncatedFiles) {
  for (const char* name : {"rocket.jpg", "logo.png", "chelsea.webp"}) {
    std::string bytes = read_bytes(sample_image(name));
    auto header = probe_image(as_bytes(bytes.substr(0, bytes.size() * 2 / 3)));
    ASSERT_TRUE(header) << name;
    EXPECT_FALSE(header->complete) << name;
  }
}

TEST_F(CodecTest, ProbeRefusesWhatIsNotAnImage) {
  EXPECT_FALSE(probe_image(as_bytes("just some text, not an image")));
  EXPECT_FALSE(probe_image(as_bytes("")));
}

// The orientation byte of coffee_exif6.jpg, set to `orientation`.
std::string coffee_with_orientation(int orientation) {
  std::string bytes = read_bytes(sample_image("coffee_exif6.jpg"));
  // The sample's EXIF is big-endian ("MM"): tag 0x0112, type SHORT, count 1, then the value.
  const std::string entry("\x01\x12\x00\x03\x00\x00\x00\x01\x00", 9);
  auto at = bytes.find(entry);
  EXPECT_NE(at, std::string::npos);
  bytes[at + 9] = static_cast<char>(orientation);
  return bytes;
}

TEST_F(CodecTest, OrientationMatchesOpenCvsOwnForAllEight) {
  for (int orientation = 1; orientation <= 8; ++orientation) {
    const std::string bytes = coffee_with_orientation(orientation);
    auto header = probe_image(as_bytes(bytes));
    ASSERT_TRUE(header);
    ASSERT_EQ(header->orientation, orientation);
    cv::Mat ours = decode_image(as_bytes(bytes), *header);
    std::vector<uchar> buffer(bytes.begin(), bytes.end());
    cv::Mat theirs = cv::imdecode(buffer, cv::IMREAD_COLOR);  // applies EXIF orientation
    ASSERT_EQ(ours.size(), theirs.size()) << orientation;
    EXPECT_EQ(cv::norm(ours, theirs, cv::NORM_INF), 0) << orientation;
  }
}

TEST_F(CodecTest, ExifRotatedSampleDecodesUpright) {
  auto bytes = read_bytes(sample_image("coffee_exif6.jpg"));
  cv::Mat image = decode_image(as_bytes(bytes), *probe_image(as_bytes(bytes)));
  EXPECT_EQ(image.size(), cv::Size(600, 400));
}

TEST_F(CodecTest, TiffOrientationIsAppliedOnce) {
  // OpenCV's TIFF decoder turns the image itself; forkpool once turned it a second time.
  const cv::Mat stored = synthetic_image(40, 30, 3, 5);
  for (int orientation = 1; orientation <= 8; ++orientation) {
    const std::string tiff = tiff_bytes(stored, {.orientation = orientation});
    auto header = probe_image(as_bytes(tiff));
    ASSERT_TRUE(header);
    ASSERT_EQ(header->orientation, orientation);
    cv::Mat image = decode_image(as_bytes(tiff), *header);
    cv::Mat upright = apply_orientation(stored, orientation);
    ASSERT_EQ(image.size(), upright.size()) << orientation;
    ASSERT_EQ(image.size(), header->oriented_size()) << orientation;
    EXPECT_EQ(cv::norm(image, upright, cv::NORM_INF), 0) << orientation;
  }
}

TEST_F(CodecTest, JpegOrientationIsAppliedOnceWhenDecodedReduced) {
  const std::string bytes = read_bytes(sample_image("coffee_exif6.jpg"));
  auto header = probe_image(as_bytes(bytes));
  ASSERT_TRUE(header);
  EXPECT_EQ(decode_image(as_bytes(bytes), *header, 4).size(), cv::Size(150, 100));
}

// A grey PNG of `grey` (8 or 16-bit) with a tRNS chunk naming `transparent`.
std::string grey_png_with_trns(const cv::Mat& grey, int transparent) {
  std::vector<uchar> png;
  EXPECT_TRUE(cv::imencode(".png", grey, png));
  const std::string trns{static_cast<char>(transparent >> 8), static_cast<char>(transparent & 0xFF)};
  return png_insert_after_ihdr(std::string(png.begin(), png.end()), png_chunk("tRNS", trns));
}

TEST_F(CodecTest, GreyPngWithTrnsKeepsItsTransparency) {
  cv::Mat grey = synthetic_image(32, 24, 1, 3);
  const int transparent = grey.at<uchar>(5, 7);
  const std::string png = grey_png_with_trns(grey, transparent);
  auto header = probe_image(as_bytes(png));
  ASSERT_TRUE(header);
  EXPECT_EQ(header->transparent_grey, transparent);
  cv::Mat image = decode_image(as_bytes(png), *header);
  ASSERT_EQ(image.type(), CV_8UC4);
  cv::Mat planes[4];
  cv::split(image, planes);
  cv::Mat expected_alpha = grey != transparent;
  EXPECT_EQ(cv::norm(planes[3], expected_alpha, cv::NORM_INF), 0);
  EXPECT_GT(cv::countNonZero(planes[3] == 0), 0);
  EXPECT_EQ(cv::norm(planes[0], grey, cv::NORM_INF), 0);

  cv::Mat wide;
  grey.convertTo(wide, CV_16U, 257);
  const std::string png16 = grey_png_with_trns(wide, transparent * 257);
  cv::Mat image16 = decode_image(as_bytes(png16), *probe_image(as_bytes(png16)));
  ASSERT_EQ(image16.type(), CV_8UC4);
  cv::split(image16, planes);
  EXPECT_EQ(cv::norm(planes[3], expected_alpha, cv::NORM_INF), 0);
}

TEST_F(CodecTest, AlphaSurvivesPngDecoding) {
  auto bytes = read_bytes(sample_image("logo.png"));
  cv::Mat image = decode_image(as_bytes(bytes), *probe_image(as_bytes(bytes)));
  EXPECT_EQ(image.type(), CV_8UC4);
}

TEST_F(CodecTest, SixteenBitImagesBecomeEightBit) {
  cv::Mat wide(20, 30, CV_16UC3, cv::Scalar(65535, 257 * 100, 0));
  std::vector<uchar> png;
  ASSERT_TRUE(cv::imencode(".png", wide, png));
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(png.data()), png.size());
  cv::Mat image = decode_image(bytes, *probe_image(bytes));
  ASSERT_EQ(image.type(), CV_8UC3);
  EXPECT_EQ(image.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 100, 0));
}

TEST_F(CodecTest, CorruptDataIsAnImageError) {
  std::string png = "\x89PNG\r\n\x1a\n" + std::string(100, 'x') + "IEND";
  auto png_header = probe_image(as_bytes(png));
  ASSERT_TRUE(png_header);
  EXPECT_THROW((void)decode_image(as_bytes(png), *png_header), ImageError);
}

TEST_F(CodecTest, ReductionIsTheLargestThatStillCoversTheTarget) {
  auto chain_of = [](std::vector<std::string> ops) { return parse_op_chain(ops); };
  ImageHeader big;
  big.format = ImageFormat::jpeg;
  big.size = {5120, 2880};
  EXPECT_EQ(jpeg_reduction_for(big, chain_of({"resize=1024x1024"})), 4);
  EXPECT_EQ(jpeg_reduction_for(big, chain_of({"resize=640x"})), 8);
  EXPECT_EQ(jpeg_reduction_for(big, chain_of({"resize=50%"})), 2);
  EXPECT_EQ(jpeg_reduction_for(big, chain_of({"resize=60%"})), 1);
  EXPECT_EQ(jpeg_reduction_for(big, chain_of({"resize=2000x2000!"})), 1);
  EXPECT_EQ(jpeg_reduction_for(big, chain_of({"blur=2", "resize=1024x1024"})), 1);
  EXPECT_EQ(jpeg_reduction_for(big, chain_of({"resize=8000x8000>"})), 1);
  big.size = {2880, 5120};
  big.orientation = 6;  // the target comes from the upright size
  EXPECT_EQ(jpeg_reduction_for(big, chain_of({"resize=1024x"})), 4);  // 2 if taken as stored
  ImageHeader png = big;
  png.format = ImageFormat::png;
  EXPECT_EQ(jpeg_reduction_for(png, chain_of({"resize=1024x1024"})), 1);
}

TEST_F(CodecTest, ReducedDecodeGivesTheExactSizeAndNearlyTheSamePixels) {
  TempDir dir;
  write_image(dir / "big.jpg", synthetic_image(1600, 1200));
  std::vector<std::string> ops{"resize=400x"};
  const auto chain = parse_op_chain(ops);
  ImageRecipe recipe;
  recipe.ops = ops;
  LoadedImage reduced = load_image(dir / "big.jpg", chain, recipe);
  EXPECT_EQ(reduced.outcome.reduction, 4);
  EXPECT_EQ(reduced.next_op, 1u);
  transform_image(reduced, chain, recipe.max_pixels);
  ASSERT_EQ(reduced.pixels.size(), cv::Size(400, 300));
  cv::Mat full = cv::imread((dir / "big.jpg").native(), cv::IMREAD_COLOR), reference;
  reference = chain.front()->run(full);
  EXPECT_LT(cv::norm(reduced.pixels, reference, cv::NORM_L1) / reference.total() / 3, 4.0);
}

// What is recorded with an output changes with whatever changes its bytes, and only with that.
TEST_F(CodecTest, OutputRecordFollowsWhatMakesTheBytes) {
  ImageRecipe recipe;
  recipe.ops = {"resize=800x600>", "gray"};
  const auto jpeg = recipe.output_record(ImageFormat::jpeg);
  EXPECT_EQ(recipe.output_record(ImageFormat::jpeg), jpeg);
  EXPECT_NE(recipe.output_record(ImageFormat::webp), jpeg);
  ImageRecipe other = recipe;
  other.max_pixels = 1000;
  EXPECT_EQ(other.output_record(ImageFormat::jpeg), jpeg);
  other.ops = {"gray", "resize=800x600>"};
  EXPECT_NE(other.output_record(ImageFormat::jpeg), jpeg);
  other = recipe;
  other.quality = 50;
  EXPECT_NE(other.output_record(ImageFormat::jpeg), jpeg);
  EXPECT_NE(other.output_record(ImageFormat::webp), recipe.output_record(ImageFormat::webp));
  EXPECT_EQ(other.output_record(ImageFormat::png), recipe.output_record(ImageFormat::png));
  EXPECT_EQ(other.output_record(ImageFormat::tiff), recipe.output_record(ImageFormat::tiff));
  // Colour and metadata settings make different bytes in every format.
  for (ImageFormat format : {ImageFormat::jpeg, ImageFormat::png, ImageFormat::webp, ImageFormat::tiff}) {
    other = recipe;
    other.colorspace = Colorspace::srgb;
    EXPECT_NE(other.output_record(format), recipe.output_record(format));
    other = recipe;
    other.strip = true;
    EXPECT_NE(other.output_record(format), recipe.output_record(format));
  }
}

// Each encoder option is in the record of its own format only, and only when it is not at its
// default: outputs made before the options existed keep the record they had.
TEST_F(CodecTest, EncoderOptionsAreInTheRecordOfTheirOwnFormatOnly) {
  const std::vector<ImageFormat> formats{ImageFormat::jpeg, ImageFormat::png, ImageFormat::webp, ImageFormat::tiff};
  ImageRecipe recipe;
  recipe.ops = {"resize=200x200^"};
  EXPECT_EQ(recipe.output_record(ImageFormat::jpeg),
            R"({"colorspace":"keep","format":"jpeg","ops":["resize=200x200^"],"quality":90,"strip":false,"v":2})");
  EXPECT_EQ(recipe.output_record(ImageFormat::png),
            R"({"colorspace":"keep","format":"png","ops":["resize=200x200^"],"strip":false,"v":2})");
  struct Change {
    void (*apply)(EncoderOptions&);
    ImageFormat format;
  };
  const Change changes[] = {
      {[](EncoderOptions& o) { o.jpeg_progressive = true; }, ImageFormat::jpeg},
      {[](EncoderOptions& o) { o.jpeg_subsampling = JpegSubsampling::s444; }, ImageFormat::jpeg},
      {[](EncoderOptions& o) { o.jpeg_subsampling = JpegSubsampling::s422; }, ImageFormat::jpeg},
      {[](EncoderOptions& o) { o.png_level = 0; }, ImageFormat::png},
      {[](EncoderOptions& o) { o.png_level = 9; }, ImageFormat::png},
      {[](EncoderOptions& o) { o.webp_lossless = true; }, ImageFormat::webp},
      {[](EncoderOptions& o) { o.tiff_compression = TiffCompression::none; }, ImageFormat::tiff},
      {[](EncoderOptions& o) { o.tiff_compression = TiffCompression::deflate; }, ImageFormat::tiff},
  };
  for (const Change& change : changes) {
    ImageRecipe other = recipe;
    change.apply(other.encoder);
    for (ImageFormat format : formats)
      EXPECT_EQ(other.output_record(format) != recipe.output_record(format), format == change.format)
          << other.output_record(format);
    // And it reaches the workers.
    EXPECT_EQ(ImageRecipe::deserialize(other.serialize()).encoder, other.encoder);
  }
  // Lossless WebP has no quality: changing it changes nothing there.
  ImageRecipe lossless = recipe;
  lossless.encoder.webp_lossless = true;
  ImageRecipe lower = lossless;
  lower.quality = 40;
  EXPECT_EQ(lower.output_record(ImageFormat::webp), lossless.output_record(ImageFormat::webp));
  EXPECT_NE(lower.output_record(ImageFormat::jpeg), lossless.output_record(ImageFormat::jpeg));
  // The crop of a fill is in the op's text.
  ImageRecipe attention = recipe;
  attention.ops = {"resize=200x200^:attention"};
  EXPECT_NE(attention.output_record(ImageFormat::png), recipe.output_record(ImageFormat::png));
}

// The options make the bytes they claim; the defaults make what OpenCV's encoder makes.
TEST_F(CodecTest, EncoderOptionsChangeTheBytesAndDefaultsAreOpenCvs) {
  const cv::Mat image = synthetic_image(96, 64);
  auto encoded = [&](ImageFormat format, const EncoderOptions& options) {
    return encode_image(image, format, 90, options);
  };
  auto opencv = [&](const char* ext, std::vector<int> params) {
    std::vector<unsigned char> bytes;
    EXPECT_TRUE(cv::imencode(ext, image, bytes, params));
    return bytes;
  };
  EXPECT_EQ(encoded(ImageFormat::jpeg, {}), opencv(".jpg", {cv::IMWRITE_JPEG_QUALITY, 90}));
  EXPECT_EQ(encoded(ImageFormat::png, {}), opencv(".png", {}));
  EXPECT_EQ(encoded(ImageFormat::tiff, {}), opencv(".tiff", {}));
  EXPECT_EQ(encoded(ImageFormat::webp, {}), opencv(".webp", {cv::IMWRITE_WEBP_QUALITY, 90}));
  EncoderOptions o;
  o.jpeg_progressive = true;
  EXPECT_EQ(encoded(ImageFormat::jpeg, o),
            opencv(".jpg", {cv::IMWRITE_JPEG_QUALITY, 90, cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  // Finer chroma, closer colours: the error falls from 420 to 422 to 444.
  double previous_error = 1e9;
  for (auto subsampling : {JpegSubsampling::s420, JpegSubsampling::s422, JpegSubsampling::s444}) {
    o = {};
    o.jpeg_subsampling = subsampling;
    const auto bytes = encoded(ImageFormat::jpeg, o);
    if (subsampling != JpegSubsampling::s420) {
      EXPECT_NE(bytes, encoded(ImageFormat::jpeg, {}));
    }
    const cv::Mat back = cv::imdecode(bytes, cv::IMREAD_COLOR);
    ASSERT_EQ(back.size(), image.size());
    const double error = cv::norm(back, image, cv::NORM_L1) / image.total() / 3;
    EXPECT_LT(error, previous_error) << to_string(subsampling);
    previous_error = error;
  }
  // A grey JPEG has no chroma to subsample: 444 goes through OpenCV like 420.
  o = {};
  o.jpeg_subsampling = JpegSubsampling::s444;
  cv::Mat grey;
  cv::cvtColor(image, grey, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(encode_image(grey, ImageFormat::jpeg, 90, o), encode_image(grey, ImageFormat::jpeg, 90));
}

TEST_F(CodecTest, RecipeTravelsWithItsColourAndMetadataSettings) {
  ImageRecipe recipe;
  recipe.ops = {"gray"};
  recipe.colorspace = Colorspace::srgb;
  recipe.strip = true;
  const ImageRecipe back = ImageRecipe::deserialize(recipe.serialize());
  EXPECT_EQ(back.colorspace, Colorspace::srgb);
  EXPECT_TRUE(back.strip);
  EXPECT_EQ(back.output_record(ImageFormat::png), recipe.output_record(ImageFormat::png));
  EXPECT_EQ(ImageRecipe::deserialize(ImageRecipe{}.serialize()).colorspace, Colorspace::keep);
}

// A worker's result whose sizes are numbers no int holds (1e20 was undefined behaviour in the
// conversion, found by fuzz_image_messages) or negative byte counts is malformed, like any
// other field of the wrong type: the coordinator fails that item with the message.
TEST_F(CodecTest, ResultsWithNumbersOutOfRangeAreMalformed) {
  auto bytes_of = [](const std::string& text) {
    const auto* p = reinterpret_cast<const std::byte*>(text.data());
    return std::vector<std::byte>(p, p + text.size());
  };
  const std::string good = R"({"ib":1,"ob":2,"iw":3,"ih":4,"ow":5,"oh":6,"r":1,"ms":0.5})";
  EXPECT_EQ(ImageOutcome::deserialize(bytes_of(good)).output_size, cv::Size(5, 6));
  for (const char* bad : {R"({"ib":1,"ob":2,"iw":1e20,"ih":4,"ow":5,"oh":6,"r":1,"ms":0.5})",
                          R"({"ib":1,"ob":2,"iw":3,"ih":4,"ow":5,"oh":4294967296,"r":1,"ms":0.5})",
                          R"({"ib":-1,"ob":2,"iw":3,"ih":4,"ow":5,"oh":6,"r":1,"ms":0.5})",
                          R"({"ib":1,"ob":2,"iw":3.5,"ih":4,"ow":5,"oh":6,"r":1,"ms":0.5})"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW((void)ImageOutcome::deserialize(bytes_of(bad)), std::runtime_error);
  }
  EXPECT_THROW((void)ImageRecipe::deserialize(bytes_of(
                   R"({"ops":[],"quality":1e300,"max_pixels":0,"colorspace":"keep","strip":false})")),
               std::runtime_error);
}

TEST_F(CodecTest, EncodesEveryFormatSoItDecodesBack) {
  const cv::Mat image = synthetic_image(64, 48);
  for (ImageFormat format : {ImageFormat::jpeg, ImageFormat::png, ImageFormat::webp, ImageFormat::tiff}) {
    auto bytes = encode_image(image, format, 90);
    std::span<const std::byte> view(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
    auto header = probe_image(view);
    ASSERT_TRUE(header) << to_string(format);
    EXPECT_EQ(header->format, format);
    cv::Mat back = decode_image(view, *header);
    EXPECT_EQ(back.size(), image.size()) << to_string(format);
    if (format == ImageFormat::png || format == ImageFormat::tiff) {
      EXPECT_EQ(cv::norm(back, image, cv::NORM_INF), 0) << to_string(format);
    }
  }
}

TEST_F(CodecTest, JpegDropsAlphaPngKeepsIt) {
  const cv::Mat rgba = synthetic_image(32, 32, 4);
  auto jpeg = encode_image(rgba, ImageFormat::jpeg, 90);
  EXPECT_EQ(cv::imdecode(jpeg, cv::IMREAD_UNCHANGED).channels(), 3);
  auto png = encode_image(rgba, ImageFormat::png, 90);
  EXPECT_EQ(cv::imdecode(png, cv::IMREAD_UNCHANGED).channels(), 4);
}

TEST_F(CodecTest, QualityChangesJpegSize) {
  const cv::Mat image = synthetic_image(128, 96);
  EXPECT_LT(encode_image(image, ImageFormat::jpeg, 20).size(), encode_image(image, ImageFormat::jpeg, 95).size());
}

TEST_F(CodecTest, FormatNamesAndExtensions) {
  EXPECT_EQ(format_from_name(".JPEG"), ImageFormat::jpeg);
  EXPECT_EQ(format_from_name("jpg"), ImageFormat::jpeg);
  EXPECT_EQ(format_from_name("tif"), ImageFormat::tiff);
  EXPECT_EQ(format_from_name("WebP"), ImageFormat::webp);
  EXPECT_FALSE(format_from_name("gif"));
  EXPECT_EQ(extension_for(ImageFormat::jpeg), "jpg");
}

}  // namespace
}  // namespace forkpool::images
