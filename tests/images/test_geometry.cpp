// Geometry and crop-region syntax and the sizes they give.

#include <gtest/gtest.h>

#include "common/leak_check.hpp"
#include "forkpool/images/geometry.hpp"

namespace forkpool::images {
namespace {

using forkpool::testing::LeakCheckedTest;
using GeometryTest = LeakCheckedTest;

cv::Size resized(std::string_view geometry, cv::Size in) { return parse_geometry(geometry).apply(in); }

TEST_F(GeometryTest, FitInsideKeepsAspectAndHitsTheLimitingSide) {
  EXPECT_EQ(resized("800x600", {1600, 900}), cv::Size(800, 450));
  EXPECT_EQ(resized("800x600", {900, 1600}), cv::Size(338, 600));
  EXPECT_EQ(resized("1024x1024", {5120, 2880}), cv::Size(1024, 576));
  EXPECT_EQ(resized("800x600", {400, 300}), cv::Size(800, 600));  // enlarges without '>'
}

TEST_F(GeometryTest, OneSideKeepsAspect) {
  EXPECT_EQ(resized("800x", {1600, 900}), cv::Size(800, 450));
  EXPECT_EQ(resized("x300", {1600, 900}), cv::Size(533, 300));
  EXPECT_EQ(resized("800", {1600, 900}), cv::Size(800, 450));
}

TEST_F(GeometryTest, PercentScalesBothSides) {
  EXPECT_EQ(resized("50%", {641, 427}), cv::Size(321, 214));
  EXPECT_EQ(resized("200%", {10, 5}), cv::Size(20, 10));
  EXPECT_EQ(resized("1%", {10, 10}), cv::Size(1, 1));  // never below one pixel
}

TEST_F(GeometryTest, ShrinkOnlyLeavesSmallerImagesAlone) {
  EXPECT_EQ(resized("800x600>", {400, 300}), cv::Size(400, 300));
  EXPECT_EQ(resized("800x600>", {1600, 900}), cv::Size(800, 450));
  EXPECT_EQ(resized("800x600>", {700, 700}), cv::Size(600, 600));
  EXPECT_EQ(resized("50%>", {100, 100}), cv::Size(50, 50));
}

TEST_F(GeometryTest, EnlargeOnlyLeavesLargerImagesAlone) {
  EXPECT_EQ(resized("800x600<", {1600, 900}), cv::Size(1600, 900));
  EXPECT_EQ(resized("800x600<", {400, 200}), cv::Size(800, 400));
}

TEST_F(GeometryTest, ExactIgnoresAspect) {
  EXPECT_EQ(resized("800x600!", {1600, 900}), cv::Size(800, 600));
  EXPECT_EQ(resized("64x64!", {10, 300}), cv::Size(64, 64));
  EXPECT_EQ(resized("800x600!>", {400, 300}), cv::Size(400, 300));
}

TEST_F(GeometryTest, BadSyntaxIsRefusedWithTheAcceptedForms) {
  for (std::string_view bad : {"", "x", "800y600", "-5x10", "0x100", "100x0", "abc", "50%%",
                               "0%", "800x600<>", "8000000x10", "12.5x10", ">"}) {
    try {
      (void)parse_geometry(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("expected WxH"), std::string::npos) << e.what();
    }
  }
}

cv::Size scaled(std::string_view geometry, cv::Size in) { return parse_geometry(geometry).scaled_size(in); }

// '^' scales so that the image covers the box (the larger of the two scales), and the crop
// then cuts it to exactly the box, whatever the image's shape.
TEST_F(GeometryTest, FillCoversTheBoxThenCropsToExactlyIt) {
  EXPECT_EQ(scaled("200x200^", {1600, 900}), cv::Size(356, 200));  // landscape
  EXPECT_EQ(scaled("200x200^", {900, 1600}), cv::Size(200, 356));  // portrait
  EXPECT_EQ(scaled("200x200^", {1000, 1000}), cv::Size(200, 200));  // square
  EXPECT_EQ(scaled("300x100^", {1600, 900}), cv::Size(300, 169));
  EXPECT_EQ(scaled("200x200^", {50, 100}), cv::Size(200, 400));  // enlarges without '>'
  for (cv::Size in : {cv::Size(1600, 900), cv::Size(900, 1600), cv::Size(1000, 1000),
                      cv::Size(50, 100), cv::Size(1, 1000), cv::Size(201, 199)}) {
    EXPECT_EQ(resized("200x200^", in), cv::Size(200, 200)) << in;
    EXPECT_EQ(resized("300x100^", in), cv::Size(300, 100)) << in;
    const cv::Size s = scaled("300x100^", in);
    EXPECT_TRUE(s.width == 300 || s.height == 100) << in << " -> " << s;  // one side exact
    EXPECT_GE(s.width, 300);
    EXPECT_GE(s.height, 100);
  }
}

// As ImageMagick: '>' applies the covering scale only when it shrinks, '<' only when it
// enlarges. The crop comes after in both cases, and never adds pixels: an image left smaller
// than the box on a side keeps that side.
TEST_F(GeometryTest, FillWithShrinkOrEnlargeOnly) {
  EXPECT_EQ(scaled("200x200^>", {1600, 900}), cv::Size(356, 200));
  EXPECT_EQ(resized("200x200^>", {1600, 900}), cv::Size(200, 200));
  EXPECT_EQ(scaled("200x200^>", {300, 100}), cv::Size(300, 100));  // covering would enlarge
  EXPECT_EQ(resized("200x200^>", {300, 100}), cv::Size(200, 100));
  EXPECT_EQ(resized("200x200^>", {100, 50}), cv::Size(100, 50));
  EXPECT_EQ(resized("200x200^>", {200, 200}), cv::Size(200, 200));
  EXPECT_EQ(scaled("200x200^<", {1600, 900}), cv::Size(1600, 900));  // covering would shrink
  EXPECT_EQ(resized("200x200^<", {1600, 900}), cv::Size(200, 200));
  EXPECT_EQ(scaled("200x200^<", {50, 100}), cv::Size(200, 400));
  EXPECT_EQ(resized("200x200^<", {50, 100}), cv::Size(200, 200));
  EXPECT_EQ(resized("200x200>^", {1600, 900}), cv::Size(200, 200));  // flags in any order
}

TEST_F(GeometryTest, FillNamesWhichPartIsKept) {
  EXPECT_EQ(parse_geometry("200x200^").crop, CropMode::centre);
  EXPECT_EQ(parse_geometry("200x200^:centre").crop, CropMode::centre);
  EXPECT_EQ(parse_geometry("200x200^:center").crop, CropMode::centre);
  EXPECT_EQ(parse_geometry("200x200^>:attention").crop, CropMode::attention);
  EXPECT_TRUE(parse_geometry("200x200^").fill);
  EXPECT_FALSE(parse_geometry("200x200").fill);
  // Without '^' the sizes are as before.
  EXPECT_EQ(resized("200x200", {1600, 900}), scaled("200x200", {1600, 900}));
}

TEST_F(GeometryTest, FillNeedsABoxAndRefusesWhatContradictsIt) {
  const std::pair<std::string_view, std::string_view> bad[] = {
      {"200x^", "needs both a width and a height"},
      {"x200^", "needs both a width and a height"},
      {"200^", "needs both a width and a height"},
      {"50%^", "needs both a width and a height"},
      {"200x200^!", "exclude each other"},
      {"200x200^<>", "exclude each other"},
      {"200x200:attention", "needs '^'"},
      {"200x200>:centre", "needs '^'"},
      {"200x200^:middle", "unknown crop 'middle'"},
      {"200x200^:", "unknown crop ''"},
      {"200x200^:attention:centre", "unknown crop"},
      {"^", "no size given"},
  };
  for (auto [text, why] : bad) {
    try {
      (void)parse_geometry(text);
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << text << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find("expected WxH"), std::string::npos) << e.what();
    }
  }
}

TEST_F(GeometryTest, CentreCropIsTheMiddle) {
  const cv::Mat image(200, 356, CV_8UC3, cv::Scalar::all(0));
  EXPECT_EQ(crop_window(image, {200, 200}, CropMode::centre), cv::Rect(78, 0, 200, 200));
  EXPECT_EQ(crop_window(image.t(), {200, 200}, CropMode::centre), cv::Rect(0, 78, 200, 200));
  EXPECT_EQ(crop_window(image, {356, 200}, CropMode::centre), cv::Rect(0, 0, 356, 200));
  EXPECT_EQ(crop_window(image, {100, 50}, CropMode::centre), cv::Rect(128, 75, 100, 50));
}

TEST_F(GeometryTest, CropRegionParsesSizeAndOffsets) {
  EXPECT_EQ(parse_crop_region("640x480+10+20").rect, cv::Rect(10, 20, 640, 480));
  EXPECT_EQ(parse_crop_region("64x48").rect, cv::Rect(0, 0, 64, 48));
  EXPECT_EQ(parse_crop_region("64x48-8+4").rect, cv::Rect(-8, 4, 64, 48));
}

TEST_F(GeometryTest, CropRegionIsClippedToTheImage) {
  EXPECT_EQ(parse_crop_region("100x100+50+50").clip({120, 80}), cv::Rect(50, 50, 70, 30));
  EXPECT_THROW((void)parse_crop_region("10x10+200+0").clip({120, 80}), std::runtime_error);
}

TEST_F(GeometryTest, BadCropRegionIsRefused) {
  for (std::string_view bad : {"", "640", "x480", "640x", "640x480+10", "640x480+a+b", "640x480+1+2+3",
                               "0x10+1+1"})
    EXPECT_THROW((void)parse_crop_region(bad), std::invalid_argument) << bad;
}

// Found by reading for the fuzz harness: from_chars took a second sign, so "--2147483648"
// negated INT_MIN (undefined) and "+-8" meant -8.
TEST_F(GeometryTest, CropOffsetsTakeOneSignEach) {
  for (std::string_view bad : {"1x1--2147483648+0", "1x1+-8+0", "1x1--8+0", "1x1+0++8", "1x1+0+"})
    EXPECT_THROW((void)parse_crop_region(bad), std::invalid_argument) << bad;
  EXPECT_EQ(parse_crop_region("1x1-1048576+1048576").rect, cv::Rect(-1048576, 1048576, 1, 1));
}

// A side scaled from the other once went through long to int and wrapped: 1048576 wide on a
// 1 x 1048576 image gave a height of 1 (2^40 wrapped to 0). It now stops at 2^24.
TEST_F(GeometryTest, AScaledSideNeverWraps) {
  EXPECT_EQ(resized("1048576x", {1, 1 << 20}), cv::Size(1 << 20, 1 << 24));
  EXPECT_EQ(resized("x1048576", {1 << 20, 1}), cv::Size(1 << 24, 1 << 20));
  EXPECT_EQ(resized("10000%", {1 << 20, 3}), cv::Size(1 << 24, 300));
  EXPECT_EQ(resized("2x", {1, 1 << 20}), cv::Size(2, 1 << 21));  // long, but no wrap: as asked
}

TEST_F(GeometryTest, ResizeImageGivesExactlyTheAskedSize) {
  cv::Mat image(300, 400, CV_8UC3, cv::Scalar(10, 20, 30));
  for (cv::Size to : {cv::Size(100, 75), cv::Size(333, 250), cv::Size(800, 10), cv::Size(400, 300)})
    EXPECT_EQ(resize_image(image, to).size(), to);
}

}  // namespace
}  // namespace forkpool::images
