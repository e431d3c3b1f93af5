// Planning a batch: which inputs, which outputs, what is skipped or refused, before any work.

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/xattr.h>

#include "common/leak_check.hpp"
#include "common/sandbox.hpp"
#include "forkpool/images/batch.hpp"
#include "forkpool/images/files.hpp"
#include "forkpool/images/output_name.hpp"
#include "image_test_support.hpp"

namespace forkpool::images {
namespace {

using namespace forkpool::testing;
using BatchPlanTest = LeakCheckedTest;

ImageBatchSettings settings_for(const TempDir& dir) {
  ImageBatchSettings s;
  s.inputs.paths = {dir / "in"};
  s.output_dir = dir / "out";
  s.recipe.ops = {"gray"};
  return s;
}

void make_inputs(const TempDir& dir) {
  for (const char* name : {"in/b.jpg", "in/a.png", "in/sub/c.webp", "in/sub/deep/d.tiff",
                           "in/notes.txt", "in/.hidden.jpg", "in/.cache/e.jpg"})
    write_bytes(dir / name, "x");
}

std::vector<std::string> relatives(const ImageBatch& batch) {
  std::vector<std::string> out;
  for (const auto& item : batch.items) out.push_back(item.relative.native());
  return out;
}

TEST_F(BatchPlanTest, ListsImagesOfTheFolderSorted) {
  TempDir dir;
  make_inputs(dir);
  auto batch = plan_image_batch(settings_for(dir));
  EXPECT_EQ(relatives(batch), (std::vector<std::string>{"a.png", "b.jpg"}));
  EXPECT_EQ(batch.items[0].output, dir / "out" / "a.png");
  EXPECT_EQ(batch.count(ItemStatus::pending), 2u);
}

TEST_F(BatchPlanTest, RecursiveKeepsRelativePaths) {
  TempDir dir;
  make_inputs(dir);
  auto s = settings_for(dir);
  s.inputs.recursive = true;
  auto batch = plan_image_batch(s);
  EXPECT_EQ(relatives(batch),
            (std::vector<std::string>{"a.png", "b.jpg", "sub/c.webp", "sub/deep/d.tiff"}));
  EXPECT_EQ(batch.items[3].output, dir / "out" / "sub" / "deep" / "d.tiff");
}

TEST_F(BatchPlanTest, FormatChangesTheExtension) {
  TempDir dir;
  make_inputs(dir);
  auto s = settings_for(dir);
  s.format = ImageFormat::webp;
  auto batch = plan_image_batch(s);
  EXPECT_EQ(batch.items[1].output, dir / "out" / "b.webp");
}

TEST_F(BatchPlanTest, ExistingOutputsAreSkippedUnlessOverwrite) {
  TempDir dir;
  make_inputs(dir);
  write_bytes(dir / "out/b.jpg", "done before");
  auto batch = plan_image_batch(settings_for(dir));
  EXPECT_EQ(batch.items[1].status, ItemStatus::skipped);
  EXPECT_EQ(batch.items[0].status, ItemStatus::pending);
  auto s = settings_for(dir);
  s.overwrite = true;
  EXPECT_EQ(plan_image_batch(s).count(ItemStatus::pending), 2u);
}

std::string refusal(const ImageBatchSettings& s) {
  try {
    (void)plan_image_batch(s);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST_F(BatchPlanTest, TwoInputsWithOneOutputAreRefusedWithThePairNamed) {
  TempDir dir;
  write_bytes(dir / "in/x.jpg", "x");
  write_bytes(dir / "in/x.png", "x");
  auto s = settings_for(dir);
  s.format = ImageFormat::webp;
  const auto why = refusal(s);
  EXPECT_NE(why.find((dir / "in/x.jpg").native() + " and " + (dir / "in/x.png").native() +
                     " would both be written to " + (dir / "out/x.webp").native()),
            std::string::npos)
      << why;
  // A pattern that tells them apart resolves it.
  s.output_pattern = "{dir}/{stem}_{ext}.webp";
  s.format.reset();
  auto batch = plan_image_batch(s);
  ASSERT_EQ(batch.items.size(), 2u);
  EXPECT_EQ(batch.items[0].output, dir / "out/x_jpg.webp");
  EXPECT_EQ(batch.items[1].output, dir / "out/x_png.webp");
}

TEST_F(BatchPlanTest, FilesAndFoldersMixAndTheSameFileTwiceIsOneInput) {
  TempDir dir;
  make_inputs(dir);
  write_bytes(dir / "loose/e.png", "x");
  write_bytes(dir / "loose/.f.jpg", "x");  // hidden, but named: taken
  auto s = settings_for(dir);
  s.inputs.paths = {dir / "in" / "sub", dir / "loose/e.png", dir / "loose/.f.jpg", dir / "in/sub/c.webp"};
  auto batch = plan_image_batch(s);
  EXPECT_EQ(relatives(batch), (std::vector<std::string>{".f.jpg", "c.webp", "e.png"}));
  EXPECT_EQ(batch.items[2].output, dir / "out/e.png");
  s.inputs.paths.push_back(dir / "nope.jpg");
  EXPECT_NE(refusal(s).find("does not exist"), std::string::npos);
}

TEST_F(BatchPlanTest, ListedPathsKeepTheirRelativeFolder) {
  TempDir dir;
  make_inputs(dir);
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  auto s = settings_for(dir);
  s.inputs.paths.clear();
  s.inputs.listed = {"in/sub/c.webp", "./in/./b.jpg", dir / "in/a.png", "in/sub/../sub/deep"};
  auto batch = plan_image_batch(s);
  std::filesystem::current_path(cwd);
  EXPECT_EQ(relatives(batch), (std::vector<std::string>{"a.png", "in/b.jpg", "in/sub/c.webp",
                                                        "in/sub/deep/d.tiff"}));
  EXPECT_EQ(batch.items[2].output, dir / "out/in/sub/c.webp");
}

TEST_F(BatchPlanTest, IncludeAndExcludeMatchTheNameOrTheRelativePath) {
  TempDir dir;
  make_inputs(dir);
  write_bytes(dir / "in/sub/raw/r.jpg", "x");
  auto s = settings_for(dir);
  s.inputs.recursive = true;
  s.inputs.include = {"*.jpg", "*.tiff"};
  EXPECT_EQ(relatives(plan_image_batch(s)),
            (std::vector<std::string>{"b.jpg", "sub/deep/d.tiff", "sub/raw/r.jpg"}));
  s.inputs.exclude = {"raw"};  // a folder's name: not walked
  EXPECT_EQ(relatives(plan_image_batch(s)), (std::vector<std::string>{"b.jpg", "sub/deep/d.tiff"}));
  s.inputs.include.clear();
  s.inputs.exclude = {"sub/*"};  // with a '/': the relative path, '*' across folders
  EXPECT_EQ(relatives(plan_image_batch(s)), (std::vector<std::string>{"a.png", "b.jpg"}));
  s.inputs.exclude = {"*.JPG"};  // case-sensitive
  EXPECT_EQ(plan_image_batch(s).items.size(), 5u);
}

TEST_F(BatchPlanTest, HiddenFilesAndFoldersAreWalkedOnlyWhenAsked) {
  TempDir dir;
  make_inputs(dir);
  auto s = settings_for(dir);
  s.inputs.recursive = true;
  s.inputs.hidden = true;
  EXPECT_EQ(relatives(plan_image_batch(s)),
            (std::vector<std::string>{".cache/e.jpg", ".hidden.jpg", "a.png", "b.jpg", "sub/c.webp",
                                      "sub/deep/d.tiff"}));
}

TEST_F(BatchPlanTest, ASymlinkedFolderIsNotWalkedButASymlinkedFileIsTaken) {
  TempDir dir;
  make_inputs(dir);
  std::filesystem::create_directory_symlink(".", dir / "in" / "loop");
  std::filesystem::create_symlink("sub/c.webp", dir / "in" / "link.webp");
  auto s = settings_for(dir);
  s.inputs.recursive = true;
  EXPECT_EQ(relatives(plan_image_batch(s)),
            (std::vector<std::string>{"a.png", "b.jpg", "link.webp", "sub/c.webp", "sub/deep/d.tiff"}));
  s.inputs.paths = {dir / "in" / "loop"};  // named: followed
  s.inputs.recursive = false;
  EXPECT_EQ(relatives(plan_image_batch(s)), (std::vector<std::string>{"a.png", "b.jpg", "link.webp"}));
}

TEST_F(BatchPlanTest, AnOutputPatternNamesEachOutput) {
  TempDir dir;
  make_inputs(dir);
  auto s = settings_for(dir);
  s.inputs.recursive = true;
  s.output_pattern = "small/{dir}/tn_{stem}.{ext}";
  auto batch = plan_image_batch(s);
  EXPECT_EQ(batch.items[0].output, dir / "out/small/tn_a.png");
  EXPECT_EQ(batch.items[3].output, dir / "out/small/sub/deep/tn_d.tiff");
  s.format = ImageFormat::jpeg;
  EXPECT_EQ(plan_image_batch(s).items[3].output, dir / "out/small/sub/deep/tn_d.jpg");
  s.output_pattern = "{stem}.png";  // the name's extension, not --format's
  EXPECT_NE(refusal(s).find("which is not --format jpg"), std::string::npos) << refusal(s);
  s.format.reset();
  s.output_pattern = "{stem}.txt";
  EXPECT_NE(refusal(s).find("not an image name"), std::string::npos) << refusal(s);
  s.output_pattern = "{dir}/../{stem}.{ext}";
  EXPECT_NE(refusal(s).find("leaves the output folder"), std::string::npos) << refusal(s);
}

TEST(OutputPatternTest, PlaceholdersAndBraces) {
  const OutputPattern p("{dir}/{{x}}{stem}_small.{ext}");
  EXPECT_EQ(p.expand("trip/a.JPG", std::nullopt), "trip/{x}a_small.JPG");
  EXPECT_EQ(p.expand("a.JPG", ImageFormat::webp), "{x}a_small.webp");
  EXPECT_EQ(OutputPattern().expand("a/b/c.tif", std::nullopt), "a/b/c.tif");
  for (const char* bad : {"", "/abs/{stem}.jpg", "{dir}/{name}.jpg", "{stem", "{stem}}.jpg", "{dir}/x.jpg"})
    EXPECT_THROW((void)OutputPattern(bad), std::invalid_argument) << bad;
}

TEST_F(BatchPlanTest, InPlaceOutputsAreTheInputsAndSkipWhatThisRecipeMade) {
  TempDir dir;
  make_inputs(dir);
  auto s = settings_for(dir);
  s.output_dir.clear();
  s.in_place = true;
  auto batch = plan_image_batch(s);
  ASSERT_EQ(batch.items.size(), 2u);
  EXPECT_EQ(batch.items[0].output, batch.items[0].input);
  EXPECT_EQ(batch.count(ItemStatus::pending), 2u);
  // One an earlier run made with this recipe (it records it) is skipped, unless --overwrite.
  const auto record = s.recipe.output_record(ImageFormat::jpeg);
  if (::setxattr((dir / "in/b.jpg").c_str(), "user.forkpool.recipe", record.data(), record.size(), 0) == 0) {
    batch = plan_image_batch(s);
    EXPECT_EQ(batch.items[1].status, ItemStatus::skipped);
    EXPECT_EQ(batch.items[1].existing, ExistingOutput::up_to_date);
    s.overwrite = true;
    EXPECT_EQ(plan_image_batch(s).count(ItemStatus::pending), 2u);
  }
  s.output_dir = dir / "out";
  EXPECT_NE(refusal(s).find("give no output folder"), std::string::npos);
  s.output_dir.clear();
  s.format = ImageFormat::png;
  EXPECT_NE(refusal(s).find("no --format"), std::string::npos);
  // Through a symlink, two inputs are one file: it would be done twice.
  s.format.reset();
  std::filesystem::create_symlink("b.jpg", dir / "in" / "c.jpg");
  EXPECT_NE(refusal(s).find("would both be written to"), std::string::npos) << refusal(s);
}

TEST(PathListTest, NewlineOrNulSeparated) {
  using P = std::vector<std::filesystem::path>;
  using namespace std::string_view_literals;
  EXPECT_EQ(parse_path_list("a.jpg\nb c.jpg\n\nd.jpg", false), (P{"a.jpg", "b c.jpg", "d.jpg"}));
  EXPECT_EQ(parse_path_list("a\nb.jpg\0c.jpg\0"sv, true), (P{"a\nb.jpg", "c.jpg"}));
  EXPECT_THROW((void)parse_path_list("a.jpg\0b.jpg"sv, false), std::invalid_argument);
  EXPECT_TRUE(parse_path_list("", true).empty());
}

TEST_F(BatchPlanTest, OutputInsideInputIsRefusedUnlessAsked) {
  TempDir dir;
  make_inputs(dir);
  auto s = settings_for(dir);
  for (auto out : {dir / "in", dir / "in" / "results", dir / "in" / "sub" / ".." / "x"}) {
    s.output_dir = out;
    EXPECT_THROW((void)plan_image_batch(s), std::invalid_argument) << out;
  }
  s.output_dir = dir / "in" / "results";
  s.output_inside_input = true;
  s.inputs.recursive = true;
  write_bytes(dir / "in/results/old.jpg", "x");  // an earlier run's output is not an input
  auto batch = plan_image_batch(s);
  EXPECT_EQ(batch.items.size(), 4u);
}

TEST_F(BatchPlanTest, InputsAreNeverOverwritten) {
  TempDir dir;
  make_inputs(dir);
  auto s = settings_for(dir);
  s.output_dir = dir / "in";
  s.output_inside_input = true;
  s.overwrite = true;
  auto batch = plan_image_batch(s);
  ASSERT_EQ(batch.items.size(), 2u);
  for (const auto& item : batch.items) {
    EXPECT_EQ(item.status, ItemStatus::failed);
    EXPECT_NE(item.error.find("would overwrite the input"), std::string::npos);
  }
  s.format = ImageFormat::tiff;  // a.tiff, b.tiff: new names, fine
  EXPECT_EQ(plan_image_batch(s).count(ItemStatus::pending), 2u);
}

TEST_F(BatchPlanTest, BadSettingsAreRefused) {
  TempDir dir;
  make_inputs(dir);
  auto s = settings_for(dir);
  s.recipe.ops = {};
  EXPECT_THROW((void)plan_image_batch(s), std::invalid_argument);
  s.recipe.ops = {"resize=12q"};
  EXPECT_THROW((void)plan_image_batch(s), std::invalid_argument);
  s = settings_for(dir);
  s.recipe.quality = 0;
  EXPECT_THROW((void)plan_image_batch(s), std::invalid_argument);
  s = settings_for(dir);
  s.inputs.paths = {dir / "nope"};
  EXPECT_THROW((void)plan_image_batch(s), std::invalid_argument);
  s.inputs.paths = {dir / "in" / "notes.txt"};  // named, but not an image
  EXPECT_THROW((void)plan_image_batch(s), std::invalid_argument);
}

TEST_F(BatchPlanTest, AnOutputFolderThatCannotBeMadeIsRefused) {
  TempDir dir;
  make_inputs(dir);
  write_bytes(dir / "file", "x");
  auto s = settings_for(dir);
  s.output_dir = dir / "file" / "out";
  EXPECT_NE(refusal(s).find("is not a folder"), std::string::npos) << refusal(s);
}

TEST_F(BatchPlanTest, AnOutputFolderThatMayNotBeWrittenIsRefused) {
  TempDir dir;
  make_inputs(dir);
  std::filesystem::create_directories(dir / "out");
  std::filesystem::create_directories(dir / "locked");
  std::filesystem::permissions(dir / "out", std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  std::filesystem::permissions(dir / "locked", std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  int result = run_unprivileged([&] {
    auto s = settings_for(dir);
    if (refusal(s).find("the output folder") == std::string::npos) return 1;
    if (refusal(s).find("is not writable: Permission denied") == std::string::npos) return 2;
    s.output_dir = dir / "locked" / "new";
    if (refusal(s).find("cannot make the output folder") == std::string::npos) return 3;
    return 0;
  });
  std::filesystem::permissions(dir / "out", std::filesystem::perms::owner_all);
  std::filesystem::permissions(dir / "locked", std::filesystem::perms::owner_all);
  if (result == kSandboxUnavailable) GTEST_SKIP() << "user namespaces are not available here";
  EXPECT_EQ(result, 0);
}

TEST_F(BatchPlanTest, LinksFromTheOutputTreeOntoInputsAreRefused) {
  TempDir dir;
  make_inputs(dir);
  auto s = settings_for(dir);
  std::filesystem::create_directories(dir / "out");
  std::filesystem::create_symlink("../in/b.jpg", dir / "out" / "b.jpg");
  EXPECT_NE(refusal(s).find("leads into the input folder"), std::string::npos) << refusal(s);
  std::filesystem::remove(dir / "out" / "b.jpg");
  // A hard link is the input itself, whatever the name.
  std::filesystem::create_hard_link(dir / "in" / "a.png", dir / "out" / "a.png");
  EXPECT_NE(refusal(s).find("is the input"), std::string::npos) << refusal(s);
  std::filesystem::remove(dir / "out" / "a.png");
  // With the output inside the input, a link onto an input is refused all the same.
  s.output_dir = dir / "in" / "results";
  s.output_inside_input = true;
  std::filesystem::create_directories(dir / "in" / "results");
  std::filesystem::create_symlink("../a.png", dir / "in" / "results" / "a.png");
  EXPECT_NE(refusal(s).find("is the input"), std::string::npos) << refusal(s);
}

TEST_F(BatchPlanTest, ASymlinkOutOfTheOutputTreeElsewhereIsWrittenThrough) {
  TempDir dir;
  make_inputs(dir);
  std::filesystem::create_directories(dir / "elsewhere");
  std::filesystem::create_directories(dir / "out");
  std::filesystem::create_symlink("../elsewhere", dir / "out" / "sub");
  auto s = settings_for(dir);
  s.inputs.recursive = true;
  auto batch = plan_image_batch(s);
  EXPECT_EQ(batch.count(ItemStatus::pending), 4u);
}

TEST_F(BatchPlanTest, AnOutputThatIsNotARegularFileFails) {
  TempDir dir;
  make_inputs(dir);
  std::filesystem::create_directories(dir / "out");
  ASSERT_EQ(::mkfifo((dir / "out" / "a.png").c_str(), 0600), 0);
  auto s = settings_for(dir);
  s.overwrite = true;
  auto batch = plan_image_batch(s);
  EXPECT_EQ(batch.items[0].status, ItemStatus::failed);
  EXPECT_NE(batch.items[0].error.find("not a regular file"), std::string::npos);
}

TEST_F(BatchPlanTest, AnUnreadableSubfolderIsAFailedItemAndTheRestIsPlanned) {
  TempDir dir;
  make_inputs(dir);
  std::filesystem::permissions(dir / "in" / "sub" / "deep", std::filesystem::perms::none);
  int result = run_unprivileged([&] {
    auto s = settings_for(dir);
    s.inputs.recursive = true;
    auto batch = plan_image_batch(s);
    if (relatives(batch) != std::vector<std::string>{"a.png", "b.jpg", "sub/c.webp", "sub/deep"}) return 1;
    const auto& folder = batch.items[3];
    if (folder.status != ItemStatus::failed || !folder.output.empty()) return 2;
    if (folder.error != "cannot read this folder: Permission denied") return 3;
    s.inputs.paths = {dir / "in" / "sub" / "deep"};
    if (refusal(s).find("cannot read the input folder") == std::string::npos) return 4;
    return 0;
  });
  std::filesystem::permissions(dir / "in" / "sub" / "deep", std::filesystem::perms::owner_all);
  if (result == kSandboxUnavailable) GTEST_SKIP() << "user namespaces are not available here";
  EXPECT_EQ(result, 0);
}

}  // namespace
}  // namespace forkpool::images
