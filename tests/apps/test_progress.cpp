// The progress bar's line fits the terminal: parts are dropped, never wrapped.

#include "progress.hpp"

#include <gtest/gtest.h>

#include <string>

namespace forkpool::testing {
namespace {

using cli::progress_line;
using cli::ProgressFigures;

const ProgressFigures kMidway{"images", 12, 40, "images", 3.14, 9};

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(ProgressLine, AWideTerminalGetsEveryPartAndAThirtyCellBar) {
  const std::string full = "images [#########.....................] 12/40 images  3.1 images/s  ETA 0:09";
  EXPECT_EQ(progress_line(kMidway, 200), full);
  EXPECT_EQ(progress_line(kMidway, 80), full);
}

TEST(ProgressLine, EveryWidthFitsInOneColumnLessThanTheTerminal) {
  for (std::size_t columns : {1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 120, 200}) {
    const std::string line = progress_line(kMidway, columns);
    EXPECT_LT(line.size(), columns) << columns << ": " << line;
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_TRUE(columns < 6 || has(line, "12/40")) << columns << ": the count stays: " << line;
  }
}

TEST(ProgressLine, ANarrowTerminalDropsTheLabelAndRateBeforeTheBar) {
  const std::string line = progress_line(kMidway, 40);
  EXPECT_EQ(line, "[####..........] 12/40 images  ETA 0:09");
  EXPECT_EQ(line.size(), 39u);
  const std::string without_label = progress_line(kMidway, 52);
  EXPECT_EQ(without_label.rfind("[", 0), 0u) << without_label;
  EXPECT_TRUE(has(without_label, "3.1 images/s")) << without_label;
}

TEST(ProgressLine, AVeryNarrowTerminalKeepsTheCountAndTheEta) {
  EXPECT_EQ(progress_line(kMidway, 20), "12/40  ETA 0:09");
  EXPECT_EQ(progress_line(kMidway, 5), "12/4");
  EXPECT_EQ(progress_line(kMidway, 0), "");
}

TEST(ProgressLine, AnUnknownEtaAndAnEmptyBatchAreShown) {
  EXPECT_EQ(progress_line({"matmul", 0, 8, "tiles", 0, -1}, 80),
            "matmul [..............................] 0/8 tiles  0.0 tiles/s  ETA --");
  EXPECT_TRUE(has(progress_line({"images", 0, 0, "images", 0, -1}, 80), "[" + std::string(30, '#') + "]"));
}

}  // namespace
}  // namespace forkpool::testing
