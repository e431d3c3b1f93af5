// Planning a batch: which inputs, which outputs, what is skipped or refused, before any work.

#include <gtest/gtest.h>

#include <sys/stat.h>

#include "common/leak_check.hpp"
#include "common/sandbox.hpp"
#include "forkpool/images/batch.hpp"
#include "image_test_support.hpp"

namespace forkpool::images {
namespace {

using namespace forkpool::testing;
using BatchPlanTest = LeakCheckedTest;

ImageBatchSettings settings_for(const TempDir& dir) {
  ImageBatchSettings s;
  s.input_dir = dir / "in";
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
  s.recursive = true;
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

TEST_F(BatchPlanTest, TwoInputsWithOneOutputFailTheSecond) {
  TempDir dir;
  write_bytes(dir / "in/x.jpg", "x");
  write_bytes(dir / "in/x.png", "x");
  auto s = settings_for(dir);
  s.format = ImageFormat::webp;
  auto batch = plan_image_batch(s);
  EXPECT_EQ(batch.items[0].status, ItemStatus::pending);
  EXPECT_EQ(batch.items[1].status, ItemStatus::failed);
  EXPECT_NE(batch.items[1].error.find("same output as x.jpg"), std::string::npos);
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
  s.recursive = true;
  write_bytes(dir / "in/results/old.jpg", "x");  // an earlier run's output is not an input
  auto batch = plan_image_batch(s);
  EXPECT_EQ(batch.items.size(), 4u);
}

TEST_F(BatchPlanTest, InputsAreNeverOverwritten) {
  TempDir dir;
  make_inputs(dir);
  auto s = settings_for(dir);
  s.output_dir = s.input_dir;
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
  s.input_dir = dir / "nope";
  EXPECT_THROW((void)plan_image_batch(s), std::invalid_argument);
  s.input_dir = dir / "in" / "b.jpg";
  EXPECT_THROW((void)plan_image_batch(s), std::invalid_argument);
}

std::string refusal(const ImageBatchSettings& s) {
  try {
    (void)plan_image_batch(s);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
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
  s.recursive = true;
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
    s.recursive = true;
    auto batch = plan_image_batch(s);
    if (relatives(batch) != std::vector<std::string>{"a.png", "b.jpg", "sub/c.webp", "sub/deep"}) return 1;
    const auto& folder = batch.items[3];
    if (folder.status != ItemStatus::failed || !folder.output.empty()) return 2;
    if (folder.error != "cannot read this folder: Permission denied") return 3;
    s.input_dir = dir / "in" / "sub" / "deep";
    if (refusal(s).find("cannot read the input folder") == std::string::npos) return 4;
    return 0;
  });
  std::filesystem::permissions(dir / "in" / "sub" / "deep", std::filesystem::perms::owner_all);
  if (result == kSandboxUnavailable) GTEST_SKIP() << "user namespaces are not available here";
  EXPECT_EQ(result, 0);
}

}  // namespace
}  // namespace forkpool::images
