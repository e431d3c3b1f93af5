// End-to-end: what `forkpool images` does with colour profiles and metadata, on the photo made
// by data/make-colour-photo.sh (Adobe RGB pixels and profile, EXIF with GPS and Orientation 6,
// XMP, IPTC). The outputs are read with exiv2 directly, not with forkpool's metadata layer.

#include <sys/xattr.h>

#include <exiv2/exiv2.hpp>
#include <lcms2.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cmath>

#include "common/leak_check.hpp"
#include "common/run_command.hpp"
#include "image_test_support.hpp"

namespace forkpool::testing {
namespace {

namespace fs = std::filesystem;
using ImagesColourCliTest = LeakCheckedTest;

const fs::path kPhoto = FORKPOOL_SOURCE_DIR "/data/colour/adobe_rgb_gps.jpg";

struct FileMetadata {
  std::vector<unsigned char> icc;
  Exiv2::ExifData exif;
  Exiv2::XmpData xmp;
  Exiv2::IptcData iptc;

  [[nodiscard]] std::string exif_tag(const char* key) const {
    auto it = exif.findKey(Exiv2::ExifKey(key));
    return it == exif.end() ? std::string() : it->toString();
  }
  [[nodiscard]] std::string xmp_tag(const char* key) const {
    auto it = xmp.findKey(Exiv2::XmpKey(key));
    return it == xmp.end() ? std::string() : it->toString();
  }
};

FileMetadata metadata_of(const fs::path& path) {
  auto image = Exiv2::ImageFactory::open(path.native());
  image->readMetadata();
  FileMetadata m;
  if (image->iccProfileDefined())
    m.icc.assign(image->iccProfile()->pData_, image->iccProfile()->pData_ + image->iccProfile()->size_);
  m.exif = image->exifData();
  m.xmp = image->xmpData();
  m.iptc = image->iptcData();
  return m;
}

fs::path photo_folder(const TempDir& dir) {
  fs::create_directories(dir / "in");
  fs::copy_file(kPhoto, dir / "in" / "photo.jpg");
  return dir / "in";
}

// The middle of the first flat patch the script drew, RGB (60, 150, 200) in Adobe RGB, at
// (40, 40) of the photo shown upright, and of the second, RGB (40, 200, 70), at (104, 40).
cv::Vec3b rgb_at(const cv::Mat& bgr, cv::Point p) {
  const auto v = bgr.at<cv::Vec3b>(p);
  return {v[2], v[1], v[0]};
}

TEST_F(ImagesColourCliTest, ProfileAndExifAreKeptUprightWithTheOutputsSizeInEveryFormat) {
  TempDir dir;
  const fs::path in = photo_folder(dir);
  const FileMetadata input = metadata_of(in / "photo.jpg");
  ASSERT_FALSE(input.icc.empty());
  ASSERT_EQ(input.exif_tag("Exif.Image.Orientation"), "6");
  for (const char* format : {"jpg", "png", "webp", "tiff"}) {
    const fs::path out = dir / format;
    auto r = forkpool_images({in.native(), out.native(), "--op", "resize=240x240>", "--format", format});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path output = out / (std::string("photo.") + format);
    const FileMetadata m = metadata_of(output);
    EXPECT_EQ(m.icc, input.icc) << format;  // byte for byte
    EXPECT_EQ(m.exif_tag("Exif.Image.Orientation"), "1") << format;
    EXPECT_EQ(m.exif_tag("Exif.Photo.PixelXDimension"), "240") << format;
    EXPECT_EQ(m.exif_tag("Exif.Photo.PixelYDimension"), "160") << format;
    EXPECT_EQ(m.exif_tag("Exif.GPSInfo.GPSLatitude"), "51/1 28/1 4012/100") << format;
    EXPECT_EQ(m.exif_tag("Exif.GPSInfo.GPSLongitude"), "0/1 0/1 531/100") << format;
    EXPECT_EQ(m.exif_tag("Exif.GPSInfo.GPSLongitudeRef"), "W") << format;
    EXPECT_EQ(m.exif_tag("Exif.Photo.DateTimeOriginal"), "2026:11:30 09:00:00") << format;
    EXPECT_EQ(m.xmp_tag("Xmp.tiff.Orientation"), "1") << format;
    EXPECT_EQ(m.xmp_tag("Xmp.dc.creator"), "forkpool test data") << format;
    // IPTC where the format has a place for it.
    EXPECT_EQ(m.iptc.empty(), std::string(format) == "png" || std::string(format) == "webp") << format;
    // Shown upright by a reader that honours the orientation, and stored upright.
    EXPECT_EQ(cv::imread(output.native(), cv::IMREAD_COLOR).size(), cv::Size(240, 160)) << format;
    // Kept means the pixels are as stored: the patch is still Adobe RGB's values.
    if (std::string(format) == "png") {
      const auto kept = rgb_at(cv::imread(output.native(), cv::IMREAD_COLOR), {20, 20});
      EXPECT_NEAR(kept[0], 60, 4);
      EXPECT_NEAR(kept[2], 200, 4);
    }
  }
}

TEST_F(ImagesColourCliTest, SrgbConvertsThePixelsAsLittleCmsSaysAndLeavesTheOutputUntagged) {
  TempDir dir;
  const fs::path in = photo_folder(dir);
  const cv::Mat input = cv::imread((in / "photo.jpg").native(), cv::IMREAD_COLOR);
  ASSERT_EQ(input.size(), cv::Size(480, 320));
  auto r = forkpool_images({in.native(), (dir / "out").native(), "--op", "resize=50%", "--format", "png",
                            "--colorspace", "srgb", "--json", (dir / "report.json").native()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(read_bytes(dir / "report.json"));
  EXPECT_EQ(report["colorspace"], "srgb");
  EXPECT_EQ(report["strip"], false);
  const fs::path output = dir / "out" / "photo.png";
  const cv::Mat converted = cv::imread(output.native(), cv::IMREAD_COLOR);
  ASSERT_EQ(converted.size(), cv::Size(240, 160));

  // What Little CMS makes of the input's pixel with the input's own profile.
  const FileMetadata source = metadata_of(in / "photo.jpg");
  cmsHPROFILE adobe = cmsOpenProfileFromMem(source.icc.data(), static_cast<cmsUInt32Number>(source.icc.size()));
  cmsHPROFILE srgb = cmsCreate_sRGBProfile();
  cmsHTRANSFORM t = cmsCreateTransform(adobe, TYPE_RGB_8, srgb, TYPE_RGB_8, INTENT_RELATIVE_COLORIMETRIC, 0);
  for (cv::Point at : {cv::Point(40, 40), cv::Point(104, 40)}) {
    const cv::Vec3b before = rgb_at(input, at);
    cv::Vec3b want;
    cmsDoTransform(t, before.val, want.val, 1);
    const cv::Vec3b got = rgb_at(converted, at / 2);
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(got[c], want[c], 3) << "channel " << c << " at " << at;
    EXPECT_GT(cv::norm(cv::Vec3d(before) - cv::Vec3d(want)), 20) << "the colour moved";
  }
  cmsDeleteTransform(t);
  cmsCloseProfile(srgb);
  cmsCloseProfile(adobe);

  const FileMetadata m = metadata_of(output);
  EXPECT_TRUE(m.icc.empty());  // sRGB: untagged, as readers assume
  EXPECT_EQ(m.exif_tag("Exif.Photo.ColorSpace"), "1");
  EXPECT_EQ(m.exif_tag("Exif.GPSInfo.GPSLatitude"), "51/1 28/1 4012/100");
  EXPECT_EQ(m.exif_tag("Exif.Image.Orientation"), "1");
}

TEST_F(ImagesColourCliTest, StripLeavesNoMetadataAtAll) {
  TempDir dir;
  const fs::path in = photo_folder(dir);
  for (const char* format : {"jpg", "png", "webp", "tiff"}) {
    const fs::path out = dir / format;
    auto r = forkpool_images({in.native(), out.native(), "--op", "resize=240x240>", "--format", format, "--strip"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path output = out / (std::string("photo.") + format);
    const FileMetadata m = metadata_of(output);
    EXPECT_TRUE(m.icc.empty()) << format;
    EXPECT_TRUE(m.xmp.empty()) << format;
    EXPECT_TRUE(m.iptc.empty()) << format;
    if (std::string(format) == "tiff") {
      // A TIFF's structure is tags: only the encoder's own are there.
      EXPECT_EQ(m.exif_tag("Exif.GPSInfo.GPSLatitude"), "");
      EXPECT_EQ(m.exif_tag("Exif.Image.Make"), "");
    } else {
      EXPECT_TRUE(m.exif.empty()) << format;
    }
    EXPECT_EQ(cv::imread(output.native(), cv::IMREAD_COLOR).size(), cv::Size(240, 160)) << format;
  }
}

TEST_F(ImagesColourCliTest, AGrayOutputDropsTheRgbProfileAndKeepsTheExif) {
  TempDir dir;
  const fs::path in = photo_folder(dir);
  auto r = forkpool_images({in.native(), (dir / "out").native(), "--op", "gray"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const FileMetadata m = metadata_of(dir / "out" / "photo.jpg");
  EXPECT_TRUE(m.icc.empty());
  EXPECT_EQ(m.exif_tag("Exif.Image.Orientation"), "1");
  EXPECT_EQ(m.exif_tag("Exif.GPSInfo.GPSLongitudeRef"), "W");
}

TEST_F(ImagesColourCliTest, UnknownColourSpaceIsRefusedWithTheChoices) {
  TempDir dir;
  auto r = forkpool_images({photo_folder(dir).native(), (dir / "out").native(), "--op", "gray",
                            "--colorspace", "adobe"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("keep"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("srgb"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out"));
}

bool user_xattrs_work(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path probe = dir / ".xattr-probe";
  write_bytes(probe, {});
  const bool works = ::setxattr(probe.c_str(), "user.forkpool.probe", "1", 1, 0) == 0;
  fs::remove(probe);
  return works;
}

// The colour settings and --strip are part of the recipe an output records: changing either
// redoes the outputs, and the same settings again do nothing.
TEST_F(ImagesColourCliTest, ARerunWithOtherColourOrMetadataSettingsRedoesTheOutputs) {
  TempDir dir;
  if (!user_xattrs_work(dir / "probe")) GTEST_SKIP() << "no user extended attributes here";
  const std::string in = photo_folder(dir).native(), out = (dir / "out").native();
  const fs::path output = dir / "out" / "photo.jpg";
  const std::vector<std::string> op{"--op", "resize=240x240>"};
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{in, out};
    args.insert(args.end(), op.begin(), op.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return forkpool_images(args);
  };
  ASSERT_EQ(run({}).exit_code, 0);
  EXPECT_FALSE(metadata_of(output).icc.empty());

  auto r = run({"--colorspace", "srgb"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0 up to date, 1 redone (1 recipe changed)"), std::string::npos) << r.out;
  EXPECT_TRUE(metadata_of(output).icc.empty());
  EXPECT_EQ(metadata_of(output).exif_tag("Exif.Photo.ColorSpace"), "1");

  r = run({"--colorspace", "srgb", "--strip"});
  EXPECT_NE(r.out.find("0 up to date, 1 redone (1 recipe changed)"), std::string::npos) << r.out;
  EXPECT_TRUE(metadata_of(output).exif.empty());

  r = run({"--colorspace", "srgb", "--strip"});
  EXPECT_NE(r.out.find("1 up to date, 0 redone"), std::string::npos) << r.out;

  r = run({"--colorspace", "keep"});  // the default, said out loud
  EXPECT_NE(r.out.find("0 up to date, 1 redone (1 recipe changed)"), std::string::npos) << r.out;
  EXPECT_FALSE(metadata_of(output).icc.empty());
  r = run({});
  EXPECT_NE(r.out.find("1 up to date, 0 redone"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace forkpool::testing
