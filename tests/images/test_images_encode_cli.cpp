// End-to-end: `forkpool images` fill-and-crop resizes (resize=WxH^) and the encoder options
// of each format, checked in the bytes of the files the built binary writes.

#include <sys/stat.h>
#include <sys/xattr.h>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>

#include "common/leak_check.hpp"
#include "common/run_command.hpp"
#include "image_test_support.hpp"

namespace forkpool::testing {
namespace {

namespace fs = std::filesystem;
using ImagesEncodeCliTest = LeakCheckedTest;

cv::Mat decode(const fs::path& path) { return cv::imread(path.native(), cv::IMREAD_UNCHANGED); }

// What a JPEG's start-of-frame says: its marker (0xC0 baseline, 0xC2 progressive) and each
// component's sampling factors (high nibble across, low nibble down).
struct JpegFrame {
  int marker = 0;
  std::vector<int> sampling;
};

std::optional<JpegFrame> jpeg_frame(const std::string& bytes) {
  std::size_t at = 2;  // after SOI
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  while (at + 4 <= bytes.size()) {
    if (byte(at) != 0xFF) return std::nullopt;
    const int marker = byte(at + 1);
    const std::size_t length = byte(at + 2) << 8 | byte(at + 3);
    if (marker >= 0xC0 && marker <= 0xC2) {
      JpegFrame frame{marker, {}};
      const int components = byte(at + 9);
      for (int c = 0; c < components; ++c) frame.sampling.push_back(byte(at + 10 + 3 * c + 1));
      return frame;
    }
    if (marker == 0xDA) return std::nullopt;  // scan data before any frame
    at += 2 + length;
  }
  return std::nullopt;
}

// The value of a SHORT tag in a TIFF's first IFD (259: Compression).
std::optional<int> tiff_tag(const std::string& bytes, int tag) {
  if (bytes.size() < 8) return std::nullopt;
  const bool little = bytes[0] == 'I';
  auto u16 = [&](std::size_t i) -> unsigned {
    auto b0 = static_cast<unsigned char>(bytes[i]), b1 = static_cast<unsigned char>(bytes[i + 1]);
    return little ? (b1 << 8 | b0) : (b0 << 8 | b1);
  };
  auto u32 = [&](std::size_t i) -> std::uint32_t {
    return little ? (u16(i + 2) << 16 | u16(i)) : (u16(i) << 16 | u16(i + 2));
  };
  const std::uint32_t ifd = u32(4);
  if (ifd + 2 > bytes.size()) return std::nullopt;
  const unsigned entries = u16(ifd);
  for (unsigned e = 0; e < entries; ++e) {
    const std::size_t entry = ifd + 2 + 12 * e;
    if (entry + 12 > bytes.size()) return std::nullopt;
    if (static_cast<int>(u16(entry)) == tag) return static_cast<int>(u16(entry + 8));
  }
  return std::nullopt;
}

TEST_F(ImagesEncodeCliTest, FillResizeCropsEveryShapeToExactlyTheBox) {
  TempDir dir;
  write_image(dir / "in" / "landscape.jpg", synthetic_image(1600, 900, 3, 1));  // decoded at 1/4
  write_image(dir / "in" / "portrait.png", synthetic_image(300, 500, 4, 2));
  write_image(dir / "in" / "square.webp", synthetic_image(240, 240, 3, 3));
  write_image(dir / "in" / "small.tiff", synthetic_image(60, 90, 3, 4));  // enlarged to cover
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "resize=200x200^", "-v"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1/4 decode"), std::string::npos) << r.out;
  for (const char* name : {"landscape.jpg", "portrait.png", "square.webp", "small.tiff"})
    EXPECT_EQ(decode(dir / "out" / name).size(), cv::Size(200, 200)) << name;
  EXPECT_EQ(decode(dir / "out" / "portrait.png").channels(), 4);  // alpha kept

  // '>' never enlarges: the small image keeps its size where it is smaller than the box.
  r = forkpool_images({(dir / "in").native(), (dir / "shrunk").native(), "--op", "resize=200x200^>"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(decode(dir / "shrunk" / "landscape.jpg").size(), cv::Size(200, 200));
  EXPECT_EQ(decode(dir / "shrunk" / "small.tiff").size(), cv::Size(60, 90));
}

TEST_F(ImagesEncodeCliTest, AttentionKeepsTheSalientObjectOnEveryBackend) {
  TempDir dir;
  write_image(dir / "in" / "right.png", field_with_object({1200, 400}, {900, 100, 200, 200}));
  write_image(dir / "in" / "top.png", field_with_object({400, 1200}, {120, 60, 200, 200}));
  std::map<std::string, std::string> first;
  for (const char* backend : {"processes", "threads", "serial"}) {
    const fs::path out = dir / backend;
    auto r = forkpool_images({(dir / "in").native(), out.native(), "--op", "resize=200x200^:attention",
                              "--backend", backend, "-j", "2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* name : {"right.png", "top.png"}) {
      const cv::Mat image = decode(out / name);
      ASSERT_EQ(image.size(), cv::Size(200, 200)) << name;
      // The object, 100x100 once scaled, is all in the crop.
      EXPECT_GT(saturated_pixels(image), 9500) << name << ": the object is not in the crop";
      if (first.count(name) == 0) first[name] = read_bytes(out / name);
      EXPECT_EQ(read_bytes(out / name), first[name]) << backend << " " << name;
    }
  }
  auto r = forkpool_images({(dir / "in").native(), (dir / "centre").native(), "--op", "resize=200x200^:center"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(saturated_pixels(decode(dir / "centre" / "right.png")), 0);  // the middle is grey
}

TEST_F(ImagesEncodeCliTest, JpegProgressiveAndSubsamplingAreInTheFrame) {
  TempDir dir;
  write_image(dir / "in" / "a.png", synthetic_image(160, 120, 3, 1));
  const std::string in = (dir / "in").native();
  struct Case {
    std::vector<std::string> options;
    int marker;
    int luma_sampling;
  };
  const Case cases[] = {
      {{}, 0xC0, 0x22},
      {{"--jpeg-progressive"}, 0xC2, 0x22},
      {{"--jpeg-subsampling", "444"}, 0xC0, 0x11},
      {{"--jpeg-subsampling", "422"}, 0xC0, 0x21},
      {{"--jpeg-subsampling", "420"}, 0xC0, 0x22},
      {{"--jpeg-subsampling", "444", "--jpeg-progressive"}, 0xC2, 0x11},
  };
  int n = 0;
  for (const Case& c : cases) {
    const fs::path out = dir / ("out" + std::to_string(n++));
    std::vector<std::string> args{in, out.native(), "--op", "invert", "--format", "jpg"};
    args.insert(args.end(), c.options.begin(), c.options.end());
    auto r = forkpool_images(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto frame = jpeg_frame(read_bytes(out / "a.jpg"));
    ASSERT_TRUE(frame) << out;
    EXPECT_EQ(frame->marker, c.marker) << out;
    ASSERT_EQ(frame->sampling.size(), 3u);
    EXPECT_EQ(frame->sampling[0], c.luma_sampling) << out;
    EXPECT_EQ(frame->sampling[1], 0x11);
    EXPECT_EQ(frame->sampling[2], 0x11);
    const cv::Mat back = decode(out / "a.jpg");
    ASSERT_EQ(back.size(), cv::Size(160, 120));
    cv::Mat inverted;
    cv::bitwise_not(synthetic_image(160, 120, 3, 1), inverted);
    // The image, within what JPEG at quality 90 loses on this noisy one (~19 per channel at
    // 420; another image would be ~100 off).
    EXPECT_LT(cv::norm(back, inverted, cv::NORM_L1) / back.total() / 3, 25.0) << out;
  }
}

TEST_F(ImagesEncodeCliTest, PngLevelChangesTheSizeNotThePixels) {
  TempDir dir;
  write_image(dir / "in" / "a.png", synthetic_image(320, 240, 4, 1));
  for (const char* level : {"0", "9"}) {
    const fs::path out = dir / std::string("l").append(level);
    auto r = forkpool_images({(dir / "in").native(), out.native(), "--op", "flip=h", "--png-level", level});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const auto level0 = fs::file_size(dir / "l0" / "a.png"), level9 = fs::file_size(dir / "l9" / "a.png");
  EXPECT_GT(level0, 320u * 240 * 4);  // stored: no smaller than the pixels
  EXPECT_LT(level9 * 2, level0);
  EXPECT_EQ(cv::norm(decode(dir / "l0" / "a.png"), decode(dir / "l9" / "a.png"), cv::NORM_INF), 0);
}

TEST_F(ImagesEncodeCliTest, WebpLosslessKeepsEveryPixel) {
  TempDir dir;
  const cv::Mat colour = synthetic_image(200, 150, 3, 1), alpha = synthetic_image(120, 90, 4, 2);
  write_image(dir / "in" / "colour.png", colour);
  write_image(dir / "in" / "alpha.png", alpha);
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "flip=v", "--format",
                            "webp", "--webp-lossless"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  cv::Mat flipped;
  cv::flip(colour, flipped, 0);
  EXPECT_EQ(cv::norm(decode(dir / "out" / "colour.webp"), flipped, cv::NORM_INF), 0);
  cv::flip(alpha, flipped, 0);
  EXPECT_EQ(cv::norm(decode(dir / "out" / "alpha.webp"), flipped, cv::NORM_INF), 0);
  // Lossy, for contrast: the same run without the flag does not keep them.
  r = forkpool_images({(dir / "in").native(), (dir / "lossy").native(), "--op", "flip=v", "--format", "webp"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  cv::flip(colour, flipped, 0);
  EXPECT_GT(cv::norm(decode(dir / "lossy" / "colour.webp"), flipped, cv::NORM_INF), 0);
}

TEST_F(ImagesEncodeCliTest, TiffCompressionIsTheCompressionTag) {
  TempDir dir;
  const cv::Mat image = synthetic_image(100, 80, 3, 1);
  write_image(dir / "in" / "a.tiff", image);
  const std::pair<const char*, int> cases[] = {{"", 5}, {"none", 1}, {"lzw", 5}, {"deflate", 8}};
  for (auto [name, tag] : cases) {
    const fs::path out = dir / (std::string("out_") + name);
    std::vector<std::string> args{(dir / "in").native(), out.native(), "--op", "invert"};
    if (*name) args.insert(args.end(), {"--tiff-compression", name});
    auto r = forkpool_images(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(tiff_tag(read_bytes(out / "a.tiff"), 259), tag) << name;
    cv::Mat inverted;
    cv::bitwise_not(image, inverted);
    EXPECT_EQ(cv::norm(decode(out / "a.tiff"), inverted, cv::NORM_INF), 0) << name;
  }
  EXPECT_GT(fs::file_size(dir / "out_none" / "a.tiff"), fs::file_size(dir / "out_deflate" / "a.tiff"));
}

bool user_xattrs_work(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path probe = dir / ".xattr-probe";
  write_bytes(probe, {});
  const bool works = ::setxattr(probe.c_str(), "user.forkpool.recipe-probe", "1", 1, 0) == 0;
  fs::remove(probe);
  return works;
}

std::map<std::string, std::pair<fs::file_time_type, ino_t>> output_stamps(const fs::path& out) {
  std::map<std::string, std::pair<fs::file_time_type, ino_t>> stamps;
  for (const auto& name : files_under(out)) {
    struct stat st {};
    EXPECT_EQ(::stat((out / name).c_str(), &st), 0) << name;
    stamps[name] = {fs::last_write_time(out / name), st.st_ino};
  }
  return stamps;
}

// Each option is in the recipe of its own format's outputs, and only there: changing it redoes
// those outputs and leaves the others up to date. The crop of a fill is in the op's text.
TEST_F(ImagesEncodeCliTest, ChangingAnEncoderOptionRedoesOnlyItsFormatsOutputs) {
  TempDir dir;
  if (!user_xattrs_work(dir / "probe")) GTEST_SKIP() << "no user extended attributes here";
  write_image(dir / "in" / "a.jpg", synthetic_image(160, 120, 3, 1));
  write_image(dir / "in" / "b.png", synthetic_image(90, 70, 4, 2));
  write_image(dir / "in" / "c.webp", synthetic_image(100, 80, 3, 3));
  write_image(dir / "in" / "d.tiff", synthetic_image(64, 64, 3, 4));
  const std::string in = (dir / "in").native(), out = (dir / "out").native();
  std::vector<std::string> args{in, out, "--op", "resize=50x50^"};
  ASSERT_EQ(forkpool_images(args).exit_code, 0);
  struct Step {
    std::vector<std::string> options;  // added to those before
    std::string redone;                // the one output it redoes; "" for none
  };
  const Step steps[] = {
      {{"--jpeg-progressive"}, "a.jpg"},
      {{"--jpeg-subsampling", "444"}, "a.jpg"},
      {{"--png-level", "9"}, "b.png"},
      {{"--webp-lossless"}, "c.webp"},
      {{"--quality", "50"}, "a.jpg"},  // not c.webp: quality does not apply to lossless WebP
      {{"--tiff-compression", "deflate"}, "d.tiff"},
      {{}, ""},  // the same again: all up to date
  };
  for (const Step& step : steps) {
    args.insert(args.end(), step.options.begin(), step.options.end());
    const auto before = output_stamps(dir / "out");
    auto r = forkpool_images(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string summary = step.redone.empty() ? "; 4 up to date, 0 redone\n"
                                                    : "; 3 up to date, 1 redone (1 recipe changed)\n";
    const std::string option = step.options.empty() ? "(none)" : step.options.front();
    EXPECT_NE(r.out.find(summary), std::string::npos) << option << ": " << r.out;
    const auto after = output_stamps(dir / "out");
    for (const auto& [name, stamp] : before)
      EXPECT_EQ(after.at(name) != stamp, name == step.redone) << option << " " << name;
  }
  // 420 is the default, so saying it is the same recipe as not; the crop is part of the op.
  auto r = forkpool_images({in, out, "--op", "resize=50x50^", "--jpeg-progressive", "--jpeg-subsampling",
                            "444", "--png-level", "9", "--webp-lossless", "--quality", "50",
                            "--tiff-compression", "deflate", "--op", "invert"});
  EXPECT_NE(r.out.find("; 0 up to date, 4 redone (4 recipe changed)\n"), std::string::npos) << r.out;
  ASSERT_EQ(forkpool_images({in, out, "--op", "resize=50x50^"}).exit_code, 0);
  r = forkpool_images({in, out, "--op", "resize=50x50^", "--jpeg-subsampling", "420", "--tiff-compression", "lzw"});
  EXPECT_NE(r.out.find("; 4 up to date, 0 redone\n"), std::string::npos) << r.out;
  r = forkpool_images({in, out, "--op", "resize=50x50^:attention"});
  EXPECT_NE(r.out.find("; 0 up to date, 4 redone (4 recipe changed)\n"), std::string::npos) << r.out;
}

TEST_F(ImagesEncodeCliTest, BadValuesGetOneLineAndExitOne) {
  TempDir dir;
  write_image(dir / "in" / "a.jpg", synthetic_image(40, 30));
  const std::string in = (dir / "in").native(), out = (dir / "out").native();
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const Case cases[] = {
      {{"--op", "resize=200x^"}, "'^' needs both a width and a height"},
      {{"--op", "resize=200x200^!"}, "exclude each other"},
      {{"--op", "resize=200x200:attention"}, "needs '^'"},
      {{"--op", "resize=200x200^:smart"}, "unknown crop 'smart' (centre, center or attention)"},
      {{"--op", "gray", "--png-level", "10"}, "--png-level"},
      {{"--op", "gray", "--png-level", "-1"}, "--png-level"},
      {{"--op", "gray", "--jpeg-subsampling", "411"}, "--jpeg-subsampling"},
      {{"--op", "gray", "--tiff-compression", "zip"}, "--tiff-compression"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args{in, out};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = forkpool_images(args);
    EXPECT_EQ(r.exit_code, 1) << c.says;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST_F(ImagesEncodeCliTest, HelpNamesTheValuesOfEachEncoderOption) {
  auto r = run_command({FORKPOOL_BINARY, "images", "--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* text : {"--jpeg-progressive", "--jpeg-subsampling MODE", "444", "--png-level N",
                           "--webp-lossless", "--tiff-compression NAME", "deflate"})
    EXPECT_NE(r.out.find(text), std::string::npos) << text;
}

}  // namespace
}  // namespace forkpool::testing
