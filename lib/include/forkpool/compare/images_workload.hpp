#pragma once
// The images batch as a workload of `forkpool compare images`: run_image_batch() on each
// configuration's executor options, into a temporary folder of its own, and every output
// compared byte for byte with the first (serial) run's. The user's folders are only read.
//
// Built into forkpool::images (it needs OpenCV), not forkpool::lib.

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "forkpool/compare/measure.hpp"
#include "forkpool/images/batch.hpp"

namespace forkpool::compare {

// A file of one output tree that is not the same in another.
struct OutputDifference {
  enum class Kind {
    differs,  // both have it, with other bytes (or one of them cannot be read)
    missing,  // the reference has it, the run does not
    extra,    // the run has it, the reference does not
  };
  std::filesystem::path relative;  // to the tree's folder
  Kind kind = Kind::differs;
  bool operator==(const OutputDifference&) const = default;
};

// Every regular file below `run` compared with the file of the same relative path below
// `reference`, byte for byte; sorted by path. Throws std::filesystem::filesystem_error when a
// folder cannot be walked. Any thread.
std::vector<OutputDifference> compare_output_trees(const std::filesystem::path& reference,
                                                   const std::filesystem::path& run);

// The regular files below `folder`, relative to it. Any thread.
std::size_t count_files(const std::filesystem::path& folder);

// What the comparisons found, for the report.
struct ImagesCheck {
  std::size_t outputs = 0;         // files the serial (first) run wrote
  std::size_t runs_compared = 0;   // runs after the first, compared with it
  std::size_t runs_differing = 0;  // of them, those with an output not the serial run's
};

// Owns a temporary folder made with mkdtemp under $TMPDIR (or /tmp), and in it each run's
// outputs: a run writes into `out`, a folder made fresh for it (the batch is planned once, into
// it, before it exists: every run does every image, nothing is skipped as up to date); the
// first run's folder is kept as the reference (`serial`), each later one is compared with it
// and removed at once. The destructor removes the whole folder, on every path that unwinds (a
// SIGKILL leaves it). Create and run it on the thread that may fork (the processes backend).
class ImagesWorkload {
 public:
  // Makes the folder and plans the batch of `settings` (whose output folder and in-place flag it
  // sets) into it. Throws std::invalid_argument for what plan_image_batch refuses (a bad op, no
  // such input, ...) and for a folder made inside an input folder ($TMPDIR there), and
  // std::system_error when the folder cannot be made.
  explicit ImagesWorkload(images::ImageBatchSettings settings);
  ~ImagesWorkload();
  ImagesWorkload(const ImagesWorkload&) = delete;
  ImagesWorkload& operator=(const ImagesWorkload&) = delete;

  // The workload; it refers to this object, which must outlive it.
  [[nodiscard]] Workload workload();

  [[nodiscard]] const images::ImageBatch& batch() const noexcept { return batch_; }
  [[nodiscard]] const ImagesCheck& check() const noexcept { return check_; }
  [[nodiscard]] const std::filesystem::path& folder() const noexcept { return folder_; }

 private:
  // Compares the run's outputs (or keeps them, for the first run), counting in `outcome` every
  // item whose output is not the reference's and was not already counted failed.
  void check_run(RunOutcome& outcome, const std::vector<std::filesystem::path>& failed_outputs);
  [[nodiscard]] std::string name_of(const std::filesystem::path& relative_output) const;

  std::filesystem::path folder_;     // ours, removed with everything in it
  std::filesystem::path out_;        // each run's outputs
  std::filesystem::path reference_;  // the first run's, kept
  images::ImageBatch batch_;
  bool have_reference_ = false;
  ImagesCheck check_;
};

}  // namespace forkpool::compare
