#pragma once
// A folder of images through an op chain on the serial, threads or processes backend.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "forkpool/exec/executor.hpp"
#include "forkpool/images/codec.hpp"
#include "forkpool/images/image_job.hpp"

namespace forkpool::images {

// Which files are a batch's inputs, and the relative path of each (what {dir} of an output
// pattern and the output tree are made of). Plain value.
struct ImageInputs {
  // Files and folders named on the command line. A folder gives the image files in it (below
  // it with `recursive`), relative to it; a file is taken whatever its name (a hidden one too),
  // relative to nothing: "trip/a.jpg" is "a.jpg".
  std::vector<std::filesystem::path> paths;
  // Paths read from a list (--files-from): the same, but a relative one keeps its folder as
  // written, "trip/a.jpg" is "trip/a.jpg" (as tar and rsync take a list); an absolute one, or
  // one with "..", is relative to nothing, as a named one.
  std::vector<std::filesystem::path> listed;
  // fnmatch(3) globs, case-sensitive. A pattern with a '/' is matched against the relative
  // path ('*' crosses '/'), one without against the file name. A file is an input when it
  // matches an include (or none is given) and no exclude; a folder that matches an exclude is
  // not walked.
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  bool recursive = false;
  bool hidden = false;  // walk hidden files and folders (".x") too; named ones are always taken
};

struct ImageBatchSettings {
  ImageInputs inputs;
  std::filesystem::path output_dir;  // empty with in_place
  // Each output's path in output_dir (see OutputPattern); empty: "{dir}/{stem}.{ext}".
  std::string output_pattern;
  bool in_place = false;  // each output replaces its input (no output_dir, pattern or format)
  ImageRecipe recipe;
  std::optional<ImageFormat> format;  // nullopt: each output keeps its input's format
  bool overwrite = false;             // true: every existing output is made again
  bool output_inside_input = false;   // allow the output folder to be, or be inside, an input folder
};

enum class ItemStatus { pending, done, skipped, failed, cancelled };
std::string_view to_string(ItemStatus s) noexcept;

// What the planner found at an item's output, and so why it is skipped or (re)made.
enum class ExistingOutput {
  none,            // nothing there: made
  up_to_date,      // same recipe, not older than its input: skipped
  recipe_changed,  // made by another recipe: redone
  input_newer,     // same recipe, but the input changed since: redone
  unrecorded,      // no recipe recorded with it (made by hand, by an older forkpool, or on a
                   // file system without extended attributes): kept, skipped
  overwrite,       // --overwrite: redone whatever it is
};
std::string_view to_string(ExistingOutput e) noexcept;  // "up to date", "recipe changed", ...

// One input file and what became of it, or a folder of the input tree that could not be
// listed (failed at planning, with no output). Plain value.
struct ImageItem {
  std::filesystem::path relative;  // to its input folder (see ImageInputs): "trip/img_001.jpg"
  std::filesystem::path input;
  std::filesystem::path output;    // empty for a folder that could not be listed
  ItemStatus status = ItemStatus::pending;
  ExistingOutput existing = ExistingOutput::none;
  ImageOutcome outcome;  // when done
  std::string error;     // when failed (or why skipped)
  std::optional<unsigned> worker;  // the worker that ran it (JobResult::worker); none if none did
};

// What run_image_batch will do: every input found, each with its output and, when it will not
// be processed, why (skipped, or failed at planning). Plain value.
struct ImageBatch {
  ImageBatchSettings settings;
  std::vector<ImageItem> items;  // sorted by relative path
  [[nodiscard]] std::size_t count(ItemStatus s) const noexcept;
};

// Checks the settings and every output location, and lists the inputs. Throws
// std::invalid_argument for bad settings: no such input, an input folder that cannot be
// listed, a named file that is not an image forkpool reads, an output folder that cannot be
// created or written, output inside input, an output that a symlink (or hard link) in the
// output tree leads into an input folder or onto an input, two inputs with one output (the
// pair named), a bad output pattern or one that makes a name with no image extension (or
// another than --format's), a bad op, quality out of range. With in_place each output is its
// input, and an input that records this recipe is skipped (an earlier run made it: a resize
// would shrink it again) unless `overwrite`. An existing output is skipped when it records the recipe this
// batch would make it with and is not older than its input, or when it records no recipe
// (it may be a person's work; --overwrite replaces it); it is redone otherwise, and always with
// `overwrite` (see ExistingOutput). A subfolder that cannot be listed (-r) becomes a failed item
// named for it; the rest is planned. Touches nothing.
ImageBatch plan_image_batch(ImageBatchSettings settings);

struct ImageBatchReport {
  std::vector<ImageItem> items;  // the plan's items with their final status
  bool interrupted = false;
  int interrupt_signal = 0;
  unsigned workers = 0;
  unsigned workers_replaced = 0;  // processes: workers that died and were replaced
  unsigned workers_lost = 0;      // processes: workers that could not be started or replaced
  double wall_seconds = 0;  // processing only, planning excluded
  std::chrono::nanoseconds startup{0};  // until the workers were ready (BatchReport::startup)
  // Bytes of the jobs, their results, and the recipe once per worker: what went through
  // channels where there are channels (framing not counted). For forkpool compare.
  std::uint64_t payload_bytes = 0;
  [[nodiscard]] std::size_t count(ItemStatus s) const noexcept;
  [[nodiscard]] double input_megapixels() const noexcept;  // of the done items
};

// Called once per processed item as it ends, in completion order, on the calling thread.
using ItemCallback = std::function<void(const ImageItem&)>;

// Creates the output folders, removes from them the temporary files of dead writers (a run
// killed mid-write; never those of a live one), and processes every pending item of `batch`:
// each image read -> ops -> written, as one staged job of the executor (a pipeline on threads).
// SIGINT and SIGTERM stop the batch: what finished stays, the rest is `cancelled`, and no
// temporary file is left. Every process that runs images has OpenCV made single-threaded
// (cv::setNumThreads(0)); with serial and threads that is this process, and it stays so.
// processes forks, so call it before this process starts a thread pool. mpi: on a rank but 0
// (Executor::is_coordinator() false), call it with an empty batch: it processes what rank 0
// sends (each output written by the rank that made it) and returns an empty report. Thread:
// one batch at a time per process.
ImageBatchReport run_image_batch(const ImageBatch& batch, const ExecutorOptions& options,
                                 const ItemCallback& on_item = {});

}  // namespace forkpool::images
