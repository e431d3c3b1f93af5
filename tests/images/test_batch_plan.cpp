// Planning a batch: which inputs, which outputs, what is skipped or refused, before any work.

#include <gtest/gtest.h>

#include "common/leak_check.hpp"
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

}  // namespace
}  // namespace forkpool::images
