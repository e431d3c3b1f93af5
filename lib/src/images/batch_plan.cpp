// plan_image_batch: checks the settings and every output location, and lists inputs and outputs,
// before anything is touched.

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <stdexcept>

#include "forkpool/images/batch.hpp"
#include "forkpool/images/files.hpp"
#include "forkpool/images/output_name.hpp"
#include "forkpool/ipc/output_file.hpp"

namespace forkpool::images {

namespace fs = std::filesystem;

namespace {

// A file's identity, whatever the names and links that lead to it.
struct FileId {
  dev_t device = 0;
  ino_t inode = 0;
  auto operator<=>(const FileId&) const = default;
};

// Paths in the order of std::filesystem::path (part by part: "a/b" before "a.b"), at the cost
// of a string comparison: a path's own compare splits both into parts, which is most of the
// planning time of a 100,000-file tree.
bool path_less(const fs::path& a, const fs::path& b) {
  const auto& x = a.native();
  const auto& y = b.native();
  return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end(), [](char c, char d) {
    auto rank = [](char ch) { return ch == '/' ? 0 : static_cast<unsigned char>(ch) + 1; };
    return rank(c) < rank(d);
  });
}

std::optional<FileId> id_of(const fs::path& path) {  // follows symlinks
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

bool is_within(const fs::path& inner, const fs::path& outer) {
  auto [o, i] = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
  return o == outer.end();
}

std::optional<timespec> mtime_of(const fs::path& path) {  // follows symlinks
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return st.st_mtim;
}

bool older(const timespec& a, const timespec& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec < b.tv_sec : a.tv_nsec < b.tv_nsec;
}

// Whether the output at `real` (one that exists) is what `recipe` would make now from `input`.
// A record that cannot be read counts as none: the file is kept, not guessed about. An output
// as new as its input (same mtime) is up to date, as make has it: file systems with coarse
// clocks give a fast job's input and output the same time.
ExistingOutput judge_existing(const fs::path& input, const fs::path& real, const fs::path& output,
                              const ImageRecipe& recipe) {
  const auto record = read_output_record(real);
  if (!record) return ExistingOutput::unrecorded;
  const auto format = format_from_name(output.extension().native());
  if (!format || *record != recipe.output_record(*format)) return ExistingOutput::recipe_changed;
  const auto in_time = mtime_of(input);
  const auto out_time = mtime_of(real);
  if (!in_time || !out_time || older(*out_time, *in_time)) return ExistingOutput::input_newer;
  return ExistingOutput::up_to_date;
}

// Which of the files and folders found are inputs: --include / --exclude and hidden names.
class InputFilter {
 public:
  explicit InputFilter(const ImageInputs& inputs)
      : include_(inputs.include), exclude_(inputs.exclude), hidden_(inputs.hidden) {}

  // A file found in a folder, at `relative` (its name last).
  [[nodiscard]] bool takes_file(const fs::path& relative) const {
    if (!format_from_name(relative.extension().native())) return false;
    return takes_named(relative);
  }
  // A file named on the command line or in a list: taken whatever its name, if the patterns do.
  [[nodiscard]] bool takes_named(const fs::path& relative) const {
    return (include_.empty() || any_match(include_, relative)) && !any_match(exclude_, relative);
  }
  [[nodiscard]] bool walks_folder(const fs::path& relative) const { return !any_match(exclude_, relative); }
  [[nodiscard]] bool skips_hidden() const noexcept { return !hidden_; }

 private:
  static bool any_match(const std::vector<std::string>& patterns, const fs::path& relative) {
    for (const auto& pattern : patterns) {
      const bool whole_path = pattern.find('/') != std::string::npos;
      const fs::path text = whole_path ? relative : relative.filename();
      if (::fnmatch(pattern.c_str(), text.c_str(), 0) == 0) return true;
    }
    return false;
  }

  const std::vector<std::string>& include_;
  const std::vector<std::string>& exclude_;
  bool hidden_;
};

// One input found: the file and its path relative to its input (see ImageInputs).
struct Found {
  fs::path input;
  fs::path relative;
};

struct Listing {
  std::vector<Found> files;
  std::vector<Found> unreadable;  // a folder that could not be listed, and why in `relative`'s place
  std::vector<std::string> why;   // ... parallel to unreadable
};

// The image files under the folder `root`, one level or all with `recursive`, each relative to
// it with `prefix` before. Hidden files and folders are left out unless asked for (editor
// backups, "._x.jpg" resource forks, forkpool's own temporary files), and so are the folder
// `exclude` (an output folder inside the input) and folders an --exclude matches; symlinks to
// folders are not followed (no loops). A subfolder that cannot be listed is noted, and the walk
// goes on; the root itself must be listable.
void list_folder(const fs::path& root, const fs::path& prefix, bool recursive,
                 const std::optional<FileId>& exclude, const InputFilter& filter, Listing& out) {
  std::vector<fs::path> folders{fs::path{}};
  while (!folders.empty()) {
    const fs::path relative = std::move(folders.back());
    folders.pop_back();
    const fs::path folder = relative.empty() ? root : root / relative;
    std::error_code ec;
    fs::directory_iterator it(folder, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      const fs::directory_entry& entry = *it;
      const std::string& whole = entry.path().native();
      const std::string_view name = std::string_view(whole).substr(whole.rfind('/') + 1);
      if (filter.skips_hidden() && name.starts_with('.')) continue;
      std::error_code type_ec;
      if (!entry.is_symlink(type_ec) && entry.is_directory(type_ec)) {
        if (recursive && filter.walks_folder(prefix / relative / name) &&
            !(exclude && id_of(entry.path()) == exclude))
          folders.push_back(relative / name);
        continue;
      }
      if (!entry.is_regular_file(type_ec)) continue;  // follows a symlink to a file
      std::string found_text = prefix.empty() ? std::string() : prefix.native() + '/';
      if (!relative.empty()) found_text += relative.native() + '/';
      found_text += name;
      fs::path found(std::move(found_text));
      if (!filter.takes_file(found)) continue;
      out.files.push_back({entry.path(), std::move(found)});
    }
    if (ec) {
      if (relative.empty())
        throw std::invalid_argument(
            fmt::format("cannot read the input folder '{}': {}", root.native(), ec.message()));
      out.unreadable.push_back({folder, prefix / relative});
      out.why.push_back(ec.message());
    }
  }
}

// The folder a listed relative path keeps ("trip/a.jpg" keeps "trip"), or none.
fs::path kept_prefix(const fs::path& listed) {
  if (listed.is_absolute()) return {};
  fs::path normal = listed.lexically_normal();
  for (const auto& part : normal)
    if (part == "..") return {};
  if (normal == ".") return {};
  return normal;
}

// An input folder named on the command line or in a list.
struct InputFolder {
  fs::path given;
  fs::path real;  // symlinks resolved
  fs::path prefix;
};

// What stops a folder (symlinks resolved) from being written or made: its nearest part that
// exists must be a folder this process may write and enter.
struct FolderProblem {
  fs::path existing;        // that nearest existing part
  bool not_a_folder = false;
  std::string why;          // strerror of faccessat, when it is a folder
};

std::optional<FolderProblem> folder_problem(const fs::path& real) {
  std::error_code ec;
  fs::path existing = real;
  while (!fs::exists(existing, ec) && existing.has_relative_path()) existing = existing.parent_path();
  if (!fs::is_directory(existing, ec)) return FolderProblem{existing, true, {}};
  if (::faccessat(AT_FDCWD, existing.c_str(), W_OK | X_OK, AT_EACCESS) != 0)
    return FolderProblem{existing, false, std::strerror(errno)};
  return std::nullopt;
}

// Refuses an output folder that can be neither written nor made.
void check_output_folder(const fs::path& given, const fs::path& real) {
  auto problem = folder_problem(real);
  if (!problem) return;
  if (problem->not_a_folder)
    throw std::invalid_argument(fmt::format("cannot make the output folder '{}': '{}' is not a folder",
                                            given.native(), problem->existing.native()));
  if (problem->existing == real)
    throw std::invalid_argument(
        fmt::format("the output folder '{}' is not writable: {}", given.native(), problem->why));
  throw std::invalid_argument(fmt::format("cannot make the output folder '{}': '{}' is not writable: {}",
                                          given.native(), problem->existing.native(), problem->why));
}

// Where the writer will put an output's bytes: its folder with every symlink resolved and,
// as the writer does, a symlink at the end followed. Folders are resolved once each.
class Destinations {
 public:
  struct Place {
    fs::path path;
    std::optional<FileId> existing;  // the file that is there now, if any
    ipc::OutputKind kind = ipc::OutputKind::create;
    std::string error;  // set: it cannot be written
  };

  Place of(const fs::path& output) {
    Place place;
    const Folder& folder = folder_of(output.parent_path());
    if (!folder.error.empty()) {
      place.error = folder.error;
      return place;
    }
    place.path = folder.real / output.filename();
    if (!folder.exists) return place;  // a folder still to be made holds nothing: no lstat each
    struct stat st {};
    if (::lstat(place.path.c_str(), &st) != 0) return place;  // nothing there yet
    if (S_ISLNK(st.st_mode)) {
      auto target = ipc::resolve_output(place.path);
      if (!target) {
        place.error = "cannot write there: " + target.error().message();
        return place;
      }
      place.path = target->path;
      place.kind = target->kind;
      if (target->exists()) place.existing = FileId{target->device, target->inode};
      return place;
    }
    place.existing = FileId{st.st_dev, st.st_ino};
    if (S_ISDIR(st.st_mode)) place.error = fmt::format("its output {} is a folder", output.native());
    place.kind = S_ISREG(st.st_mode) ? ipc::OutputKind::replace : ipc::OutputKind::in_place;
    return place;
  }

 private:
  struct Folder {
    fs::path real;
    bool exists = false;
    std::string error;
  };

  const Folder& folder_of(const fs::path& folder) {
    auto [it, fresh] = folders_.try_emplace(folder.native());
    if (!fresh) return it->second;
    std::error_code ec;
    it->second.real = fs::weakly_canonical(fs::absolute(folder, ec), ec);
    if (ec) {
      it->second.error = fmt::format("cannot write to {}: {}", folder.native(), ec.message());
      return it->second;
    }
    it->second.exists = fs::is_directory(it->second.real, ec);
    // The folder, or the part of it that exists (the rest is made by run_image_batch).
    if (auto problem = folder_problem(it->second.real); problem && problem->not_a_folder)
      it->second.error = fmt::format("cannot write to {}: {} is not a folder", folder.native(),
                                     problem->existing.native());
    else if (problem)
      it->second.error = fmt::format("cannot write to {}: {}", problem->existing.native(), problem->why);
    return it->second;
  }

  std::unordered_map<std::string, Folder> folders_;
};

}  // namespace

std::string_view to_string(ItemStatus s) noexcept {
  switch (s) {
    case ItemStatus::pending: return "pending";
    case ItemStatus::done: return "done";
    case ItemStatus::skipped: return "skipped";
    case ItemStatus::failed: return "failed";
    case ItemStatus::cancelled: return "cancelled";
  }
  return "?";
}

std::string_view to_string(ExistingOutput e) noexcept {
  switch (e) {
    case ExistingOutput::none: return "new";
    case ExistingOutput::up_to_date: return "up to date";
    case ExistingOutput::recipe_changed: return "recipe changed";
    case ExistingOutput::input_newer: return "input newer";
    case ExistingOutput::unrecorded: return "no recipe recorded";
    case ExistingOutput::overwrite: return "overwrite";
  }
  return "?";
}

std::size_t ImageBatch::count(ItemStatus s) const noexcept {
  return static_cast<std::size_t>(
      std::count_if(items.begin(), items.end(), [s](const ImageItem& i) { return i.status == s; }));
}

namespace {

void check_recipe(const ImageRecipe& recipe) {
  if (recipe.ops.empty())
    throw std::invalid_argument("no --op given: say what to do to each image (see --list-ops)");
  (void)parse_op_chain(recipe.ops);  // every syntax error now, before any work
  if (recipe.quality < 1 || recipe.quality > 100)
    throw std::invalid_argument(fmt::format("quality {} is out of range 1..100", recipe.quality));
  if (recipe.encoder.png_level < -1 || recipe.encoder.png_level > 9)
    throw std::invalid_argument(fmt::format("PNG level {} is out of range 0..9", recipe.encoder.png_level));
}

// Every input named (on the command line or in a list) and found in the folders named, in the
// order met, each input file once per relative path.
struct Inputs {
  std::vector<InputFolder> folders;
  Listing listing;
};

Inputs find_inputs(const ImageBatchSettings& s, const std::optional<fs::path>& out_real) {
  const ImageInputs& in = s.inputs;
  if (in.paths.empty() && in.listed.empty()) throw std::invalid_argument("no input given");
  const InputFilter filter(in);
  Inputs found;
  std::vector<std::pair<fs::path, fs::path>> named;  // file, relative
  auto take = [&](const fs::path& path, fs::path prefix, bool listed) {
    if (path.empty()) throw std::invalid_argument("an input is an empty name");
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      const int err = errno;
      if (err == ENOENT) throw std::invalid_argument(fmt::format("input '{}' does not exist", path.native()));
      throw std::invalid_argument(fmt::format("cannot read the input '{}': {}", path.native(), std::strerror(err)));
    }
    if (S_ISDIR(st.st_mode)) {
      found.folders.push_back({path, fs::canonical(path), listed ? std::move(prefix) : fs::path{}});
      return;
    }
    if (!S_ISREG(st.st_mode))
      throw std::invalid_argument(fmt::format("input '{}' is not a file or a folder", path.native()));
    if (!format_from_name(path.extension().native()))
      throw std::invalid_argument(fmt::format(
          "input '{}' is not named as an image forkpool reads (jpg, jpeg, png, webp, tif, tiff)",
          path.native()));
    fs::path relative = listed && !prefix.empty() ? prefix : path.filename();
    if (filter.takes_named(relative)) named.emplace_back(path, std::move(relative));
  };
  for (const auto& path : in.paths) take(path, {}, false);
  for (const auto& path : in.listed) take(path, kept_prefix(path), true);

