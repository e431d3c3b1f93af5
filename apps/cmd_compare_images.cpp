// `forkpool compare images IN... --op OP...`: the images batch on every configuration, each
// run's outputs in a temporary folder, compared byte for byte with the serial run's. Built only
// where forkpool::images is (it needs OpenCV).

#include <fmt/core.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli.hpp"
#include "compare_command.hpp"
#include "forkpool/compare/images_workload.hpp"
#include "forkpool/images/batch.hpp"
#include "forkpool/images/codec.hpp"
#include "forkpool/images/colour.hpp"
#include "images_recipe_flags.hpp"
#include "whole_number.hpp"

namespace forkpool::cli {
namespace {

// The flags of `images` that change what is made (outputs or which inputs), passed through.
struct ImagesCompareFlags {
  std::vector<std::string> inputs;
  std::vector<std::string> ops;
  bool recursive = false;
  std::vector<std::string> include, exclude;
  bool hidden = false;
  std::string format;
  int quality = 90;
  std::string colorspace = "keep";
  bool strip = false;
  bool jpeg_progressive = false;
  std::string jpeg_subsampling = "420";
  int png_level = -1;
  bool webp_lossless = false;
  std::string tiff_compression = "lzw";
};

images::ImageBatchSettings settings_from(const ImagesCompareFlags& f) {
  if (f.inputs.empty()) throw InputError("compare images needs inputs: forkpool compare images IN... --op OP");
  images::ImageBatchSettings s;
  for (const auto& p : f.inputs) s.inputs.paths.emplace_back(p);
  s.inputs.recursive = f.recursive;
  s.inputs.include = f.include;
  s.inputs.exclude = f.exclude;
  s.inputs.hidden = f.hidden;
  apply_recipe_flags(f, s.recipe);
  if (!f.format.empty()) s.format = images::format_from_name(f.format);
  return s;
}

int run_images_compare(const CompareFlags& f, const ImagesCompareFlags& imf) {
  // First: a Ctrl-C from here on waits until the temporary folder is gone.
  compare::HeldInterrupts held;
  std::optional<compare::ImagesWorkload> work;
  try {
    work.emplace(settings_from(imf));
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  }
  const images::ImageBatch& batch = work->batch();
  for (const auto& item : batch.items)
    if (item.status == images::ItemStatus::failed)  // a subfolder that could not be listed
      throw InputError(fmt::format("{}: {}", item.input.native(), item.error));
  const std::size_t count = batch.count(images::ItemStatus::pending);
  if (count == 0)
    throw InputError(fmt::format("no images (jpg, jpeg, png, webp, tif, tiff) in the inputs{}",
                                 imf.recursive ? "" : " (use -r to include subfolders)"));

  compare_output::CompareReport report;
  report.subcommand = "images";
  std::string ops;
  for (const auto& op : imf.ops) ops += (ops.empty() ? "" : " ") + op;
  report.workload = fmt::format("{} image{}, {}{}{}", count, count == 1 ? "" : "s",
                                ops.empty() ? "no op" : ops, imf.format.empty() ? "" : ", to ",
                                imf.format);
  report.settings = {{"inputs", imf.inputs}, {"ops", imf.ops},          {"recursive", imf.recursive},
                     {"images", count},       {"quality", imf.quality}, {"colorspace", imf.colorspace},
                     {"strip", imf.strip}};
  if (!imf.format.empty()) report.settings["format"] = imf.format;
  compare::ImagesWorkload& w = *work;
  return run_compare(f, std::move(report), w.workload(), [&w] {
    const compare::ImagesCheck& c = w.check();
    if (c.runs_differing == 0)
      return std::vector<std::string>{fmt::format(
          "every configuration wrote the same {} outputs, byte for byte ({} runs compared with the "
          "serial run's)", c.outputs, c.runs_compared)};
    return std::vector<std::string>{fmt::format(
        "{} of {} runs did not write the serial run's {} outputs byte for byte (the first "
        "difference of each configuration is named on stderr)", c.runs_differing, c.runs_compared,
        c.outputs)};
  }, held);
}

void setup(CLI::App& compare, CommandRunner& chosen) {
  static CompareFlags flags;
  static ImagesCompareFlags imf;
  CLI::App* cmd = compare.add_subcommand(
      "images", "The images batch of `forkpool images` on every configuration; outputs go to a "
                "temporary folder, every one compared byte for byte with the serial run's");
  cmd->footer(
      "Each run writes into an empty folder inside a folder made under $TMPDIR (or /tmp); the "
      "serial run's outputs are kept for the comparisons, every other run's are removed once "
      "compared, and the whole folder at the end, Ctrl-C included (a SIGKILL of forkpool "
      "compare leaves it: forkpool-compare-images-XXXXXX). The inputs are only read.\n"
      "Example: forkpool compare images data/images --op resize=256x256 --workers 1,2 --repeats 3");
  cmd->add_option("inputs", imf.inputs, "Image files and folders (jpg, png, webp, tiff)")->type_name("PATH");
  cmd->add_option("--op", imf.ops, "An op, e.g. resize=800x600, blur=2, gray (repeatable; see forkpool images --list-ops)")
      ->type_name("OP")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("-r,--recursive", imf.recursive, "Include subfolders");
  cmd->add_option("--include", imf.include, "Take only files matching GLOB (as forkpool images; repeatable)")
      ->type_name("GLOB")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--exclude", imf.exclude, "Leave out files and folders matching GLOB (repeatable)")
      ->type_name("GLOB")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("--hidden", imf.hidden, "Also take hidden files and folders found in input folders");
  cmd->add_option("--format", imf.format, "Output format (default: the input's)")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"jpg", "png", "webp", "tiff"}));
  cmd->add_option("--quality", imf.quality, "JPEG and WebP quality")
      ->type_name("N")
      ->check(whole_number(1, 100))
      ->capture_default_str();
  cmd->add_option("--colorspace", imf.colorspace, "keep: outputs carry their input's ICC profile; srgb: converted to sRGB")
      ->type_name("SPACE")
      ->check(CLI::IsMember({"keep", "srgb"}))
      ->capture_default_str();
  cmd->add_flag("--strip", imf.strip, "Write no metadata");
  cmd->add_flag("--jpeg-progressive", imf.jpeg_progressive, "JPEG: progressive");
  cmd->add_option("--jpeg-subsampling", imf.jpeg_subsampling, "JPEG: chroma subsampling, 444, 422 or 420")
      ->type_name("MODE")
      ->check(CLI::IsMember({"444", "422", "420"}))
      ->capture_default_str();
  cmd->add_option("--png-level", imf.png_level, "PNG: zlib compression level, 0 .. 9 (default: OpenCV's)")
      ->type_name("N")
      ->check(CLI::Range(0, 9));
  cmd->add_flag("--webp-lossless", imf.webp_lossless, "WebP: lossless");
  cmd->add_option("--tiff-compression", imf.tiff_compression, "TIFF: compression, none | lzw | deflate")
      ->type_name("NAME")
      ->check(CLI::IsMember({"none", "lzw", "deflate"}))
      ->capture_default_str();
  add_compare_flags(*cmd, flags);
  cmd->callback([&chosen] { chosen = [] { return run_images_compare(flags, imf); }; });
}

const bool registered = register_compare_subcommand(&setup);

}  // namespace
}  // namespace forkpool::cli
