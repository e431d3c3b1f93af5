#include "forkpool/compare/images_workload.hpp"

#include <stdlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <set>
#include <system_error>
#include <utility>

namespace forkpool::compare {

namespace fs = std::filesystem;

namespace {

// The regular files below `folder`, relative to it, sorted. Symlinks are not followed: the
// images batch writes none, so one in a run's folder is not an output to compare.
std::vector<fs::path> files_below(const fs::path& folder) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.is_regular_file()) out.push_back(entry.path().lexically_relative(folder));
  std::sort(out.begin(), out.end());
  return out;
}

// Whether the two files hold the same bytes. One that cannot be read does not.
bool same_bytes(const fs::path& a, const fs::path& b) {
  std::error_code ec_a, ec_b;
  const auto size_a = fs::file_size(a, ec_a);
  const auto size_b = fs::file_size(b, ec_b);
  if (ec_a || ec_b || size_a != size_b) return false;
  std::ifstream in_a(a, std::ios::binary), in_b(b, std::ios::binary);
  if (!in_a || !in_b) return false;
  static constexpr std::size_t kChunk = 1 << 16;
  std::array<char, kChunk> buf_a{}, buf_b{};
  while (true) {
    in_a.read(buf_a.data(), kChunk);
    in_b.read(buf_b.data(), kChunk);
    const auto got_a = in_a.gcount(), got_b = in_b.gcount();
    if (got_a != got_b || !std::equal(buf_a.data(), buf_a.data() + got_a, buf_b.data())) return false;
    if (got_a < static_cast<std::streamsize>(kChunk)) return in_a.eof() && in_b.eof();
  }
}

// A fresh folder of our own under $TMPDIR (or /tmp), mode 0700.
fs::path make_temp_folder() {
  const char* tmpdir = std::getenv("TMPDIR");
  fs::path base = tmpdir != nullptr && *tmpdir != '\0' ? fs::path(tmpdir) : fs::path("/tmp");
  std::string pattern = (base / "forkpool-compare-images-XXXXXX").native();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(),
                            "cannot make a temporary folder: mkdtemp(" + pattern + ")");
  return fs::path(pattern);
}

// The outputs must not land in an input folder (the planner would refuse them, naming a flag
// compare does not have): with $TMPDIR inside an input folder, say what to change.
void refuse_temp_inside_inputs(const fs::path& temp, const images::ImageInputs& inputs) {
  std::error_code ec;
  const fs::path temp_real = fs::weakly_canonical(temp, ec);
  if (ec) return;
  auto check = [&](const fs::path& input) {
    std::error_code e;
    if (!fs::is_directory(input, e)) return;
    const fs::path real = fs::canonical(input, e);
    if (e) return;
    const fs::path rel = temp_real.lexically_relative(real);
    if (!rel.empty() && *rel.begin() != "..")
      throw std::invalid_argument("the temporary folder '" + temp.native() + "' is inside the input folder '" +
                                  input.native() + "': set TMPDIR to a folder outside the inputs");
  };
  for (const auto& p : inputs.paths) check(p);
  for (const auto& p : inputs.listed) check(p);
}

}  // namespace

std::vector<OutputDifference> compare_output_trees(const fs::path& reference, const fs::path& run) {
  const std::vector<fs::path> want = files_below(reference);
  const std::vector<fs::path> got = files_below(run);
  std::vector<OutputDifference> out;
  auto w = want.begin();
  auto g = got.begin();
  while (w != want.end() || g != got.end()) {
    if (g == got.end() || (w != want.end() && *w < *g)) {
      out.push_back({*w++, OutputDifference::Kind::missing});
    } else if (w == want.end() || *g < *w) {
      out.push_back({*g++, OutputDifference::Kind::extra});
    } else {
      if (!same_bytes(reference / *w, run / *g)) out.push_back({*w, OutputDifference::Kind::differs});
      ++w;
      ++g;
    }
  }
  return out;
}

std::size_t count_files(const fs::path& folder) { return files_below(folder).size(); }

ImagesWorkload::ImagesWorkload(images::ImageBatchSettings settings) : folder_(make_temp_folder()) {
  out_ = folder_ / "out";
  reference_ = folder_ / "serial";
  settings.output_dir = out_;
  settings.in_place = false;
  try {
    refuse_temp_inside_inputs(folder_, settings.inputs);
    batch_ = images::plan_image_batch(std::move(settings));
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(folder_, ignored);
    throw;
  }
}

ImagesWorkload::~ImagesWorkload() {
  std::error_code ignored;
  fs::remove_all(folder_, ignored);
}

std::string ImagesWorkload::name_of(const fs::path& relative_output) const {
  for (const auto& item : batch_.items)
    if (!item.output.empty() && item.output.lexically_relative(out_) == relative_output)
      return item.input.native();
  return relative_output.native();
}

Workload ImagesWorkload::workload() {
  return [this](const ExecutorOptions& options, const ResultCallback& on_result) {
    // What a run left that was never checked (a workload used without measure_all's checks):
    // the plan holds only while the folder is empty.
    fs::remove_all(out_);
    images::ImageBatchReport report =
        images::run_image_batch(batch_, options, [&](const images::ImageItem&) {
          on_result(JobResult{});  // an image is a job: the loop samples memory as they end
        });
    RunOutcome outcome;
    outcome.jobs = batch_.count(images::ItemStatus::pending);
    outcome.interrupted = report.interrupted;
    outcome.interrupt_signal = report.interrupt_signal;
    outcome.startup = report.startup;
    outcome.payload_bytes = report.payload_bytes;
    std::vector<fs::path> failed_outputs;
    for (const auto& item : report.items) {
      if (item.status != images::ItemStatus::failed) continue;
      if (outcome.failed++ == 0) outcome.first_error = item.input.native() + ": " + item.error;
      if (!item.output.empty()) failed_outputs.push_back(item.output.lexically_relative(out_));
    }
    if (!report.interrupted)
      outcome.check = [this, failed = std::move(failed_outputs)](RunOutcome& o) { check_run(o, failed); };
    return outcome;
  };
}

void ImagesWorkload::check_run(RunOutcome& outcome, const std::vector<fs::path>& failed_outputs) {
  fs::create_directories(out_);  // a batch of no images makes none
  if (!have_reference_) {
    fs::rename(out_, reference_);
    have_reference_ = true;
    check_.outputs = count_files(reference_);
    return;
  }
  const std::set<fs::path> already(failed_outputs.begin(), failed_outputs.end());
  bool differs = false;
  const std::vector<OutputDifference> found = compare_output_trees(reference_, out_);
  for (const OutputDifference& d : found) {
    differs = true;
    if (already.contains(d.relative)) continue;
    std::string why;
    switch (d.kind) {
      case OutputDifference::Kind::differs: why = ": output differs from the serial run's"; break;
      case OutputDifference::Kind::missing: why = ": no output, where the serial run wrote one"; break;
      case OutputDifference::Kind::extra: why = ": an output the serial run did not write"; break;
    }
    if (outcome.failed++ == 0) outcome.first_error = name_of(d.relative) + why;
  }
  ++check_.runs_compared;
  if (differs) ++check_.runs_differing;
  fs::remove_all(out_);
}

}  // namespace forkpool::compare
