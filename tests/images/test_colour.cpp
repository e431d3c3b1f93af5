// ICC profiles through Little CMS: which pixels a profile describes, and conversion to sRGB
// checked against the colour science done by hand.

#include <lcms2.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/leak_check.hpp"
#include "crafted_images.hpp"
#include "forkpool/images/colour.hpp"
#include "forkpool/images/metadata.hpp"
#include "image_test_support.hpp"

namespace forkpool::images {
namespace {

using namespace forkpool::testing;
using ColourTest = LeakCheckedTest;

std::vector<unsigned char> adobe_rgb_icc() {
  return read_metadata(as_bytes(read_bytes(FORKPOOL_SOURCE_DIR "/data/colour/adobe_rgb_gps.jpg"))).icc;
}

std::vector<unsigned char> saved(cmsHPROFILE profile) {
  cmsUInt32Number size = 0;
  cmsSaveProfileToMem(profile, nullptr, &size);
  std::vector<unsigned char> bytes(size);
  cmsSaveProfileToMem(profile, bytes.data(), &size);
  cmsCloseProfile(profile);
  return bytes;
}

std::vector<unsigned char> grey_icc(double gamma) {
  cmsToneCurve* curve = cmsBuildGamma(nullptr, gamma);
  cmsHPROFILE profile = cmsCreateGrayProfile(cmsD50_xyY(), curve);
  cmsFreeToneCurve(curve);
  return saved(profile);
}

// Adobe RGB (1998) 8-bit values to sRGB 8-bit values by the published matrices (Adobe RGB to
// XYZ D65, XYZ D65 to linear sRGB; both D65, so no chromatic adaptation) and tone curves.
cv::Vec3d adobe_to_srgb(cv::Vec3d rgb) {
  const double a[3][3] = {{0.5767309, 0.1855540, 0.1881852},
                          {0.2973769, 0.6273491, 0.0752741},
                          {0.0270343, 0.0706872, 0.9911085}};
  const double s[3][3] = {{3.2404542, -1.5371385, -0.4985314},
                          {-0.9692660, 1.8760108, 0.0415560},
                          {0.0556434, -0.2040259, 1.0572252}};
  double linear[3], xyz[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) linear[i] = std::pow(rgb[i] / 255.0, 563.0 / 256.0);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) xyz[i] += a[i][j] * linear[j];
  cv::Vec3d out;
  for (int i = 0; i < 3; ++i) {
    double v = 0;
    for (int j = 0; j < 3; ++j) v += s[i][j] * xyz[j];
    v = std::clamp(v, 0.0, 1.0);
    out[i] = 255.0 * (v <= 0.0031308 ? 12.92 * v : 1.055 * std::pow(v, 1 / 2.4) - 0.055);
  }
  return out;
}

TEST_F(ColourTest, NamesOfTheColourSpaceChoices) {
  EXPECT_EQ(colorspace_from_name("keep"), Colorspace::keep);
  EXPECT_EQ(colorspace_from_name("srgb"), Colorspace::srgb);
  EXPECT_EQ(colorspace_from_name("sRGB"), std::nullopt);
  EXPECT_EQ(to_string(Colorspace::srgb), "srgb");
}

TEST_F(ColourTest, AProfileDescribesOnlyPixelsOfItsColourSpace) {
  const auto adobe = adobe_rgb_icc();
  EXPECT_TRUE(icc_describes(adobe, 3));
  EXPECT_TRUE(icc_describes(adobe, 4));
  EXPECT_FALSE(icc_describes(adobe, 1));
  const auto grey = grey_icc(2.2);
  EXPECT_TRUE(icc_describes(grey, 1));
  EXPECT_FALSE(icc_describes(grey, 3));
  EXPECT_FALSE(icc_describes({}, 3));
  std::vector<unsigned char> broken = adobe;
  broken.resize(broken.size() / 3);
  EXPECT_FALSE(icc_describes(broken, 3));
  EXPECT_THROW((void)convert_to_srgb(cv::Mat(2, 2, CV_8UC3, cv::Scalar::all(9)), broken), ImageError);
  EXPECT_THROW((void)convert_to_srgb(cv::Mat(2, 2, CV_8UC1, cv::Scalar::all(9)), adobe), ImageError);
}

TEST_F(ColourTest, AdobeRgbPixelsBecomeTheSrgbPixelsOfTheSameColour) {
  const auto adobe = adobe_rgb_icc();
  for (cv::Vec3d rgb : {cv::Vec3d(60, 150, 200), cv::Vec3d(200, 120, 60), cv::Vec3d(128, 128, 128),
                        cv::Vec3d(255, 255, 255), cv::Vec3d(0, 0, 0), cv::Vec3d(40, 200, 70)}) {
    cv::Mat bgr(3, 5, CV_8UC3, cv::Scalar(rgb[2], rgb[1], rgb[0]));
    const cv::Mat out = convert_to_srgb(bgr, adobe);
    const cv::Vec3d want = adobe_to_srgb(rgb);
    const cv::Vec3b got = out.at<cv::Vec3b>(2, 4);
    for (int i = 0; i < 3; ++i)
      EXPECT_NEAR(got[2 - i], want[i], 1.5) << "channel " << i << " of " << rgb;
  }
  // The values move: the conversion did something.
  EXPECT_GT(std::abs(adobe_to_srgb({60, 150, 200})[0] - 60), 50);
  EXPECT_GT(std::abs(adobe_to_srgb({200, 120, 60})[0] - 200), 20);
}

TEST_F(ColourTest, AlphaIsCopiedAndStridedPixelsAreConverted) {
  const auto adobe = adobe_rgb_icc();
  cv::Mat big(10, 10, CV_8UC4, cv::Scalar(200, 150, 60, 77));
  const cv::Mat roi = big(cv::Rect(2, 3, 5, 4));  // rows not contiguous
  const cv::Mat out = convert_to_srgb(roi, adobe);
  ASSERT_EQ(out.size(), roi.size());
  const cv::Vec3d want = adobe_to_srgb({60, 150, 200});
  for (int y = 0; y < out.rows; ++y)
    for (int x = 0; x < out.cols; ++x) {
      const auto px = out.at<cv::Vec4b>(y, x);
      EXPECT_EQ(px[3], 77);
      EXPECT_NEAR(px[0], want[2], 1.5);
      EXPECT_NEAR(px[2], want[0], 1.5);
    }
}

TEST_F(ColourTest, GreyGoesToSrgbsToneCurve) {
  // Grey with a gamma 1.0 (linear) profile: linear 0.5 is sRGB 188.
  const auto linear = grey_icc(1.0);
  const cv::Mat out = convert_to_srgb(cv::Mat(4, 4, CV_8UC1, cv::Scalar(128)), linear);
  EXPECT_NEAR(out.at<unsigned char>(1, 1), 188, 1.5);
}

}  // namespace
}  // namespace forkpool::images
