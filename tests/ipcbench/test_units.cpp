#include "forkpool/ipcbench/units.hpp"

#include <gtest/gtest.h>

namespace forkpool::ipcbench {
namespace {

using namespace std::chrono_literals;

TEST(ParseSize, TakesBytesAndBinaryMultiples) {
  EXPECT_EQ(parse_size("64"), 64u);
  EXPECT_EQ(parse_size("64B"), 64u);
  EXPECT_EQ(parse_size("4K"), 4096u);
  EXPECT_EQ(parse_size("4k"), 4096u);
  EXPECT_EQ(parse_size("4KiB"), 4096u);
  EXPECT_EQ(parse_size("64KB"), 65536u);
  EXPECT_EQ(parse_size("1M"), 1u << 20);
  EXPECT_EQ(parse_size("16M"), 16u << 20);
  EXPECT_EQ(parse_size("1G"), 1u << 30);
}

TEST(ParseSize, RefusesWhatIsNotAPositiveWholeSize) {
  for (const char* bad : {"", "0", "0K", "-4", "1.5K", "4Q", "K", " 4", "4 K", "2G",
                          "99999999999999", "4KK", "0x10"})
    EXPECT_FALSE(parse_size(bad)) << "'" << bad << "'";
}

TEST(ParseDuration, TakesSecondsAndCommonUnits) {
  EXPECT_EQ(parse_duration("2s"), 2s);
  EXPECT_EQ(parse_duration("0.5s"), 500ms);
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("250us"), 250us);
  EXPECT_EQ(parse_duration("1m"), 60s);
  EXPECT_EQ(parse_duration("3"), 3s);
  EXPECT_EQ(parse_duration("0"), 0s);
}

TEST(ParseDuration, RefusesNegativeAndUnknown) {
  for (const char* bad : {"", "-1s", "abc", "5h", "2 seconds", "s", "1e400s", "1000000s"})
    EXPECT_FALSE(parse_duration(bad)) << "'" << bad << "'";
}

TEST(FormatSize, UsesExactBinaryUnits) {
  EXPECT_EQ(format_size(64), "64 B");
  EXPECT_EQ(format_size(4096), "4 KiB");
  EXPECT_EQ(format_size(1536), "1.5 KiB");
  EXPECT_EQ(format_size(16u << 20), "16 MiB");
  EXPECT_EQ(format_size(1u << 30), "1 GiB");
}

}  // namespace
}  // namespace forkpool::ipcbench