  for (const auto& folder : found.folders) {
    const bool out_inside = out_real && is_within(*out_real, folder.real);
    if (out_inside && !s.output_inside_input)
      throw std::invalid_argument(fmt::format(
          "the output folder '{}' {} the input folder '{}': choose another, or pass "
          "--output-inside-input",
          s.output_dir.native(), *out_real == folder.real ? "is" : "is inside", folder.given.native()));
    list_folder(folder.given, folder.prefix, in.recursive,
                out_inside && *out_real != folder.real ? id_of(*out_real) : std::nullopt, filter,
                found.listing);
  }
  for (auto& [path, relative] : named) found.listing.files.push_back({std::move(path), std::move(relative)});
  // In the order of the items, so that of two inputs with one output the first is named first.
  std::sort(found.listing.files.begin(), found.listing.files.end(), [](const Found& a, const Found& b) {
    if (path_less(a.relative, b.relative)) return true;
    if (path_less(b.relative, a.relative)) return false;
    return path_less(a.input, b.input);
  });
  return found;
}

}  // namespace

ImageBatch plan_image_batch(ImageBatchSettings settings) {
  const auto& s = settings;
  check_recipe(s.recipe);
  const OutputPattern pattern(s.output_pattern.empty() ? OutputPattern::kDefault : s.output_pattern);
  std::optional<fs::path> out_real;
  if (s.in_place) {
    if (!s.output_dir.empty())
      throw std::invalid_argument("--in-place writes each output over its input: give no output folder");
    if (!s.output_pattern.empty())
      throw std::invalid_argument("--in-place keeps each input's name: it takes no output pattern or suffix");
    if (s.format)
      throw std::invalid_argument("--in-place keeps each input's name and format: it takes no --format");
  } else {
    if (s.output_dir.empty()) throw std::invalid_argument("no output folder given");
    std::error_code ec;
    if (fs::exists(s.output_dir, ec) && !fs::is_directory(s.output_dir, ec))
      throw std::invalid_argument(
          fmt::format("output '{}' exists and is not a folder", s.output_dir.native()));
    // Absolute first: weakly_canonical leaves a relative path whose first part is missing as it is.
    out_real = fs::weakly_canonical(fs::absolute(s.output_dir));
  }
  Inputs inputs = find_inputs(s, out_real);
  if (out_real) check_output_folder(s.output_dir, *out_real);

  // Inputs are never written over, whatever the folders' nesting, links and the --format.
  // Where each input really is: its folder's real path and its name (a symlink at the end is
  // the writer's to follow), and its identity, which links cannot hide.
  std::unordered_map<std::string, std::string> real_folders;
  auto real_of = [&](const fs::path& input) {
    const auto& text = input.native();
    const auto slash = text.rfind('/');
    const std::string folder = slash == std::string::npos ? "." : text.substr(0, slash == 0 ? 1 : slash);
    auto [it, fresh] = real_folders.try_emplace(folder);
    if (fresh) it->second = fs::weakly_canonical(fs::absolute(folder)).native();
    return it->second + '/' + text.substr(slash == std::string::npos ? 0 : slash + 1);
  };
  if (s.inputs.paths.size() + s.inputs.listed.size() > 1) {
    // The same file reached twice with one name (a folder and a file in it, both named): one
    // input. A single input can reach no file twice with one name.
    std::unordered_set<std::string> seen;
    std::vector<Found> unique;
    unique.reserve(inputs.listing.files.size());
    for (auto& f : inputs.listing.files)
      if (seen.insert(real_of(f.input) + '\0' + f.relative.native()).second) unique.push_back(std::move(f));
    inputs.listing.files = std::move(unique);
  }
  // Whether a path is where an input is, asked only of outputs that exist (an input's place
  // does): a batch into a new folder needs no table of every input.
  std::optional<std::unordered_set<std::string>> input_reals;
  auto is_input_place = [&](const std::string& path) {
    if (!input_reals) {
      input_reals.emplace();
      for (const auto& f : inputs.listing.files) input_reals->insert(real_of(f.input));
    }
    return input_reals->contains(path);
  };
  // Each input's identity, which no link can hide, looked up only when an output exists: a
  // batch into a new folder (a first run, a dry run of 100,000 files) needs no stat of each.
  std::optional<std::map<FileId, std::size_t>> input_ids;
  auto input_with_id = [&](const FileId& id) -> const Found* {
    if (!input_ids) {
      input_ids.emplace();
      for (std::size_t i = 0; i < inputs.listing.files.size(); ++i)
        if (auto file = id_of(inputs.listing.files[i].input)) input_ids->emplace(*file, i);
    }
    auto it = input_ids->find(id);
    return it == input_ids->end() ? nullptr : &inputs.listing.files[it->second];
  };

  ImageBatch batch;
  batch.items.reserve(inputs.listing.files.size() + inputs.listing.unreadable.size());
  Destinations destinations;
  std::unordered_map<std::string, const Found*> first_with_output;
  const std::string out_real_slash = out_real ? out_real->native() + '/' : std::string();
  for (std::size_t i = 0; i < inputs.listing.files.size(); ++i) {
    const Found& found = inputs.listing.files[i];
    ImageItem item;
    item.relative = found.relative;
    item.input = found.input;
    fs::path output_relative;
    if (s.in_place) {
      item.output = item.input;
    } else {
      output_relative = pattern.expand(found.relative, s.format);
      item.output = s.output_dir / output_relative;
      const auto format = format_from_name(item.output.extension().native());
      if (!format)
        throw std::invalid_argument(fmt::format(
            "the output pattern '{}' makes {} for {}: not an image name (jpg, png, webp, tiff)",
            pattern.text(), item.output.native(), item.input.native()));
      if (s.format && *format != *s.format)
        throw std::invalid_argument(fmt::format(
            "the output pattern '{}' makes {} for {}, which is not --format {}: use {{ext}}",
            pattern.text(), item.output.native(), item.input.native(), extension_for(*s.format)));
    }
    const auto dest = destinations.of(item.output);
    // Two inputs with one output: the second would silently replace the first's work.
    auto refuse_pair = [&](const Found& first) {
      throw std::invalid_argument(fmt::format(
          "{} and {} would both be written to {}: rename one, or choose an output pattern that "
          "tells them apart (e.g. -o '{{dir}}/{{stem}}_{{ext}}.jpg')",
          first.input.native(), found.input.native(), item.output.native()));
    };
    // (By name, links followed: hard-linked outputs are two names, each renamed over alone.)
    if (dest.error.empty())
      if (auto [it, fresh] = first_with_output.emplace(dest.path.native(), &found); !fresh) refuse_pair(*it->second);
    const bool own_input = s.in_place && dest.existing && dest.existing == id_of(item.input);
    const bool through_link = !s.in_place && dest.path.native() != out_real_slash + output_relative.native();
    auto fail = [&](std::string why) {
      item.status = ItemStatus::failed;
      item.error = std::move(why);
    };
    auto leads_into = [&]() -> const InputFolder* {
      if (s.output_inside_input) return nullptr;
      for (const auto& folder : inputs.folders)
        if (is_within(dest.path, folder.real)) return &folder;
      return nullptr;
    };
    if (!dest.error.empty()) {
      fail(dest.error);
    } else if (s.in_place && !own_input) {
      fail("it changed while planning (its file is not the one found)");
    } else if (!s.in_place && !through_link && dest.existing && is_input_place(dest.path.native())) {
      fail(fmt::format("its output would overwrite the input {} (choose another --format, output "
                       "pattern or folder, or pass --in-place)", dest.path.native()));
    } else if (const InputFolder* folder = s.in_place ? nullptr : leads_into()) {
      // Only a symlink in the output tree leads here: the folder itself was checked above.
      throw std::invalid_argument(fmt::format(
          "the output {} leads into the input folder '{}' (a symlink makes it {}): remove the "
          "link or choose another output folder",
          item.output.native(), folder->given.native(), dest.path.native()));
    } else if (const Found* input = !s.in_place && dest.existing ? input_with_id(*dest.existing) : nullptr) {
      throw std::invalid_argument(fmt::format(
          "the output {} is the input {} (a link to it): remove the link or choose another "
          "output folder",
          item.output.native(), input->input.native()));
    } else if (dest.kind == ipc::OutputKind::in_place) {
      fail(fmt::format("its output {} exists and is not a regular file", item.output.native()));
    } else if (s.in_place) {
      // The output is the input: one with no recipe is an original, to be made; one that records
      // this recipe was made by an earlier run, and doing it again would apply it twice.
      const auto judged = judge_existing(item.input, dest.path, item.output, s.recipe);
      if (judged == ExistingOutput::up_to_date && s.overwrite) {
        item.existing = ExistingOutput::overwrite;
      } else if (judged == ExistingOutput::up_to_date) {
        item.existing = judged;
        item.status = ItemStatus::skipped;
        item.error = "up to date (made in place by this recipe; --overwrite applies it again)";
      } else if (judged == ExistingOutput::recipe_changed) {
        item.existing = judged;
      }
    } else if (dest.existing && s.overwrite) {
      item.existing = ExistingOutput::overwrite;
    } else if (dest.existing) {
      item.existing = judge_existing(item.input, dest.path, item.output, s.recipe);
      if (item.existing == ExistingOutput::up_to_date) {
        item.status = ItemStatus::skipped;
        item.error = "up to date";
      } else if (item.existing == ExistingOutput::unrecorded) {
        item.status = ItemStatus::skipped;
        item.error = "output exists and records no recipe (made by hand or by an older forkpool?): "
                     "kept; pass --overwrite to replace it";
      }
    }
    batch.items.push_back(std::move(item));
  }
  for (std::size_t i = 0; i < inputs.listing.unreadable.size(); ++i) {
    ImageItem item;
    item.relative = inputs.listing.unreadable[i].relative;
    item.input = inputs.listing.unreadable[i].input;
    item.status = ItemStatus::failed;
    item.error = "cannot read this folder: " + inputs.listing.why[i];
    batch.items.push_back(std::move(item));
  }
  if (!inputs.listing.unreadable.empty())  // the inputs are in order already
    std::stable_sort(batch.items.begin(), batch.items.end(), [](const ImageItem& a, const ImageItem& b) {
      return path_less(a.relative, b.relative);
    });
  batch.settings = std::move(settings);
  return batch;
}

}  // namespace forkpool::images
