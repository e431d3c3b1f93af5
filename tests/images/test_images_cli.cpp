// End-to-end: the built `forkpool images` on temporary folders of small images.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <chrono>
#include <map>
#include <cstdlib>
#include <thread>

#include "common/leak_check.hpp"
#include "common/run_command.hpp"
#include "common/sandbox.hpp"
#include "forkpool/ipc/output_file.hpp"
#include "image_test_support.hpp"


namespace forkpool::testing {
namespace {

namespace fs = std::filesystem;
using ImagesCliTest = LeakCheckedTest;

// A small mixed folder: JPEGs (one large enough for reduced decoding, one in a subfolder),
// a PNG with alpha, a WebP, a TIFF and the EXIF-rotated sample.
void make_mixed_inputs(const fs::path& in) {
  write_image(in / "a.jpg", synthetic_image(160, 120, 3, 1));
  write_image(in / "big.jpg", synthetic_image(1280, 960, 3, 2));
  write_image(in / "alpha.png", synthetic_image(90, 70, 4, 3));
  write_image(in / "c.webp", synthetic_image(100, 80, 3, 4));
  write_image(in / "d.tiff", synthetic_image(64, 64, 3, 5));
  write_image(in / "trip" / "day1" / "e.jpg", synthetic_image(200, 100, 3, 6));
  fs::copy_file(sample_image("coffee_exif6.jpg"), in / "coffee_exif6.jpg");
}

std::vector<std::string> temp_files_under(const fs::path& root) {
  std::vector<std::string> found;
  for (const auto& name : files_under(root))
    if (name.find("forkpool-tmp") != std::string::npos) found.push_back(name);
  return found;
}

std::string fmt_hex(unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  return {kHex[c >> 4], kHex[c & 15]};
}

std::string fmt_name(int i) { return (i < 10 ? "img_0" : "img_") + std::to_string(i) + ".jpg"; }

cv::Mat decode(const fs::path& path) { return cv::imread(path.native(), cv::IMREAD_UNCHANGED); }

TEST_F(ImagesCliTest, ReadmeCommandProcessesTheSampleData) {
  TempDir dir;
  auto r = forkpool_images({FORKPOOL_SOURCE_DIR "/data/images", (dir / "out").native(), "-r",
                            "--op", "resize=800x800>", "--op", "sharpen"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("8 done, 0 skipped, 0 failed"), std::string::npos) << r.out;
  for (const auto& name : files_under(dir / "out")) EXPECT_FALSE(decode(dir / "out" / name).empty()) << name;
  EXPECT_EQ(files_under(dir / "out").size(), 8u);
  // EXIF orientation 6: stored 400x600, shown (and written) 600x400.
  EXPECT_EQ(decode(dir / "out" / "coffee_exif6.jpg").size(), cv::Size(600, 400));
  EXPECT_EQ(decode(dir / "out" / "retina.jpg").size(), cv::Size(800, 800));
  EXPECT_EQ(decode(dir / "out" / "logo.png").channels(), 4);  // alpha kept
  EXPECT_TRUE(fs::exists(dir / "out" / "textures" / "gravel.png"));
}

TEST_F(ImagesCliTest, OutputsKeepRelativePathsAndDecode) {
  TempDir dir;
  make_mixed_inputs(dir / "in");
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "-r", "--op",
                            "resize=50%", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;  // -q
  EXPECT_EQ(files_under(dir / "out"), files_under(dir / "in"));
  EXPECT_EQ(decode(dir / "out" / "trip" / "day1" / "e.jpg").size(), cv::Size(100, 50));
  EXPECT_EQ(decode(dir / "out" / "big.jpg").size(), cv::Size(640, 480));
  // Without -r only the top folder.
  auto flat = forkpool_images({(dir / "in").native(), (dir / "flat").native(), "--op", "gray"});
  ASSERT_EQ(flat.exit_code, 0) << flat.err;
  EXPECT_FALSE(fs::exists(dir / "flat" / "trip"));
  EXPECT_EQ(files_under(dir / "flat").size(), 6u);
}

TEST_F(ImagesCliTest, FormatAndQualityChooseTheEncoder) {
  TempDir dir;
  make_mixed_inputs(dir / "in");
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray",
                            "--format", "webp", "--quality", "50"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "out" / "a.webp"));
  EXPECT_TRUE(fs::exists(dir / "out" / "d.webp"));
  EXPECT_FALSE(decode(dir / "out" / "alpha.webp").empty());
}

// Each output's mtime and inode, to tell an output left alone from one written again.
std::map<std::string, std::pair<fs::file_time_type, ino_t>> output_stamps(const fs::path& out) {
  std::map<std::string, std::pair<fs::file_time_type, ino_t>> stamps;
  for (const auto& name : files_under(out)) {
    struct stat st {};
    EXPECT_EQ(::stat((out / name).c_str(), &st), 0) << name;
    stamps[name] = {fs::last_write_time(out / name), st.st_ino};
  }
  return stamps;
}

// Whether the file system under `dir` keeps user extended attributes, where forkpool records
// the recipe of each output. Where it does not (some NFS, FAT), every output counts as made
// without a recipe, which AnOutputWithoutARecipeIsKeptUnlessOverwrite covers.
bool user_xattrs_work(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path probe = dir / ".xattr-probe";
  write_bytes(probe, {});
  const bool works = ::setxattr(probe.c_str(), "user.forkpool.probe", "1", 1, 0) == 0;
  fs::remove(probe);
  return works;
}

nlohmann::json reasons_in(const fs::path& report) {
  auto json = nlohmann::json::parse(read_bytes(report));
  nlohmann::json reasons;
  for (const auto& item : json["items"])
    reasons[fs::path(item["input"].get<std::string>()).filename().native()] =
        item.value("reason", "");
  return reasons;
}

TEST_F(ImagesCliTest, RerunWithTheSameRecipeRewritesNothingWhateverTheBackend) {
  TempDir dir;
  if (!user_xattrs_work(dir / "probe")) GTEST_SKIP() << "no user extended attributes here";
  make_mixed_inputs(dir / "in");
  const std::vector<std::string> args{(dir / "in").native(), (dir / "out").native(), "--op", "invert"};
  auto first = args;
  first.insert(first.end(), {"--backend", "threads", "-j", "2"});
  ASSERT_EQ(forkpool_images(first).exit_code, 0);
  const auto before = output_stamps(dir / "out");
  ASSERT_EQ(before.size(), 6u);
  auto again = args;
  again.insert(again.end(), {"--backend", "processes", "-j", "3", "--json", (dir / "r.json").native()});
  auto r = forkpool_images(again);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0 done, 6 skipped, 0 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("; 6 up to date, 0 redone\n"), std::string::npos) << r.out;
  EXPECT_EQ(output_stamps(dir / "out"), before);
  EXPECT_EQ(reasons_in(dir / "r.json")["a.jpg"], "up to date");
  auto json = nlohmann::json::parse(read_bytes(dir / "r.json"));
  EXPECT_EQ(json["summary"]["up_to_date"], 6);
  EXPECT_EQ(json["summary"]["redone"], 0);
}

