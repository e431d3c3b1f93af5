// `forkpool images IN OUT --op ...`: batch-process a folder of images.

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "forkpool/images/batch.hpp"
#include "images_report.hpp"
#include "job_timeout.hpp"
#include "output_files.hpp"
#include "progress.hpp"

namespace forkpool::cli {

namespace {

struct ImagesFlags {
  std::string input_dir;
  std::string output_dir;
  std::vector<std::string> ops;
  bool recursive = false;
  std::string format;
  int quality = 90;
  bool overwrite = false;
  bool output_inside_input = false;
  double max_megapixels = 200;
  double job_timeout = -1;  // seconds; negative: the default
  bool list_ops = false;
  bool dry_run = false;
  CommonFlags common;
};

// 10^11 pixels: 400 GB to decode, far past any image OpenCV reads (2^30 pixels unless
// OPENCV_IO_MAX_IMAGE_PIXELS raises it). A bound keeps the pixel count and the default job
// timeout derived from it in range.
constexpr double kMaxMegapixels = 100000;

images::ImageBatchSettings settings_from(const ImagesFlags& f) {
  if (f.input_dir.empty() || f.output_dir.empty())
    throw InputError("images needs an input and an output folder: forkpool images IN OUT --op OP");
  images::ImageBatchSettings s;
  s.input_dir = f.input_dir;
  s.output_dir = f.output_dir;
  s.recipe.ops = f.ops;
  s.recipe.quality = f.quality;
  s.recipe.max_pixels = static_cast<std::uint64_t>(f.max_megapixels * 1e6);
  s.recursive = f.recursive;
  s.overwrite = f.overwrite;
  s.output_inside_input = f.output_inside_input;
  if (!f.format.empty()) {
    s.format = images::format_from_name(f.format);
    if (!s.format) throw InputError("unknown --format '" + f.format + "' (jpg, png, webp, tiff)");
  }
  return s;
}

// The watchdog must spare the costliest legitimate image: denoise, the slowest op, takes about
// 3 s per megapixel on one core (14 MP in 44 s measured), and --max-megapixels bounds the input.
// Twice that, and never under 5 minutes: 20 minutes at the default 200 megapixels.
double default_job_timeout(double max_megapixels) {
  return std::clamp(6.0 * max_megapixels, 300.0, kMaxJobTimeoutSeconds);
}

// --dry-run: what a run would do with each input, and nothing else (no folder made, no report).
int print_plan(const images::ImageBatch& batch) {
  using images::ItemStatus;
  for (const auto& item : batch.items) {
    if (item.status == ItemStatus::pending && item.existing != images::ExistingOutput::none)
      fmt::print("{} -> {} ({})\n", item.input.native(), item.output.native(),
                 images::to_string(item.existing));
    else if (item.status == ItemStatus::pending)
      fmt::print("{} -> {}\n", item.input.native(), item.output.native());
    else if (item.status == ItemStatus::skipped)
      fmt::print("{} skipped: {}\n", item.input.native(), item.error);
    else if (item.status == ItemStatus::failed)
      fmt::print(stderr, "forkpool: {}: {}\n", item.input.native(), item.error);
  }
  const auto existing = images_existing_clause(batch.items);
  fmt::print("forkpool images: dry run: {} to do, {} skipped, {} failed of {}{}; nothing written\n",
             batch.count(ItemStatus::pending), batch.count(ItemStatus::skipped),
             batch.count(ItemStatus::failed), batch.items.size(),
             existing.empty() ? "" : "; " + existing);
  return batch.count(ItemStatus::failed) > 0 ? kExitSomeFailed : kExitOk;
}

int run_images(const ImagesFlags& flags) {
  if (flags.list_ops) {
    fmt::print("{}", images_ops_table());
    return kExitOk;
  }
  ExecutorOptions options = flags.common.executor_options();
  apply_job_timeout(options, flags.job_timeout, default_job_timeout(flags.max_megapixels));
  // mpi: ranks but 0 plan nothing, print nothing: they process the images rank 0 sends.
  if (!Executor(options).is_coordinator()) {
    images::run_image_batch({}, options);
    return kExitOk;
  }
  images::ImageBatch batch;
  try {
    batch = images::plan_image_batch(settings_from(flags));
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  }
  CommandOutputs outputs;
  outputs.add("--json", flags.common.json_path, batch.settings.output_dir);
  {
    std::vector<std::filesystem::path> inputs;
    for (const auto& item : batch.items) inputs.push_back(item.input);
    outputs.refuse_inputs(inputs);
  }
  if (flags.dry_run) return print_plan(batch);
  // With the report on stdout, stdout holds the report alone.
  const bool quiet = flags.common.quiet || outputs.uses_stdout();
  const std::size_t pending = batch.count(images::ItemStatus::pending);
  if (batch.items.empty() && !flags.common.quiet)
    fmt::print(stderr, "forkpool: no images (jpg, jpeg, png, webp, tif, tiff) in '{}'{}\n",
               flags.input_dir, flags.recursive ? "" : " (use -r to include subfolders)");

  ProgressBar progress("images", pending, "images", !flags.common.quiet && stderr_is_terminal());
  // Each item is told of as it ends, not at the end of the batch: a log (or a person watching a
  // long batch) sees every failure, and with -v every image, when it happens.
  const bool verbose = !quiet && flags.common.verbose;
  auto tell = [&](const images::ImageItem& item) {
    if (item.status == images::ItemStatus::failed)
      progress.print_line(stderr, fmt::format("forkpool: {}: {}", item.input.native(), item.error));
    else if (verbose && item.status == images::ItemStatus::done)
      progress.print_line(stdout, images_item_line(item));
    else if (verbose && item.status == images::ItemStatus::skipped)
      progress.print_line(stdout, fmt::format("  {} skipped: {}", item.input.native(), item.error));
  };
  for (const auto& item : batch.items) tell(item);  // what the plan decided: skipped, unlistable
  auto on_item = [&](const images::ImageItem& item) {
    progress.advance();
    tell(item);
  };
  const auto report = images::run_image_batch(batch, options, on_item);
  progress.finish();
  const bool reported = flags.common.json_path.empty() ||
                        write_report("the JSON report", flags.common.json_path,
                                     images_json(batch, report, options));
  if (!quiet) fmt::print("{}\n", images_summary_line(report, options));
  if (report.interrupted) {
    fmt::print(stderr, "forkpool: interrupted: {} of {} images left undone; run again to resume\n",
               report.count(images::ItemStatus::cancelled), report.items.size());
    return kExitInterrupted;
  }
  return report.count(images::ItemStatus::failed) > 0 || !reported ? kExitSomeFailed : kExitOk;
}

void setup(CLI::App& root, CommandRunner& chosen) {
  auto flags = std::make_shared<ImagesFlags>();
  CLI::App* cmd = root.add_subcommand(
      "images", "Batch-process a folder of images: resize, crop, blur, edges, denoise, ...");
  cmd->footer(
      "Outputs keep each input's relative path and name, and record the recipe that made them "
      "(extended attribute user.forkpool.recipe). A re-run skips an output made by the same "
      "recipe and not older than its input, redoes the others, and keeps one that records no "
      "recipe; --overwrite redoes all. Exit codes: 0 all done, "
      "1 bad usage (nothing done), 2 some images failed (each named) or the report could not "
      "be written, 130 interrupted.\n"
      "Example: forkpool images photos small --op 'resize=1024x1024>' --format jpg --quality 85");
  cmd->add_option("input", flags->input_dir, "Folder of images (jpg, png, webp, tiff)");
  cmd->add_option("output", flags->output_dir, "Folder for the results (created if missing)");
  cmd->add_option("--op", flags->ops, "An op, e.g. resize=800x600, blur=2, gray (repeatable; see --list-ops)")
      ->type_name("OP")
      // One op per --op: the words after it are the input and output folders, not more ops.
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("-r,--recursive", flags->recursive, "Include subfolders");
  cmd->add_option("--format", flags->format, "Output format: jpg | png | webp | tiff (default: the input's)");
  cmd->add_option("--quality", flags->quality, "JPEG and WebP quality, 1..100")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_flag("--overwrite", flags->overwrite, "Make every output again, even those up to date or made by hand");
  cmd->add_flag("--output-inside-input", flags->output_inside_input,
                "Allow the output folder to be, or be inside, the input folder");
  cmd->add_option("--max-megapixels", flags->max_megapixels,
                  "Refuse images larger than this before decoding them")
      ->type_name("N")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            double value = 0;
            if (CLI::detail::lexical_cast(text, value) && value > 0 && value <= kMaxMegapixels)
              return {};
            return fmt::format("'{}' is not a number of megapixels above 0 and up to {}", text,
                               kMaxMegapixels);
          },
          ""))
      ->capture_default_str();
  add_job_timeout_flag(*cmd, flags->job_timeout,
                       "6 s per megapixel of --max-megapixels, at least 300 (1200 with the defaults)");
  cmd->add_flag("--list-ops", flags->list_ops, "Print the ops and their parameters");
  cmd->add_flag("-n,--dry-run", flags->dry_run,
                "Print what would be done with each input (input -> output, or skipped and why) "
                "and do nothing");
  add_common_flags(*cmd, flags->common);
  cmd->callback([flags, &chosen] { chosen = [flags] { return run_images(*flags); }; });
}

const bool registered = register_command(&setup);

}  // namespace

}  // namespace forkpool::cli
