// compare's images workload: the byte comparison of output trees, and the runs of a batch in a
// temporary folder of its own, compared with the serial run's and removed.

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "common/leak_check.hpp"
#include "common/temp_dir.hpp"
#include "forkpool/compare/images_workload.hpp"

namespace forkpool::compare {
namespace {

namespace fs = std::filesystem;
using forkpool::testing::TempDir;
using Kind = OutputDifference::Kind;

void write(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

TEST(CompareOutputTrees, SameTreesHaveNoDifference) {
  TempDir dir;
  for (const char* tree : {"a", "b"}) {
    write(dir / tree / "x.png", "pixels");
    write(dir / tree / "sub" / "y.jpg", std::string(200'000, 'y'));
  }
  EXPECT_EQ(compare_output_trees(dir / "a", dir / "b"), std::vector<OutputDifference>{});
  EXPECT_EQ(count_files(dir / "a"), 2u);
}

// Each way a run's outputs can differ is reported, with the file's path relative to the tree.
TEST(CompareOutputTrees, DifferingMissingAndExtraFilesAreReported) {
  TempDir dir;
  const std::string big(200'000, 'z');
  write(dir / "ref" / "same.png", "same");
  write(dir / "ref" / "sub" / "late.png", big);
  write(dir / "ref" / "short.png", "abc");
  write(dir / "ref" / "gone.jpg", "gone");
  write(dir / "run" / "same.png", "same");
  std::string late = big;
  late[150'000] = 'Z';  // the same size, one byte different past the first chunks
  write(dir / "run" / "sub" / "late.png", late);
  write(dir / "run" / "short.png", "ab");
  write(dir / "run" / "new.webp", "new");
  std::vector<OutputDifference> expected{{"gone.jpg", Kind::missing},
                                         {"new.webp", Kind::extra},
                                         {"short.png", Kind::differs},
                                         {"sub/late.png", Kind::differs}};
  EXPECT_EQ(compare_output_trees(dir / "ref", dir / "run"), expected);
}

// $TMPDIR pointed at a folder of the test's for its life.
class ScopedTmpdir {
 public:
  explicit ScopedTmpdir(const fs::path& p) {
    if (const char* old = std::getenv("TMPDIR")) old_ = old;
    ::setenv("TMPDIR", p.c_str(), 1);
  }
  ~ScopedTmpdir() {
    if (old_) ::setenv("TMPDIR", old_->c_str(), 1);
    else ::unsetenv("TMPDIR");
  }
  ScopedTmpdir(const ScopedTmpdir&) = delete;
  ScopedTmpdir& operator=(const ScopedTmpdir&) = delete;

 private:
  std::optional<std::string> old_;
};

class ImagesWorkloadTest : public forkpool::testing::LeakCheckedTest {
 protected:
  void SetUp() override {
    LeakCheckedTest::SetUp();
    fs::create_directories(dir_ / "in" / "sub");
    fs::create_directories(dir_ / "tmp");
    cv::Mat a(24, 32, CV_8UC3, cv::Scalar(10, 120, 230));
    cv::Mat b(16, 16, CV_8UC1, cv::Scalar(77));
    ASSERT_TRUE(cv::imwrite((dir_ / "in" / "a.png").string(), a));
    ASSERT_TRUE(cv::imwrite((dir_ / "in" / "sub" / "b.png").string(), b));
  }
  images::ImageBatchSettings settings() const {
    images::ImageBatchSettings s;
    s.inputs.paths = {dir_ / "in"};
    s.inputs.recursive = true;
    s.recipe.ops = {"resize=8x8"};
    return s;
  }
  // Serial, then threads with one worker, one run each; `after_serial` runs once the serial
  // run is measured, to change what the next run finds.
  static CompareResult serial_then_threads(ImagesWorkload& w, const std::function<void()>& after_serial) {
    const std::vector<Backend> backends{Backend::threads};
    const std::vector<unsigned> workers{1};
    CompareSettings run;
    run.repeats = 1;
    run.on_measured = [&](const Measurement& m) {
      if (m.config.backend == Backend::serial) after_serial();
    };
    return measure_all(configurations(backends, {}, workers), w.workload(), run);
  }
  // Every file and folder below `folder` with its bytes and modification time.
  static std::map<fs::path, std::pair<std::string, fs::file_time_type>> snapshot(const fs::path& folder) {
    std::map<fs::path, std::pair<std::string, fs::file_time_type>> out;
    for (const auto& e : fs::recursive_directory_iterator(folder)) {
      if (!e.is_regular_file()) {
        out[e.path()] = {"(not a file)", fs::last_write_time(e.path())};
        continue;
      }
      std::ifstream in(e.path(), std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      out[e.path()] = {bytes, fs::last_write_time(e.path())};
    }
    return out;
  }
  TempDir dir_;
};

TEST_F(ImagesWorkloadTest, EveryRunDoesEveryImageAndMatchesTheSerialRun) {
  ScopedTmpdir tmpdir(dir_ / "tmp");
  const auto before = snapshot(dir_ / "in");
  std::vector<Backend> backends{Backend::threads, Backend::processes};
  std::vector<ipc::Transport> transports{ipc::Transport::pipe};
  std::vector<unsigned> workers{1, 2};
  CompareSettings run;
  run.repeats = 2;
  {
    ImagesWorkload w(settings());
    EXPECT_EQ(w.folder().parent_path(), dir_ / "tmp");
    CompareResult result = measure_all(configurations(backends, transports, workers), w.workload(), run);
    ASSERT_EQ(result.rows.size(), 5u);
    for (const Measurement& m : result.rows) {
      EXPECT_EQ(m.jobs, 2u) << m.config.label();
      EXPECT_EQ(m.failed, 0u) << m.config.label() << ": " << m.first_error;
    }
    EXPECT_EQ(w.check().outputs, 2u);
    EXPECT_EQ(w.check().runs_compared, 9u);  // 5 x 2 runs, less the first
    EXPECT_EQ(w.check().runs_differing, 0u);
    // Only the serial run's outputs stay while the workload lives.
    EXPECT_TRUE(fs::exists(w.folder() / "serial" / "sub" / "b.png"));
    EXPECT_FALSE(fs::exists(w.folder() / "out"));
  }
  EXPECT_TRUE(fs::is_empty(dir_ / "tmp"));
  EXPECT_EQ(snapshot(dir_ / "in"), before);
}

// An output that is not the serial run's fails the image in that configuration, by name.
TEST_F(ImagesWorkloadTest, AnOutputNotTheSerialRunsFailsThatImage) {
  ScopedTmpdir tmpdir(dir_ / "tmp");
  ImagesWorkload w(settings());
  // Once the serial run is measured, its output of a.png is changed: the next run's differs.
  CompareResult result =
      serial_then_threads(w, [&] { write(w.folder() / "serial" / "a.png", "not that"); });
  ASSERT_EQ(result.rows.size(), 2u);
  EXPECT_EQ(result.rows[0].failed, 0u);
  EXPECT_EQ(result.rows[1].failed, 1u);
  EXPECT_EQ(result.rows[1].first_error, (dir_ / "in" / "a.png").native() + ": output differs from the serial run's");
  EXPECT_EQ(w.check().runs_differing, 1u);
}

// An image that fails in a later run (its input gone) counts once, not again for its missing
// output.
TEST_F(ImagesWorkloadTest, AnImageThatFailsCountsOnce) {
  ScopedTmpdir tmpdir(dir_ / "tmp");
  ImagesWorkload w(settings());
  CompareResult result =
      serial_then_threads(w, [&] { fs::remove(dir_ / "in" / "sub" / "b.png"); });
  ASSERT_EQ(result.rows.size(), 2u);
  EXPECT_EQ(result.rows[1].failed, 1u);
  EXPECT_TRUE(result.rows[1].first_error.starts_with((dir_ / "in" / "sub" / "b.png").native() + ": "))
      << result.rows[1].first_error;
  EXPECT_EQ(w.check().runs_differing, 1u);
}

TEST_F(ImagesWorkloadTest, ABadOpIsRefusedAndLeavesNothing) {
  ScopedTmpdir tmpdir(dir_ / "tmp");
  images::ImageBatchSettings s = settings();
  s.recipe.ops = {"resize=banana"};
  EXPECT_THROW(ImagesWorkload{s}, std::invalid_argument);
  EXPECT_TRUE(fs::is_empty(dir_ / "tmp"));
}

// $TMPDIR inside an input folder would put the outputs among the inputs: refused, saying so.
TEST_F(ImagesWorkloadTest, ATemporaryFolderInsideAnInputIsRefused) {
  ScopedTmpdir tmpdir(dir_ / "in" / "sub");
  try {
    ImagesWorkload w(settings());
    FAIL() << "accepted a temporary folder inside the input folder";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("set TMPDIR to a folder outside the inputs"), std::string::npos) << e.what();
  }
  EXPECT_EQ(count_files(dir_ / "in"), 2u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "in" / "sub"), fs::directory_iterator{}), 1);
}

}  // namespace
}  // namespace forkpool::compare