TEST_F(ImagesCliTest, AnotherRecipeRedoesWhatItChanges) {
  TempDir dir;
  if (!user_xattrs_work(dir / "probe")) GTEST_SKIP() << "no user extended attributes here";
  make_mixed_inputs(dir / "in");
  const std::string in = (dir / "in").native(), out = (dir / "out").native();
  ASSERT_EQ(forkpool_images({in, out, "--op", "gray"}).exit_code, 0);
  const cv::Mat gray = decode(dir / "out" / "a.jpg");
  auto r = forkpool_images({in, out, "--op", "invert", "--json", (dir / "r.json").native()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("6 done, 0 skipped"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("; 0 up to date, 6 redone (6 recipe changed)\n"), std::string::npos) << r.out;
  EXPECT_EQ(reasons_in(dir / "r.json")["alpha.png"], "recipe changed");
  EXPECT_EQ(nlohmann::json::parse(read_bytes(dir / "r.json"))["summary"]["redone"], 6);
  EXPECT_EQ(gray.channels(), 1);
  EXPECT_EQ(decode(dir / "out" / "a.jpg").channels(), 3);  // inverted colour, not the old gray

  // Quality makes JPEG and WebP bytes, not PNG and TIFF ones: only those four are redone.
  const auto before = output_stamps(dir / "out");
  r = forkpool_images({in, out, "--op", "invert", "--quality", "60"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("; 2 up to date, 4 redone (4 recipe changed)\n"), std::string::npos) << r.out;
  const auto after = output_stamps(dir / "out");
  EXPECT_EQ(after.at("alpha.png"), before.at("alpha.png"));
  EXPECT_EQ(after.at("d.tiff"), before.at("d.tiff"));
  EXPECT_NE(after.at("c.webp"), before.at("c.webp"));

  // The limit on pixels refuses inputs; it makes no bytes.
  r = forkpool_images({in, out, "--op", "invert", "--quality", "60", "--max-megapixels", "50"});
  EXPECT_NE(r.out.find("; 6 up to date, 0 redone\n"), std::string::npos) << r.out;
}

TEST_F(ImagesCliTest, AnInputNewerThanItsOutputIsRedone) {
  TempDir dir;
  if (!user_xattrs_work(dir / "probe")) GTEST_SKIP() << "no user extended attributes here";
  make_mixed_inputs(dir / "in");
  const std::vector<std::string> args{(dir / "in").native(), (dir / "out").native(), "--op", "invert"};
  ASSERT_EQ(forkpool_images(args).exit_code, 0);
  const auto before = output_stamps(dir / "out");
  // As `touch` would, but a second past the output: clocks coarser than the two runs apart.
  fs::last_write_time(dir / "in" / "a.jpg", fs::last_write_time(dir / "out" / "a.jpg") + std::chrono::seconds(1));
  auto dry = args;
  dry.push_back("-n");
  auto r = forkpool_images(dry);
  EXPECT_NE(r.out.find((dir / "in" / "a.jpg").native() + " -> " + (dir / "out" / "a.jpg").native() +
                       " (input newer)\n"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dry run: 1 to do, 5 skipped, 0 failed of 6; 5 up to date, 1 redone (1 input newer); nothing written"),
            std::string::npos) << r.out;
  r = forkpool_images(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 done, 5 skipped"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("; 5 up to date, 1 redone (1 input newer)\n"), std::string::npos) << r.out;
  auto after = output_stamps(dir / "out");
  EXPECT_NE(after.at("a.jpg"), before.at("a.jpg"));
  after.erase("a.jpg");
  auto rest = before;
  rest.erase("a.jpg");
  EXPECT_EQ(after, rest);
}

TEST_F(ImagesCliTest, OverwriteRedoesEveryOutput) {
  TempDir dir;
  make_mixed_inputs(dir / "in");
  const std::vector<std::string> args{(dir / "in").native(), (dir / "out").native(), "--op", "invert"};
  ASSERT_EQ(forkpool_images(args).exit_code, 0);
  const auto before = output_stamps(dir / "out");
  auto with_overwrite = args;
  with_overwrite.insert(with_overwrite.end(), {"--overwrite", "--json", (dir / "r.json").native()});
  auto r = forkpool_images(with_overwrite);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("6 done, 0 skipped"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("; 0 up to date, 6 redone (6 --overwrite)\n"), std::string::npos) << r.out;
  EXPECT_EQ(reasons_in(dir / "r.json")["d.tiff"], "overwrite");
  for (const auto& [name, stamp] : output_stamps(dir / "out"))
    EXPECT_NE(stamp.second, before.at(name).second) << name << " was not written again";
}

// An output that records no recipe may be a person's work (or an older forkpool's, or a copy
// that lost its attributes): it is kept, whatever its age, and said so; --overwrite replaces it.
TEST_F(ImagesCliTest, AnOutputWithoutARecipeIsKeptUnlessOverwrite) {
  TempDir dir;
  make_mixed_inputs(dir / "in");
  const std::vector<std::string> args{(dir / "in").native(), (dir / "out").native(), "--op", "invert"};
  ASSERT_EQ(forkpool_images(args).exit_code, 0);
  fs::remove(dir / "out" / "a.jpg");
  write_bytes(dir / "out" / "a.jpg", "kept");
  fs::last_write_time(dir / "out" / "a.jpg", fs::last_write_time(dir / "in" / "a.jpg") - std::chrono::hours(1));
  auto again = args;
  again.insert(again.end(), {"--json", (dir / "r.json").native()});
  auto r = forkpool_images(again);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0 done, 6 skipped"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("; 5 up to date, 0 redone, 1 kept without a recipe (--overwrite replaces it)\n"),
            std::string::npos) << r.out;
  EXPECT_EQ(read_bytes(dir / "out" / "a.jpg"), "kept");
  EXPECT_EQ(reasons_in(dir / "r.json")["a.jpg"], "no recipe recorded");
  EXPECT_EQ(nlohmann::json::parse(read_bytes(dir / "r.json"))["summary"]["no_recipe"], 1);
  auto with_overwrite = args;
  with_overwrite.push_back("--overwrite");
  auto over = forkpool_images(with_overwrite);
  EXPECT_EQ(over.exit_code, 0) << over.err;
  EXPECT_NE(over.out.find("6 done, 0 skipped"), std::string::npos) << over.out;
  EXPECT_EQ(decode(dir / "out" / "a.jpg").size(), cv::Size(160, 120));
  r = forkpool_images(args);
  EXPECT_NE(r.out.find("; 6 up to date, 0 redone\n"), std::string::npos) << r.out;
}

TEST_F(ImagesCliTest, BadInputsAreNamedAndTheRestIsDone) {
  TempDir dir;
  const fs::path in = dir / "in";
  write_image(in / "good1.jpg", synthetic_image(80, 60, 3, 1));
  write_image(in / "good2.png", synthetic_image(80, 60, 4, 2));
  write_bytes(in / "empty.jpg", "");
  const std::string jpeg = read_bytes(sample_image("rocket.jpg"));
  write_bytes(in / "truncated.jpg", jpeg.substr(0, jpeg.size() / 2));
  write_bytes(in / "notes.png", "this is text, not a picture\n");
  // A valid PNG signature and header claiming 100000x100000 pixels, and nothing after it.
  std::string png = read_bytes(in / "good2.png");
  const std::string huge_side("\x00\x01\x86\xa0", 4);
  png.replace(16, 4, huge_side);
  png.replace(20, 4, huge_side);
  write_bytes(in / "huge.png", png);
  auto r = forkpool_images({in.native(), (dir / "out").native(), "--op", "blur=1", "--json",
                            (dir / "report.json").native()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("empty.jpg: empty file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("truncated.jpg: truncated JPEG"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("notes.png: not a JPEG, PNG, WebP or TIFF image"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("huge.png: too large to decode: 100000x100000"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("2 done, 0 skipped, 4 failed"), std::string::npos) << r.out;
  EXPECT_EQ(files_under(dir / "out"), (std::vector<std::string>{"good1.jpg", "good2.png"}));

  auto report = nlohmann::ordered_json::parse(read_bytes(dir / "report.json"));
  EXPECT_EQ(report.begin().key(), "tool");  // the fields every report starts with (tests/apps)
  EXPECT_EQ(report["command"], "images");
  ASSERT_EQ(report["items"].size(), 6u);
  EXPECT_EQ(report["summary"]["done"], 2);
  EXPECT_EQ(report["summary"]["failed"], 4);
  for (const auto& item : report["items"]) {
    if (item["status"] == "done") {
      EXPECT_GT(item["output_bytes"].get<int>(), 0);
      EXPECT_EQ(item["output_size"], nlohmann::json({80, 60}));
    } else {
      EXPECT_FALSE(item["error"].get<std::string>().empty());
    }
  }
}

TEST_F(ImagesCliTest, PixelLimitIsConfigurable) {
  TempDir dir;
  write_image(dir / "in" / "a.png", synthetic_image(200, 100));
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray",
                            "--max-megapixels", "0.01"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("too large to decode"), std::string::npos) << r.err;
}

// An op's result is bounded like a decode: the strip's item fails with the reason, the rest is done.
TEST_F(ImagesCliTest, AnOpResultOverThePixelLimitFailsItsItem) {
  TempDir dir;
  write_image(dir / "in" / "strip.png", synthetic_image(1, 400, 1));
  write_image(dir / "in" / "photo.png", synthetic_image(40, 30));
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "resize=1024x",
                            "--max-megapixels", "100"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("strip.png: an op would make a 1024x409600 image (419 megapixels)"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(dir / "out" / "photo.png"));
  EXPECT_FALSE(fs::exists(dir / "out" / "strip.png"));
}

TEST_F(ImagesCliTest, BackendsAndTransportsWriteIdenticalBytes) {
  TempDir dir;
  make_mixed_inputs(dir / "in");
  const std::vector<std::vector<std::string>> runs{
      {"--backend", "serial"},
      {"--backend", "threads", "-j", "2"},
      {"--backend", "processes", "-j", "2", "--transport", "shm"},
      {"--backend", "processes", "-j", "3", "--transport", "pipe"}};
  for (const auto& ops : std::vector<std::vector<std::string>>{
           {"--op", "resize=300x300>", "--op", "sharpen", "--quality", "85"},
           {"--op", "resize=160x160>", "--op", "equalize", "--op", "rotate=90", "--op", "denoise",
            "--format", "png"}}) {
    std::vector<fs::path> outs;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      outs.push_back(dir / ("out" + std::to_string(i)));
      std::vector<std::string> args{(dir / "in").native(), outs.back().native(), "-r"};
      args.insert(args.end(), ops.begin(), ops.end());
      args.insert(args.end(), runs[i].begin(), runs[i].end());
      auto r = forkpool_images(args);
      ASSERT_EQ(r.exit_code, 0) << runs[i][1] << ": " << r.err;
    }
    const auto names = files_under(outs[0]);
    ASSERT_EQ(names.size(), 7u);
    for (std::size_t i = 1; i < outs.size(); ++i) {
      ASSERT_EQ(files_under(outs[i]), names);
      for (const auto& name : names)
        EXPECT_EQ(read_bytes(outs[i] / name), read_bytes(outs[0] / name)) << name << " differs in run " << i;
    }
    for (const auto& out : outs) fs::remove_all(out);
  }
}

TEST_F(ImagesCliTest, AWorkerKilledOnOneFileLosesOnlyThatFile) {
  TempDir dir;
  for (int i = 0; i < 8; ++i)
    write_image(dir / "in" / ("img" + std::to_string(i) + ".jpg"), synthetic_image(120, 90, 3, i));
  ::setenv("FORKPOOL_IMAGES_CRASH_ON", "img3.jpg", 1);
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "blur=2", "-j", "2"});
  ::unsetenv("FORKPOOL_IMAGES_CRASH_ON");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("img3.jpg"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("SIGKILL"), std::string::npos) << r.err;
  auto outputs = files_under(dir / "out");
  EXPECT_EQ(outputs.size(), 7u);
  for (const auto& name : outputs) EXPECT_FALSE(decode(dir / "out" / name).empty()) << name;
  EXPECT_TRUE(temp_files_under(dir / "out").empty());
}

// Options and folders in any order: --op takes one word, the folders after it stay folders.
TEST_F(ImagesCliTest, AnOpBeforeTheFoldersTakesOnlyItsOwnWord) {
  TempDir dir;
  write_image(dir / "in" / "a.jpg", synthetic_image(40, 30));
  auto r = forkpool_images({"--op", "gray", (dir / "in").native(), (dir / "out").native(), "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(decode(dir / "out" / "a.jpg").channels(), 1);
}

// --dry-run says what a run would do with each input and writes nothing, not even the folder.
TEST_F(ImagesCliTest, DryRunPrintsThePlanAndWritesNothing) {
  TempDir dir;
  write_image(dir / "in" / "a.jpg", synthetic_image(40, 30));
  write_image(dir / "in" / "b.jpg", synthetic_image(40, 30));
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray", "-n",
                            "--json", (dir / "report.json").native()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, (dir / "in" / "a.jpg").native() + " -> " + (dir / "out" / "a.jpg").native() + "\n" +
                       (dir / "in" / "b.jpg").native() + " -> " + (dir / "out" / "b.jpg").native() + "\n" +
                       "forkpool images: dry run: 2 to do, 0 skipped, 0 failed of 2; nothing written\n");
  EXPECT_FALSE(fs::exists(dir / "out"));
  EXPECT_FALSE(fs::exists(dir / "report.json"));

  fs::create_directories(dir / "out");
  write_image(dir / "out" / "a.jpg", synthetic_image(4, 3));
  r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find((dir / "in" / "a.jpg").native() + " skipped: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 to do, 1 skipped"), std::string::npos) << r.out;
  EXPECT_EQ(files_under(dir / "out").size(), 1u);
}

TEST_F(ImagesCliTest, UsageErrorsGetOneLineAndExitOne) {
  TempDir dir;
  write_image(dir / "in" / "a.jpg", synthetic_image(40, 30));
  struct Case { std::vector<std::string> args; std::string says; };
  const std::vector<Case> cases{
      {{(dir / "in").native(), (dir / "in" / "out").native(), "--op", "gray"}, "inside the input folder"},
      {{(dir / "in").native(), (dir / "in").native(), "--op", "gray"}, "is the input folder"},
      {{(dir / "in").native(), (dir / "out").native(), "--op", "resize=12y"}, "bad geometry '12y'"},
      {{(dir / "in").native(), (dir / "out").native(), "--op", "sparkle"}, "unknown op 'sparkle'"},
      {{(dir / "in").native(), (dir / "out").native()}, "no --op given"},
      {{(dir / "nope").native(), (dir / "out").native(), "--op", "gray"}, "does not exist"},
      {{(dir / "in").native(), (dir / "out").native(), "--op", "gray", "--format", "gif"}, "--format: gif not in {jpg,png,webp,tiff}"},
      {{(dir / "in").native(), "--op", "gray"}, "needs inputs and an output folder"},
      // A huge limit once overflowed the default job timeout derived from it: every job timed out.
      {{(dir / "in").native(), (dir / "out").native(), "--op", "gray", "--max-megapixels", "1e12"},
       "--max-megapixels: '1e12' is not a number of megapixels above 0 and up to 100000"},
      {{(dir / "in").native(), (dir / "out").native(), "--op", "gray", "--max-megapixels", "0"},
       "is not a number of megapixels"},
      // One op per --op: a second word is not silently another op (it once ran only `invert`).
      {{(dir / "in").native(), (dir / "out").native(), "--op", "gray", "invert"},
       "'invert' follows an --op apart from the other paths: one op per --op"},
  };
  for (const auto& c : cases) {
    auto r = forkpool_images(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.says;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir / "out"));
  EXPECT_FALSE(fs::exists(dir / "in" / "out"));
}

TEST_F(ImagesCliTest, ListOpsPrintsEveryOpWithItsParameters) {
  auto r = run_command({FORKPOOL_BINARY, "images", "--list-ops"});
  ASSERT_EQ(r.exit_code, 0);
  for (const char* expected : {"resize=GEOMETRY", "crop=WxH+X+Y", "rotate=90|180|270", "flip=h|v",
                               "gray", "blur=SIGMA", "sharpen[=AMOUNT]", "edges", "threshold",
                               "equalize[=CLIP]", "invert", "denoise[=H]"})
    EXPECT_NE(r.out.find(expected), std::string::npos) << expected;
}

// Waits up to `limit` for the child to exit; SIGKILLs it past that. Returns its exit code.
int wait_for(pid_t pid, std::chrono::seconds limit) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > give_up) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ADD_FAILURE() << "forkpool did not exit after SIGINT";
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class ImagesInterruptTest : public LeakCheckedTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ImagesInterruptTest, CtrlCLeavesOnlyWholeOutputsAndARerunResumes) {
  TempDir dir;
  constexpr int kImages = 24;  // denoise makes each take tens of ms: time to interrupt
  for (int i = 0; i < kImages; ++i)
    write_image(dir / "in" / fmt_name(i), synthetic_image(160, 120, 3, i));
  const std::vector<std::string> args{FORKPOOL_BINARY, "images", (dir / "in").native(),
                                      (dir / "out").native(), "--op", "denoise", "--op",
                                      "resize=100x", "--backend", GetParam(), "-j", "2"};
  pid_t pid = spawn_quiet(args);
  ASSERT_GT(pid, 0);
  // Interrupt once the batch is under way: after the first output is in place.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto finished_outputs = [&] {
    std::size_t n = 0;
    if (fs::exists(dir / "out"))
      for (const auto& name : files_under(dir / "out")) n += name.find("forkpool-tmp") == std::string::npos;
    return n;
  };
  while (finished_outputs() == 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGINT);
  EXPECT_EQ(wait_for(pid, std::chrono::seconds(60)), 130);

  EXPECT_TRUE(temp_files_under(dir / "out").empty());
  const auto outputs = files_under(dir / "out");
  EXPECT_LT(outputs.size(), static_cast<std::size_t>(kImages)) << "finished before the interrupt";
  for (const auto& name : outputs) EXPECT_EQ(decode(dir / "out" / name).size(), cv::Size(100, 75)) << name;

  auto rerun = run_command(args);
  EXPECT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_NE(rerun.out.find(std::to_string(outputs.size()) + " skipped"), std::string::npos) << rerun.out;
  EXPECT_EQ(files_under(dir / "out").size(), static_cast<std::size_t>(kImages));
}

