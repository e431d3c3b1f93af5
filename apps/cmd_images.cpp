// `forkpool images IN OUT --op ...`: batch-process a folder of images.

#include <fcntl.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "forkpool/images/batch.hpp"
#include "forkpool/images/files.hpp"
#include "forkpool/ipc/sys_call.hpp"
#include "forkpool/ipc/unique_fd.hpp"
#include "images_recipe_flags.hpp"
#include "images_report.hpp"
#include "job_timeout.hpp"
#include "live_log.hpp"
#include "output_files.hpp"
#include "progress.hpp"
#include "whole_number.hpp"

namespace forkpool::cli {

namespace {

struct ImagesFlags {
  std::vector<std::string> paths;  // inputs, then the output folder (no folder with --in-place)
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
  std::string colorspace = "keep";
  bool strip = false;
  // Encoder options, each for its own format.
  bool jpeg_progressive = false;
  std::string jpeg_subsampling = "420";
  int png_level = -1;  // -1: OpenCV's default
  bool webp_lossless = false;
  std::string tiff_compression = "lzw";
  // Inputs and output naming.
  std::string files_from;
  bool null_separated = false;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  bool hidden = false;
  std::string output_pattern;
  std::string suffix;
  bool in_place = false;
  std::string stray_word;  // see word_after_an_op
  std::string log_path;    // --log: a JSON line per item as it ends
  CommonFlags common;
};

// `IN OUT --op gray invert` once ran `invert` alone; with `IN... OUT` it would make `invert`
// the output folder. So a word that comes right after an --op's value, apart from the other
// paths, is refused as a second op was: the paths go together (before, after or among the
// options, but not split by an --op). Returns that word, or "".
std::string word_after_an_op(const CLI::App& cmd, const std::vector<std::string>& paths) {
  const CLI::Option* positional = cmd.get_option_no_throw("paths");
  const CLI::Option* op = cmd.get_option_no_throw("--op");
  const auto& order = cmd.parse_order();
  std::size_t index = 0;
  bool seen_paths = false;
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (order[i] != positional) continue;
    if (seen_paths && i > 0 && order[i - 1] == op && index < paths.size()) return paths[index];
    seen_paths = true;
    ++index;
  }
  return {};
}

// 10^11 pixels: 400 GB to decode, far past any image OpenCV reads (2^30 pixels unless
// OPENCV_IO_MAX_IMAGE_PIXELS raises it). A bound keeps the pixel count and the default job
// timeout derived from it in range.
constexpr double kMaxMegapixels = 100000;

// All of the file at `path`, or of stdin for "-": a pipe (`<(find ...)`) as well as a file.
std::string read_list(const std::string& path) {
  ipc::UniqueFd opened;
  int fd = STDIN_FILENO;
  if (path != "-") {
    auto r = ipc::sys_call("open", path, [&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
    if (!r) throw InputError("--files-from: cannot read " + r.error().message());
    opened = ipc::UniqueFd(*r);
    fd = opened.get();
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    auto n = ipc::sys_call("read", path == "-" ? "stdin" : path,
                           [&] { return ::read(fd, buffer, sizeof buffer); });
    if (!n) throw InputError("--files-from: cannot read " + n.error().message());
    if (*n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(*n));
  }
}

// Where the inputs and outputs are: `IN... OUT`, or `IN...` with --in-place; --suffix is the
// output pattern "{dir}/{stem}SUFFIX.{ext}".
void apply_inputs_and_outputs(const ImagesFlags& f, images::ImageBatchSettings& s) {
  if (!f.stray_word.empty())
    throw InputError(fmt::format(
        "'{}' follows an --op apart from the other paths: one op per --op (--op A --op B), and the "
        "inputs and output folder together (forkpool images IN... OUT --op OP)",
        f.stray_word));
  std::vector<std::string> inputs = f.paths;
  if (!f.in_place) {
    if (inputs.empty() || (inputs.size() == 1 && f.files_from.empty()))
      throw InputError(
          "images needs inputs and an output folder: forkpool images IN... OUT --op OP (or "
          "--in-place)");
    s.output_dir = inputs.back();
    inputs.pop_back();
  } else if (inputs.empty() && f.files_from.empty()) {
    throw InputError("images needs inputs: forkpool images IN... --in-place --op OP");
  }
  for (auto& path : inputs) s.inputs.paths.emplace_back(std::move(path));
  if (f.null_separated && f.files_from.empty()) throw InputError("-0 (--null) is for --files-from");
  if (!f.files_from.empty()) {
    try {
      s.inputs.listed = images::parse_path_list(read_list(f.files_from), f.null_separated);
    } catch (const std::invalid_argument& e) {
      throw InputError(fmt::format("--files-from {}: {}", f.files_from, e.what()));
    }
    if (s.inputs.listed.empty() && s.inputs.paths.empty())
      throw InputError(fmt::format("--files-from {}: the list names no file", f.files_from));
  }
  s.inputs.include = f.include;
  s.inputs.exclude = f.exclude;
  s.inputs.hidden = f.hidden;
  s.in_place = f.in_place;
  if (!f.suffix.empty()) {
    if (!f.output_pattern.empty()) throw InputError("give -o PATTERN or --suffix, not both");
    if (f.suffix.find('/') != std::string::npos) throw InputError("--suffix is part of a file name: no '/'");
    std::string escaped;
    for (char c : f.suffix) {
      escaped += c;
      if (c == '{' || c == '}') escaped += c;
    }
    s.output_pattern = "{dir}/{stem}" + escaped + ".{ext}";
  } else {
    s.output_pattern = f.output_pattern;
  }
}

images::ImageBatchSettings settings_from(const ImagesFlags& f) {
  images::ImageBatchSettings s;
  apply_inputs_and_outputs(f, s);
  apply_recipe_flags(f, s.recipe);
  s.recipe.max_pixels = static_cast<std::uint64_t>(f.max_megapixels * 1e6);
  s.inputs.recursive = f.recursive;
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
  // Not into the output folder made later: the log is opened before the run makes it.
  outputs.add("--log", flags.log_path);
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
    fmt::print(stderr, "forkpool: no images (jpg, jpeg, png, webp, tif, tiff) in the inputs{}\n",
               flags.recursive ? "" : " (use -r to include subfolders)");

  // Opened before any work (so a log that cannot be opened costs nothing), after every check.
  std::optional<LiveLog> log;
  if (!flags.log_path.empty()) log.emplace(flags.log_path);
  ProgressBar progress("images", pending, "images", !flags.common.quiet && stderr_is_terminal());
  // Each item is told of as it ends, not at the end of the batch: a log (or a person watching a
  // long batch) sees every failure, and with -v every image, when it happens.
  const bool verbose = !quiet && flags.common.verbose;
  auto tell = [&](const images::ImageItem& item) {
    if (log && item.status != images::ItemStatus::pending) log->write_line(images_log_line(item));
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
  const bool logged = !log || log->finish();
  const bool reported = flags.common.json_path.empty() ||
                        write_report("the JSON report", flags.common.json_path,
                                     images_json(batch, report, options));
  if (!quiet) fmt::print("{}\n", images_summary_line(report, options));
  if (report.interrupted) {
    fmt::print(stderr, "forkpool: interrupted: {} of {} images left undone; run again to resume\n",
               report.count(images::ItemStatus::cancelled), report.items.size());
    return kExitInterrupted;
  }
  return report.count(images::ItemStatus::failed) > 0 || !reported || !logged ? kExitSomeFailed : kExitOk;
}

void setup(CLI::App& root, CommandRunner& chosen) {
  auto flags = std::make_shared<ImagesFlags>();
  CLI::App* cmd = root.add_subcommand(
      "images", "Batch-process images, files or folders of them: resize, crop, blur, edges, denoise, ...");
  cmd->footer(
      "Inputs are files and folders (-r: subfolders too; hidden names and symlinked folders "
      "are passed over in folders), filtered by --include/--exclude, plus any --files-from "
      "lists. Outputs keep each input's relative path and name, or follow -o PATTERN: {dir} "
      "the input's folder relative to its input folder, {stem} its name without the extension, "
      "{ext} the output's extension ({{ and }} are braces), default {dir}/{stem}.{ext}; "
      "--suffix _S is {dir}/{stem}_S.{ext}; --in-place replaces the inputs. Outputs record the "
      "recipe that made them "
      "(extended attribute user.forkpool.recipe). A re-run skips an output made by the same "
      "recipe and not older than its input, redoes the others, and keeps one that records no "
      "recipe; --overwrite redoes all. Exit codes: 0 all done, "
      "1 bad usage (nothing done), 2 some images failed (each named) or the report could not "
      "be written, 130 interrupted.\n"
      "Example: forkpool images photos small --op 'resize=1024x1024>' --format jpg --quality 85\n"
      "         find photos -name '*.jpg' -print0 | forkpool images --files-from - -0 small "
      "-o '{dir}/{stem}_small.{ext}' --op 'resize=1024x1024>'");
  // Inputs and output naming (one block: other options go elsewhere).
  cmd->add_option("paths", flags->paths,
                  "Image files and folders (jpg, png, webp, tiff), then the output folder (created "
                  "if missing; none with --in-place)")
      ->type_name("PATH");
  cmd->add_option("--files-from", flags->files_from,
                  "Also take the files (or folders) listed in FILE, one per line; - is stdin. A "
                  "relative path keeps its folder in the output tree")
      ->type_name("FILE");
  cmd->add_flag("-0,--null", flags->null_separated,
                "The --files-from list is separated by NUL bytes (find -print0)");
  cmd->add_option("--include", flags->include,
                  "Take only files matching GLOB: on the name, or on the path relative to its "
                  "input folder when GLOB has a '/' (repeatable)")
      ->type_name("GLOB")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--exclude", flags->exclude,
                  "Leave out files, and folders not to walk, matching GLOB (as --include; repeatable)")
      ->type_name("GLOB")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("--hidden", flags->hidden, "Also take hidden files and folders (.name) found in input folders");
  cmd->add_option("-o,--output", flags->output_pattern,
                  "Each output's path in the output folder, made of the placeholders dir, stem "
                  "and ext in braces (see below; default: the input's relative path)")
      ->type_name("PATTERN");
  cmd->add_option("--suffix", flags->suffix, "Add SUFFIX to each output's name: a.jpg -> a_small.jpg with --suffix _small")
      ->type_name("SUFFIX");
  cmd->add_flag("--in-place", flags->in_place,
                "Replace each input with its output (atomically: the original stays whole if "
                "anything fails); no output folder");
  cmd->add_option("--op", flags->ops, "An op, e.g. resize=800x600, blur=2, gray (repeatable; see --list-ops)")
      ->type_name("OP")
      // One op per --op: the words after it are the input and output folders, not more ops.
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("-r,--recursive", flags->recursive, "Include subfolders");
  cmd->add_option("--format", flags->format, "Output format (default: the input's)")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"jpg", "png", "webp", "tiff"}));
  cmd->add_option("--quality", flags->quality, "JPEG and WebP quality")
      ->type_name("N")
      ->check(whole_number(1, 100))
      ->capture_default_str();
  // Encoder options: each applies to outputs of its own format and is ignored by the others.
  cmd->add_flag("--jpeg-progressive", flags->jpeg_progressive,
                "JPEG: progressive (shows coarse to fine while it loads; often a little smaller)");
  cmd->add_option("--jpeg-subsampling", flags->jpeg_subsampling,
                  "JPEG: chroma subsampling, 444 (full colour resolution: sharp red text, "
                  "graphics), 422 (half across) or 420 (half across and down: smallest)")
      ->type_name("MODE")
      ->check(CLI::IsMember({"444", "422", "420"}))
      ->capture_default_str();
  cmd->add_option("--png-level", flags->png_level,
                  "PNG: zlib compression level, 0 (none, fastest) .. 9 (smallest, slowest); "
                  "default: OpenCV's fast setting (level 1, RLE)")
      ->type_name("N")
      ->check(CLI::Range(0, 9));
  cmd->add_flag("--webp-lossless", flags->webp_lossless,
                "WebP: lossless (pixels kept exactly; --quality does not apply)");
  cmd->add_option("--tiff-compression", flags->tiff_compression, "TIFF: compression, none | lzw | deflate")
      ->type_name("NAME")
      ->check(CLI::IsMember({"none", "lzw", "deflate"}))
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
  // Colour and metadata.
  cmd->add_option("--colorspace", flags->colorspace,
                  "keep: outputs carry their input's ICC profile; srgb: pixels are converted from it "
                  "to sRGB and outputs carry no profile (sRGB is what readers assume)")
      ->type_name("SPACE")
      ->check(CLI::IsMember({"keep", "srgb"}))
      ->capture_default_str();
  cmd->add_flag("--strip", flags->strip,
                "Write no metadata: no EXIF, XMP, IPTC or ICC profile (default: kept, with EXIF "
                "Orientation 1 and the output's size)");
  cmd->add_option("--log", flags->log_path,
                  "Write one JSON line per image to FILE as each ends (input, output, status, "
                  "error, ms, worker), flushed at once; - is stdout")
      ->type_name("FILE");
  add_job_timeout_flag(*cmd, flags->job_timeout,
                       "6 s per megapixel of --max-megapixels, at least 300 (1200 with the defaults)");
  cmd->add_flag("--list-ops", flags->list_ops, "Print the ops and their parameters");
  cmd->add_flag("-n,--dry-run", flags->dry_run,
                "Print what would be done with each input (input -> output, or skipped and why) "
                "and do nothing");
  add_common_flags(*cmd, flags->common);
  cmd->callback([flags, &chosen, cmd] {
    flags->stray_word = word_after_an_op(*cmd, flags->paths);
    chosen = [flags] { return run_images(*flags); };
  });
}

const bool registered = register_command(&setup);

}  // namespace

}  // namespace forkpool::cli
