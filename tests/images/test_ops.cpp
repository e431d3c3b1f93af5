// Every op of the registry: its parameters, its output's size and channels, bad arguments.

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <set>

#include "common/leak_check.hpp"
#include "forkpool/images/codec.hpp"
#include "forkpool/images/crop_window.hpp"
#include "forkpool/images/geometry.hpp"
#include "forkpool/images/op.hpp"
#include "image_test_support.hpp"

namespace forkpool::images {
namespace {

using forkpool::testing::LeakCheckedTest;
using forkpool::testing::field_with_object;
using forkpool::testing::saturated_pixels;
using forkpool::testing::synthetic_image;
using OpsTest = LeakCheckedTest;

cv::Mat run(std::string_view op, const cv::Mat& image) { return parse_op(op)->run(image); }

TEST_F(OpsTest, RegistryHasEveryOpOnceWithHelp) {
  std::set<std::string_view> names;
  for (const OpInfo* info : op_registry()) {
    EXPECT_TRUE(names.insert(info->name).second) << info->name;
    EXPECT_FALSE(info->help.empty()) << info->name;
  }
  for (std::string_view expected : {"resize", "crop", "rotate", "flip", "gray", "blur", "sharpen",
                                    "edges", "threshold", "equalize", "invert", "denoise"})
    EXPECT_TRUE(names.contains(expected)) << expected;
}

TEST_F(OpsTest, UnknownOpNamesTheKnownOnes) {
  try {
    (void)parse_op("frobnicate=3");
    FAIL();
  } catch (const OpSyntaxError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown op 'frobnicate'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("resize"), std::string::npos);
  }
}

TEST_F(OpsTest, MissingOrStrayArgumentsAreRefused) {
  for (std::string_view bad : {"resize", "crop", "rotate", "flip", "blur", "resize=", "rotate=45",
                               "flip=d", "blur=0", "blur=-1", "blur=x", "sharpen=-1", "gray=1",
                               "edges=5", "threshold=2", "invert=yes", "equalize=0", "denoise=abc",
                               "crop=10x10+1", "resize=10y10", "resize=10x^", "resize=10x10:attention",
                               "resize=10x10^:smart"})
    EXPECT_THROW((void)parse_op(bad), OpSyntaxError) << bad;
}

TEST_F(OpsTest, ResizeGivesTheGeometrysSize) {
  const cv::Mat image = synthetic_image(120, 80);
  EXPECT_EQ(run("resize=60x60", image).size(), cv::Size(60, 40));
  EXPECT_EQ(run("resize=50%", image).size(), cv::Size(60, 40));
  EXPECT_EQ(run("resize=30x30!", image).size(), cv::Size(30, 30));
  EXPECT_EQ(run("resize=240x>", image).size(), cv::Size(120, 80));
  EXPECT_EQ(parse_op("resize=60x60")->output_size({120, 80}), cv::Size(60, 40));
}

TEST_F(OpsTest, FillResizeGivesExactlyTheBoxForEveryShape) {
  for (cv::Size in : {cv::Size(320, 180), cv::Size(180, 320), cv::Size(240, 240), cv::Size(50, 30)})
    for (int channels : {1, 3, 4})
      for (std::string_view op : {"resize=100x100^", "resize=120x40^:attention", "resize=40x120^:centre"}) {
        const cv::Mat out = run(op, synthetic_image(in.width, in.height, channels));
        const Geometry g = parse_geometry(op.substr(7));  // after "resize="
        const cv::Size box(g.width, g.height);  // exactly the box: no '>' or '<'
        EXPECT_EQ(out.size(), box) << op << " on " << in;
        EXPECT_EQ(out.channels(), channels) << op;
      }
}

// A fill of an image far from the box's shape never makes the cover it would cut from: a
// 1x65535 strip to 1024x1024^ would be 1024 x 2^24 pixels (17 GB in grey) before the cut.
TEST_F(OpsTest, FillResizeOfAThinStripCutsBeforeItScales) {
  const cv::Mat strip = synthetic_image(1, 65535, 1);
  for (std::string_view op : {"resize=1024x1024^", "resize=1024x1024^:attention"}) {
    const cv::Mat out = run(op, strip);
    EXPECT_EQ(out.size(), cv::Size(1024, 1024)) << op;
    EXPECT_EQ(out.channels(), 1) << op;
  }
  // Wide too, in colour, and the middle of it: a panorama of two halves keeps the border.
  cv::Mat wide(100, 4000, CV_8UC3, cv::Scalar(0, 0, 255));
  wide(cv::Rect(2000, 0, 2000, 100)).setTo(cv::Scalar(255, 0, 0));
  const cv::Mat out = run("resize=64x64^", wide);
  ASSERT_EQ(out.size(), cv::Size(64, 64));
  EXPECT_EQ(out.at<cv::Vec3b>(32, 0), cv::Vec3b(0, 0, 255));
  EXPECT_EQ(out.at<cv::Vec3b>(32, 63), cv::Vec3b(255, 0, 0));
}

// --max-megapixels bounds what an op makes, not only what is decoded: a plain resize of a thin
// strip to one side (1x65535 to 1024x is 1024 x 2^24 pixels: geometry caps a side at 2^24) is refused before it allocates.
TEST_F(OpsTest, AnOpThatWouldMakeTooManyPixelsIsRefusedBeforeItRuns) {
  const auto strip_chain = parse_op_chain(std::vector<std::string>{"resize=1024x"});
  try {
    (void)run_op_chain(strip_chain, synthetic_image(1, 65535, 1), 0, 200'000'000);
    ADD_FAILURE() << "the resize ran";
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("1024x16777216"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--max-megapixels"), std::string::npos) << e.what();
  }
  // The limit counts the largest image an op makes: a fill's result (its cover is cut first)
  // and a chain's later ops; 0 is no limit.
  const auto chain = parse_op_chain(std::vector<std::string>{"gray", "resize=100x100!"});
  EXPECT_THROW((void)run_op_chain(chain, synthetic_image(10, 10), 0, 9'999), ImageError);
  EXPECT_EQ(run_op_chain(chain, synthetic_image(10, 10), 0, 10'000).size(), cv::Size(100, 100));
  EXPECT_EQ(run_op_chain(chain, synthetic_image(10, 10), 0, 0).size(), cv::Size(100, 100));
  const auto fill = parse_op_chain(std::vector<std::string>{"resize=64x64^"});
  EXPECT_EQ(run_op_chain(fill, synthetic_image(1, 65535, 1), 0, 64 * 64).size(), cv::Size(64, 64));
}

// The centre crop is the middle of the resized image, pixel for pixel.
TEST_F(OpsTest, FillResizeCentreKeepsTheMiddle) {
  const cv::Mat image = synthetic_image(400, 200);
  const cv::Mat resized = resize_image(image, {200, 100});
  EXPECT_EQ(cv::norm(run("resize=100x100^", image), resized(cv::Rect(50, 0, 100, 100)), cv::NORM_INF), 0);
}

// A reduced JPEG decode hands the op a smaller image and the full size: the result has the
// size the full image would give, and the resize targets come from the full size.
TEST_F(OpsTest, FillResizeFromAReducedDecodeHasTheFullSizesResult) {
  const auto op = parse_op("resize=100x100^");
  EXPECT_EQ(op->output_size({1600, 900}), cv::Size(178, 100));
  const cv::Mat quarter = synthetic_image(400, 225);
  EXPECT_EQ(op->run_from(quarter, {1600, 900}).size(), cv::Size(100, 100));
  EXPECT_EQ(cv::norm(op->run_from(quarter, {1600, 900}), op->run(resize_image(quarter, {178, 100})),
                     cv::NORM_INF),
            0);
}

// An object off-centre in a featureless field: attention keeps it, the centre crop does not.
TEST_F(OpsTest, AttentionCropKeepsTheSalientObject) {
  struct Case {
    cv::Size size;
    cv::Rect object;
    cv::Size box;
  };
  for (const Case& c : {Case{{600, 200}, {470, 40, 100, 100}, {200, 200}},  // right
                        Case{{600, 200}, {20, 60, 90, 90}, {200, 200}},    // left
                        Case{{200, 600}, {50, 30, 100, 100}, {200, 200}},  // top
                        Case{{300, 900}, {40, 700, 120, 120}, {300, 300}},  // bottom
                        Case{{1200, 400}, {900, 100, 200, 200}, {400, 400}}}) {
    const cv::Mat image = field_with_object(c.size, c.object);
    const cv::Rect window = crop_window(image, c.box, CropMode::attention);
    EXPECT_EQ(window.size(), c.box);
    EXPECT_EQ(window & c.object, c.object) << "object " << c.object << " not in " << window;
    const cv::Rect centre = crop_window(image, c.box, CropMode::centre);
    EXPECT_NE(centre & c.object, c.object) << "the test would pass without attention";
  }
  // Through the op: the object, 100x100 once the image is scaled to 600x200, is all in the
  // output; none of it is in the middle.
  const cv::Mat image = field_with_object({1200, 400}, {900, 100, 200, 200});
  const cv::Mat out = run("resize=200x200^:attention", image);
  ASSERT_EQ(out.size(), cv::Size(200, 200));
  EXPECT_GT(saturated_pixels(out), 9500);
  EXPECT_EQ(saturated_pixels(run("resize=200x200^", image)), 0);
}

// Nothing to prefer: attention keeps the middle, as the centre crop does; and it gives the
// same window every time (every backend must write the same bytes).
TEST_F(OpsTest, AttentionOnAFeaturelessImageIsTheCentreAndDeterministic) {
  const cv::Mat flat(300, 900, CV_8UC3, cv::Scalar(90, 90, 90));
  EXPECT_EQ(crop_window(flat, {300, 300}, CropMode::attention), cv::Rect(300, 0, 300, 300));
  const cv::Mat busy = synthetic_image(640, 360, 3, 7);
  const cv::Rect first = crop_window(busy, {200, 360}, CropMode::attention);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(crop_window(busy, {200, 360}, CropMode::attention), first);
  cv::Mat map = attention_map(busy);
  EXPECT_EQ(map.type(), CV_8UC1);
  EXPECT_LE(std::max(map.cols, map.rows), kAttentionMapSide);
}

TEST_F(OpsTest, OnlyResizeAnnouncesItsOutputSize) {
  for (const OpInfo* info : op_registry()) {
    if (info->name == "resize") continue;
    std::string text(info->name);
    if (info->name == "crop") text += "=10x10+0+0";
    else if (info->name == "rotate") text += "=90";
    else if (info->name == "flip") text += "=h";
    else if (info->name == "blur") text += "=1";
    EXPECT_FALSE(parse_op(text)->output_size({100, 100})) << text;
  }
}

TEST_F(OpsTest, CropKeepsTheRegion) {
  const cv::Mat image = synthetic_image(120, 80);
  cv::Mat out = run("crop=50x40+10+20", image);
  ASSERT_EQ(out.size(), cv::Size(50, 40));
  EXPECT_EQ(cv::norm(out, image(cv::Rect(10, 20, 50, 40)), cv::NORM_INF), 0);
  EXPECT_EQ(run("crop=500x500+100+60", image).size(), cv::Size(20, 20));
  EXPECT_THROW((void)run("crop=5x5+200+200", image), std::runtime_error);
}

TEST_F(OpsTest, RotateTurnsClockwise) {
  const cv::Mat image = synthetic_image(120, 80);
  cv::Mat r90 = run("rotate=90", image);
  ASSERT_EQ(r90.size(), cv::Size(80, 120));
  // Clockwise: the top-left pixel ends up top-right.
  EXPECT_EQ(r90.at<cv::Vec3b>(0, 79), image.at<cv::Vec3b>(0, 0));
  EXPECT_EQ(run("rotate=180", image).size(), cv::Size(120, 80));
  EXPECT_EQ(run("rotate=270", image).size(), cv::Size(80, 120));
}

TEST_F(OpsTest, FlipMirrors) {
  const cv::Mat image = synthetic_image(120, 80);
  EXPECT_EQ(run("flip=h", image).at<cv::Vec3b>(5, 119), image.at<cv::Vec3b>(5, 0));
  EXPECT_EQ(run("flip=v", image).at<cv::Vec3b>(79, 5), image.at<cv::Vec3b>(0, 5));
}

TEST_F(OpsTest, GrayGivesOneChannelAndKeepsAlpha) {
  EXPECT_EQ(run("gray", synthetic_image(64, 48)).channels(), 1);
  const cv::Mat rgba = synthetic_image(64, 48, 4);
  cv::Mat out = run("gray", rgba);
  ASSERT_EQ(out.channels(), 4);
  cv::Mat a_in, a_out;
  cv::extractChannel(rgba, a_in, 3);
  cv::extractChannel(out, a_out, 3);
  EXPECT_EQ(cv::norm(a_in, a_out, cv::NORM_INF), 0);
}

TEST_F(OpsTest, FiltersKeepSizeAndChannels) {
  for (int channels : {1, 3, 4}) {
    const cv::Mat image = synthetic_image(64, 48, channels);
    for (std::string_view op : {"blur=1.5", "sharpen", "sharpen=2", "equalize", "equalize=3",
                                "invert", "denoise", "denoise=3"}) {
      cv::Mat out = run(op, image);
      EXPECT_EQ(out.size(), image.size()) << op << " on " << channels;
      EXPECT_EQ(out.type(), image.type()) << op << " on " << channels;
      EXPECT_GT(cv::norm(out, image, cv::NORM_L1), 0) << op << " changed nothing on " << channels;
    }
  }
}

TEST_F(OpsTest, InvertTwiceIsTheIdentity) {
  const cv::Mat image = synthetic_image(64, 48, 4);
  EXPECT_EQ(cv::norm(run("invert", run("invert", image)), image, cv::NORM_INF), 0);
}

TEST_F(OpsTest, EdgesAndThresholdGiveBinaryMasks) {
  const cv::Mat image = synthetic_image(96, 64);
  for (std::string_view op : {"edges", "threshold"}) {
    cv::Mat out = run(op, image);
    ASSERT_EQ(out.type(), CV_8UC1) << op;
    EXPECT_EQ(out.size(), image.size());
    const int white = cv::countNonZero(out == 255), black = cv::countNonZero(out == 0);
    EXPECT_EQ(white + black, out.rows * out.cols) << op;
    EXPECT_GT(white, 0) << op;
    EXPECT_GT(black, 0) << op;
  }
}

TEST_F(OpsTest, ChainRunsInOrder) {
  std::vector<std::string> texts{"crop=100x50+0+0", "rotate=90", "resize=50%"};
  auto chain = parse_op_chain(texts);
  EXPECT_EQ(run_op_chain(chain, synthetic_image(120, 80)).size(), cv::Size(25, 50));
}

}  // namespace
}  // namespace forkpool::images