INSTANTIATE_TEST_SUITE_P(Backends, ImagesInterruptTest, ::testing::Values("processes", "threads", "serial"));

// --- Inputs: files and folders, filters, lists; outputs: patterns, suffix, in place ---

// `forkpool images ARGS...` run in the folder `cwd`, through sh (run_command takes no folder).
CommandOutcome forkpool_images_in(const fs::path& cwd, std::vector<std::string> args,
                                  CommandOptions options = {}) {
  args.insert(args.begin(), {"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", cwd.native(),
                             FORKPOOL_BINARY, "images"});
  return run_command(args, std::chrono::seconds(120), std::move(options));
}

TEST_F(ImagesCliTest, FilesAndFoldersMixWithIncludeAndExclude) {
  TempDir dir;
  make_mixed_inputs(dir / "in");
  write_image(dir / "loose" / "z.png", synthetic_image(30, 20, 3, 7));
  write_image(dir / "loose" / ".h.jpg", synthetic_image(30, 20, 3, 8));
  auto r = forkpool_images({(dir / "in").native(), (dir / "loose" / "z.png").native(),
                            (dir / "loose" / ".h.jpg").native(), "-r", "--include", "*.jpg",
                            "--include", "*.png", "--exclude", "day1", "--exclude", "big.*",
                            (dir / "out").native(), "--op", "gray"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Named files are taken whatever their name (.h.jpg); --exclude day1 keeps trip/ out.
  EXPECT_EQ(files_under(dir / "out"),
            (std::vector<std::string>{".h.jpg", "a.jpg", "alpha.png", "coffee_exif6.jpg", "z.png"}));
  // A named file that is not an image name, or is missing, is bad usage: nothing done.
  write_bytes(dir / "notes.txt", "x");
  r = forkpool_images({(dir / "notes.txt").native(), (dir / "out2").native(), "--op", "gray"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is not named as an image"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out2"));
}

TEST_F(ImagesCliTest, FilesFromStdinWithNulSeparators) {
  TempDir dir;
  make_mixed_inputs(dir / "in");
  // A name with a newline in it: only a NUL-separated list can carry it.
  write_image(dir / "in" / "two\nlines.jpg", synthetic_image(40, 30, 3, 9));
  CommandOptions options;
  options.stdin_data = std::string("in/a.jpg\0in/trip/day1/e.jpg\0", 29) +
                       (dir / "in" / "two\nlines.jpg").native() + '\0' + "in/alpha.png";
  auto r = forkpool_images_in(dir.path(), {"--files-from", "-", "-0", "out", "--op", "gray"}, options);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Relative paths keep their folders; an absolute one lands at the top.
  EXPECT_EQ(files_under(dir / "out"), (std::vector<std::string>{"in/a.jpg", "in/alpha.png",
                                                                "in/trip/day1/e.jpg", "two\nlines.jpg"}));
  EXPECT_EQ(decode(dir / "out" / "two\nlines.jpg").channels(), 1);
  // The same list read as lines runs the names together: refused, nothing done.
  r = forkpool_images_in(dir.path(), {"--files-from", "-", "out3", "--op", "gray"}, options);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("read it with -0"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out3"));
  // Newline-separated from a file.
  write_bytes(dir / "list", "in/c.webp\n\nin/d.tiff\n");
  r = forkpool_images_in(dir.path(), {"out4", "--files-from", "list", "--op", "gray"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(files_under(dir / "out4"), (std::vector<std::string>{"in/c.webp", "in/d.tiff"}));
}

TEST_F(ImagesCliTest, TwoInputsWithOneOutputAreRefusedBeforeAnyWork) {
  TempDir dir;
  write_image(dir / "in" / "a.png", synthetic_image(40, 30, 3, 1));
  write_image(dir / "in" / "a.jpg", synthetic_image(40, 30, 3, 2));
  write_image(dir / "in" / "b.jpg", synthetic_image(40, 30, 3, 3));
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray", "--format", "jpg"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find((dir / "in" / "a.jpg").native() + " and " + (dir / "in" / "a.png").native() +
                       " would both be written to " + (dir / "out" / "a.jpg").native()),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out"));
  // The same name in two input folders, too.
  write_image(dir / "other" / "b.jpg", synthetic_image(40, 30, 3, 4));
  r = forkpool_images({(dir / "in").native(), (dir / "other").native(), (dir / "out").native(), "--op", "gray"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("would both be written to " + (dir / "out" / "b.jpg").native()), std::string::npos) << r.err;
  // A pattern that tells them apart: done.
  r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray", "--format", "jpg",
                       "-o", "{stem}-from-{ext}.jpg"});
  EXPECT_EQ(r.exit_code, 1);  // {ext} is --format's extension: still one name
  r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray", "-o", "{stem}_{ext}.jpg"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(files_under(dir / "out"), (std::vector<std::string>{"a_jpg.jpg", "a_png.jpg", "b_jpg.jpg"}));
}

TEST_F(ImagesCliTest, AnOutputPatternOrSuffixNamesTheOutputsAndARerunResumes) {
  TempDir dir;
  make_mixed_inputs(dir / "in");
  const std::string in = (dir / "in").native(), out = (dir / "out").native();
  auto r = forkpool_images({in, out, "-r", "--op", "resize=50%", "-o", "small/{dir}/tn_{stem}.{ext}",
                            "--format", "webp", "--json", (dir / "r.json").native()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto json = nlohmann::json::parse(read_bytes(dir / "r.json"));
  EXPECT_EQ(json["input_dir"], in);
  EXPECT_EQ(json["inputs"], nlohmann::json::array({in}));
  EXPECT_EQ(json["output_pattern"], "small/{dir}/tn_{stem}.{ext}");
  EXPECT_EQ(json["in_place"], false);
  EXPECT_EQ(decode(dir / "out" / "small" / "trip" / "day1" / "tn_e.webp").size(), cv::Size(100, 50));
  EXPECT_TRUE(fs::exists(dir / "out" / "small" / "tn_alpha.webp"));
  EXPECT_EQ(files_under(dir / "out").size(), 7u);
  r = forkpool_images({in, out, "--op", "gray", "--suffix", "_gray"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(decode(dir / "out" / "a_gray.jpg").channels(), 1);
  EXPECT_TRUE(fs::exists(dir / "out" / "d_gray.tiff"));
  if (user_xattrs_work(dir / "probe")) {
    r = forkpool_images({in, out, "--op", "gray", "--suffix", "_gray"});
    EXPECT_NE(r.out.find("0 done, 6 skipped"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("6 up to date"), std::string::npos) << r.out;
  }
  r = forkpool_images({in, out, "--op", "gray", "-o", "{dir}/../{stem}.{ext}"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("leaves the output folder"), std::string::npos) << r.err;
  r = forkpool_images({in, out, "--op", "gray", "-o", "{stem}.{ext}", "--suffix", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not both"), std::string::npos) << r.err;
}

TEST_F(ImagesCliTest, InPlaceReplacesEachInputAndARerunDoesNotApplyItTwice) {
  TempDir dir;
  make_mixed_inputs(dir / "in");
  ::chmod((dir / "in" / "a.jpg").c_str(), 0640);
  auto r = forkpool_images({(dir / "in").native(), "-r", "--in-place", "--op", "resize=50%"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("7 done, 0 skipped, 0 failed"), std::string::npos) << r.out;
  EXPECT_EQ(decode(dir / "in" / "a.jpg").size(), cv::Size(80, 60));
  EXPECT_EQ(decode(dir / "in" / "trip" / "day1" / "e.jpg").size(), cv::Size(100, 50));
  EXPECT_EQ(files_under(dir / "in").size(), 7u);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "in" / "a.jpg").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);  // the replaced file keeps its permissions
  if (user_xattrs_work(dir / "probe")) {
    r = forkpool_images({(dir / "in").native(), "-r", "--in-place", "--op", "resize=50%"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("0 done, 7 skipped"), std::string::npos) << r.out;
    EXPECT_EQ(decode(dir / "in" / "a.jpg").size(), cv::Size(80, 60));
    r = forkpool_images({(dir / "in" / "a.jpg").native(), "--in-place", "--op", "resize=50%", "--overwrite"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(decode(dir / "in" / "a.jpg").size(), cv::Size(40, 30));
  }
  r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--in-place", "--op", "gray"});
  EXPECT_EQ(r.exit_code, 1);
  // With --in-place every path is an input: here one that does not exist.
  EXPECT_NE(r.err.find("input '" + (dir / "out").native() + "' does not exist"), std::string::npos) << r.err;
}

TEST_F(ImagesCliTest, InPlaceInterruptedByCtrlCLeavesEveryOriginalWhole) {
  TempDir dir;
  constexpr int kImages = 24;  // denoise makes each take tens of ms: time to interrupt
  std::map<std::string, std::string> originals;
  for (int i = 0; i < kImages; ++i) {
    write_image(dir / "in" / fmt_name(i), synthetic_image(160, 120, 3, i));
    originals[fmt_name(i)] = read_bytes(dir / "in" / fmt_name(i));
  }
  const std::vector<std::string> args{FORKPOOL_BINARY, "images", (dir / "in").native(), "--in-place",
                                      "--op", "denoise", "--op", "resize=50%", "-j", "2"};
  pid_t pid = spawn_quiet(args);
  ASSERT_GT(pid, 0);
  // Interrupt once the batch is under way: after the first file is replaced.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto replaced = [&] {
    std::size_t n = 0;
    for (const auto& [name, bytes] : originals) n += read_bytes(dir / "in" / name) != bytes;
    return n;
  };
  while (replaced() == 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGINT);
  EXPECT_EQ(wait_for(pid, std::chrono::seconds(60)), 130);

  EXPECT_TRUE(temp_files_under(dir / "in").empty());
  EXPECT_EQ(files_under(dir / "in").size(), static_cast<std::size_t>(kImages));
  std::size_t done = 0;
  for (const auto& [name, bytes] : originals) {
    if (read_bytes(dir / "in" / name) == bytes) continue;  // the original, whole
    ++done;
    EXPECT_EQ(decode(dir / "in" / name).size(), cv::Size(80, 60)) << name;  // or the whole output
  }
  EXPECT_GT(done, 0u);
  EXPECT_LT(done, static_cast<std::size_t>(kImages)) << "finished before the interrupt";

  // Where the recipe can be recorded, a re-run does the rest and leaves the done ones alone
  // (a second resize=50% would make them 40x30).
  if (!user_xattrs_work(dir / "probe")) return;
  auto rerun = run_command(args);
  EXPECT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_NE(rerun.out.find(std::to_string(done) + " skipped"), std::string::npos) << rerun.out;
  for (const auto& [name, bytes] : originals) EXPECT_EQ(decode(dir / "in" / name).size(), cv::Size(80, 60)) << name;
}

TEST_F(ImagesCliTest, ASymlinkInTheOutputTreeIntoTheInputsIsRefusedBeforeAnyWork) {
  TempDir dir;
  write_image(dir / "in" / "a.jpg", synthetic_image(160, 120, 3, 1));
  write_image(dir / "in" / "sub" / "b.jpg", synthetic_image(160, 120, 3, 2));
  const std::string a = read_bytes(dir / "in" / "a.jpg"), b = read_bytes(dir / "in" / "sub" / "b.jpg");
  fs::create_directories(dir / "out1");
  fs::create_symlink("../in/a.jpg", dir / "out1" / "a.jpg");  // a file link onto an input
  fs::create_directories(dir / "out2");
  fs::create_symlink("../in/sub", dir / "out2" / "sub");  // a folder link into the input tree
  for (const char* out : {"out1", "out2"}) {
    auto r = forkpool_images({(dir / "in").native(), (dir / out).native(), "-r", "--overwrite",
                              "--op", "resize=10x10"});
    EXPECT_EQ(r.exit_code, 1) << out << ": " << r.err;
    EXPECT_NE(r.err.find("input folder"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(read_bytes(dir / "in" / "a.jpg") == a) << "an input was replaced";
    EXPECT_TRUE(read_bytes(dir / "in" / "sub" / "b.jpg") == b) << "an input was replaced";
  }
  EXPECT_EQ(files_under(dir / "in"), (std::vector<std::string>{"a.jpg", "sub/b.jpg"}));
}

TEST_F(ImagesCliTest, ANameThatIsNotUtf8IsWrittenToTheReport) {
  TempDir dir;
  const std::string latin1 = "caf\xe9.jpg";  // "café" in Latin-1: not UTF-8
  write_image(dir / "in" / latin1, synthetic_image(80, 60, 3, 1));
  write_image(dir / "in" / "plain.jpg", synthetic_image(80, 60, 3, 2));
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray", "--json",
                            (dir / "report.json").native()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "out" / latin1));
  auto report = nlohmann::json::parse(read_bytes(dir / "report.json"));
  ASSERT_EQ(report["items"].size(), 2u);
  const auto& item = report["items"][0];  // "caf\xe9.jpg" sorts before "plain.jpg"
  EXPECT_EQ(item["status"], "done");
  EXPECT_NE(item["input"].get<std::string>().find("caf\xef\xbf\xbd.jpg"), std::string::npos)
      << "the byte that is not UTF-8 becomes U+FFFD";
  std::string hex;
  const fs::path input = dir / "in" / latin1;
  for (unsigned char c : input.native()) hex += fmt_hex(c);
  EXPECT_EQ(item["input_hex"], hex) << "and the exact bytes are there too";
  EXPECT_FALSE(report["items"][1].contains("input_hex"));
}

TEST_F(ImagesCliTest, AnUnreadableSubfolderIsNamedAndTheRestIsDone) {
  TempDir dir;
  write_image(dir / "in" / "a.jpg", synthetic_image(80, 60, 3, 1));
  write_image(dir / "in" / "locked" / "b.jpg", synthetic_image(80, 60, 3, 2));
  write_image(dir / "in" / "open" / "c.jpg", synthetic_image(80, 60, 3, 3));
  fs::permissions(dir / "in" / "locked", fs::perms::none);
  auto argv = unprivileged_argv({FORKPOOL_BINARY, "images", (dir / "in").native(),
                                 (dir / "out").native(), "-r", "--op", "gray", "--json",
                                 (dir / "report.json").native()});
  if (argv.empty()) {
    fs::permissions(dir / "in" / "locked", fs::perms::owner_all);
    GTEST_SKIP() << "user namespaces are not available here (root reads any folder)";
  }
  auto r = run_command(argv);
  fs::permissions(dir / "in" / "locked", fs::perms::owner_all);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find((dir / "in" / "locked").native()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("2 done, 0 skipped, 1 failed"), std::string::npos) << r.out;
  ASSERT_TRUE(fs::exists(dir / "out"));
  EXPECT_EQ(files_under(dir / "out"), (std::vector<std::string>{"a.jpg", "open/c.jpg"}));
  ASSERT_TRUE(fs::exists(dir / "report.json"));
  auto report = nlohmann::json::parse(read_bytes(dir / "report.json"));
  EXPECT_EQ(report["summary"]["failed"], 1);
}

TEST_F(ImagesCliTest, AFullDiskFailsEachImageByNameAndLeavesNoTemporary) {
  TempDir dir;
  for (int i = 0; i < 6; ++i) write_image(dir / "in" / fmt_name(i), synthetic_image(400, 300, 3, i));
  fs::create_directories(dir / "out");
  // A real full disk: the output folder is a 64 KiB tmpfs; each PNG output is ~100 KiB or more.
  auto argv = on_small_tmpfs_argv(dir / "out", 64 * 1024, dir / "listing",
                                  {FORKPOOL_BINARY, "images", (dir / "in").native(),
                                   (dir / "out").native(), "--op", "blur=1", "--format", "png",
                                   "-j", "2"});
  if (argv.empty()) GTEST_SKIP() << "mount namespaces are not available here";
  auto r = run_command(argv);
  ASSERT_NE(r.exit_code, 125) << "could not mount the tmpfs: " << r.err;
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("img_00.jpg: cannot write"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  const std::string listing = read_bytes(dir / "listing");
  EXPECT_EQ(listing.find("forkpool-tmp"), std::string::npos) << listing;
}

TEST_F(ImagesCliTest, AReportThatCannotBeWrittenAtTheEndIsExitTwoWithOneLine) {
  TempDir dir;
  write_image(dir / "in" / "a.jpg", synthetic_image(80, 60, 3, 1));
  fs::create_symlink("/dev/full", dir / "report.json");
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray", "--json",
                            (dir / "report.json").native(), "-q"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, "forkpool: cannot write the JSON report " + (dir / "report.json").native() +
                       ": write(/dev/full): No space left on device\n");
  EXPECT_TRUE(fs::is_symlink(dir / "report.json")) << "written through, never renamed over";
  EXPECT_EQ(files_under(dir / "out"), std::vector<std::string>{"a.jpg"});
}

TEST_F(ImagesCliTest, ABadReportPathIsRefusedBeforeAnyWork) {
  TempDir dir;
  write_image(dir / "in" / "a.jpg", synthetic_image(80, 60, 3, 1));
  const std::string a = read_bytes(dir / "in" / "a.jpg");
  struct Case { std::string json; std::string says; };
  const std::vector<Case> cases{
      {(dir / "missing" / "r.json").native(), "does not exist"},
      {(dir / "in" / "a.jpg").native(), "is an input"},
      {(dir / "in").native(), "is a folder"},
  };
  for (const auto& c : cases) {
    auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray",
                              "--json", c.json});
    EXPECT_EQ(r.exit_code, 1) << c.json << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(dir / "out")) << c.json;
  }
  EXPECT_TRUE(read_bytes(dir / "in" / "a.jpg") == a) << "the input was replaced";
}

TEST_F(ImagesCliTest, TheReportMayGoIntoTheOutputFolderItMakes) {
  TempDir dir;
  write_image(dir / "in" / "a.jpg", synthetic_image(80, 60, 3, 1));
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray", "--json",
                            (dir / "out" / "report.json").native()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(read_bytes(dir / "out" / "report.json"))["summary"]["done"], 1);
}

TEST_F(ImagesCliTest, RelativeFoldersThatDoNotExistYetAreMade) {
  TempDir dir;
  write_image(dir / "in" / "a.jpg", synthetic_image(80, 60, 3, 1));
  auto r = run_command({"/bin/sh", "-c", "cd \"$1\" && exec \"$2\" images in out/sub --op gray --json out/sub/r.json",
                        "sh", dir.path().native(), FORKPOOL_BINARY});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(files_under(dir / "out"), (std::vector<std::string>{"sub/a.jpg", "sub/r.json"}));
}

TEST_F(ImagesCliTest, TheReportGoesToStdoutForADash) {
  TempDir dir;
  write_image(dir / "in" / "a.jpg", synthetic_image(80, 60, 3, 1));
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray", "--json", "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto report = nlohmann::json::parse(r.out);  // the report alone: no summary line
  EXPECT_EQ(report["summary"]["done"], 1);
}

// A writer in another process, like a second forkpool run writing into the same folder: it
// holds its temporary file (locked, as every forkpool writer does) until told to finish.
class OtherWriter {
 public:
  explicit OtherWriter(const fs::path& target) {
    if (::pipe2(go_, O_CLOEXEC) != 0 || ::pipe2(ready_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    pid_ = ::fork();
    if (pid_ == 0) {
      auto file = ipc::OutputFile::open(target);
      const std::string text = "the other run's output";
      if (!file || !file->write({reinterpret_cast<const std::byte*>(text.data()), text.size()})) ::_exit(3);
      char c = 'r';
      (void)!::write(ready_[1], &c, 1);
      if (::read(go_[0], &c, 1) != 1) ::_exit(4);
      if (c == 'k') ::raise(SIGKILL);  // killed mid-write
      ::_exit(file->commit() ? 0 : 1);
    }
    char c = 0;
    if (::read(ready_[0], &c, 1) != 1) throw std::runtime_error("the other writer did not start");
  }
  ~OtherWriter() {
    for (int fd : {go_[0], go_[1], ready_[0], ready_[1]}) ::close(fd);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  OtherWriter(const OtherWriter&) = delete;
  OtherWriter& operator=(const OtherWriter&) = delete;
  // 'c': commit, 'k': die of SIGKILL. Returns its exit code (128 + signal when killed).
  int finish(char how) {
    (void)!::write(go_[1], &how, 1);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  int go_[2] = {-1, -1};
  int ready_[2] = {-1, -1};
  pid_t pid_ = -1;
};

TEST_F(ImagesCliTest, AnotherRunsFileInProgressIsNeverRemoved) {
  TempDir dir;
  for (int i = 0; i < 4; ++i) write_image(dir / "in" / fmt_name(i), synthetic_image(80, 60, 3, i));
  fs::create_directories(dir / "out");
  // The other run is writing img_01.jpg while this run fails on the same name (its worker
  // dies there): a failed item's leftovers are cleaned up, the other run's live file is not.
  OtherWriter other(dir / "out" / "img_01.jpg");
  ::setenv("FORKPOOL_IMAGES_CRASH_ON", "img_01.jpg", 1);
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "--op", "gray", "-j", "2"});
  ::unsetenv("FORKPOOL_IMAGES_CRASH_ON");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(temp_files_under(dir / "out").size(), 1u) << "the other run's file is still there";
  EXPECT_EQ(other.finish('c'), 0) << "the other run could finish its file";
  EXPECT_EQ(read_bytes(dir / "out" / "img_01.jpg"), "the other run's output");
  EXPECT_TRUE(temp_files_under(dir / "out").empty());
}

TEST_F(ImagesCliTest, TemporariesOfAKilledRunAreRemovedByTheNextRun) {
  TempDir dir;
  for (int i = 0; i < 3; ++i) write_image(dir / "in" / "sub" / fmt_name(i), synthetic_image(80, 60, 3, i));
  write_image(dir / "in" / "top.jpg", synthetic_image(80, 60, 3, 9));
  fs::create_directories(dir / "out" / "sub");
  // A coordinator SIGKILLed mid-write leaves a partial temporary file that nobody holds.
  {
    OtherWriter killed(dir / "out" / "sub" / "img_00.jpg");
    EXPECT_EQ(killed.finish('k'), 128 + SIGKILL);
  }
  write_bytes(dir / "out" / ".top.jpg.forkpool-tmp-4242", "left by an older version");
  ASSERT_EQ(temp_files_under(dir / "out").size(), 2u);
  auto r = forkpool_images({(dir / "in").native(), (dir / "out").native(), "-r", "--op", "gray"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(temp_files_under(dir / "out").empty()) << "the next run over the folder removes them";
  EXPECT_EQ(files_under(dir / "out").size(), 4u);
}

}  // namespace
}  // namespace forkpool::testing
