// plan_image_batch: checks the settings and every output location, and lists inputs and outputs,
// before anything is touched.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "forkpool/images/batch.hpp"
#include "forkpool/images/files.hpp"
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

std::optional<FileId> id_of(const fs::path& path) {  // follows symlinks
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

bool is_within(const fs::path& inner, const fs::path& outer) {
  auto [o, i] = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
  return o == outer.end();
}

bool is_hidden(const fs::path& p) {
  const auto name = p.filename().native();
  return !name.empty() && name[0] == '.';
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

struct Listing {
  std::vector<fs::path> files;                                // relative to the root
  std::vector<std::pair<fs::path, std::string>> unreadable;  // relative folder, why
};

// Regular image files under `root` (one level, or all with `recursive`), relative to it,
// sorted. Hidden files and folders are left out (editor backups, "._x.jpg" resource forks,
// forkpool's own temporary files), and so is the folder `exclude` (an output folder inside
// the input); symlinks to folders are not followed. A subfolder that cannot be listed is
// noted, and the walk goes on; the root itself must be listable.
Listing list_inputs(const fs::path& root, bool recursive, const std::optional<FileId>& exclude) {
  Listing out;
  std::vector<fs::path> folders{fs::path{}};
  while (!folders.empty()) {
    const fs::path relative = std::move(folders.back());
    folders.pop_back();
    const fs::path folder = relative.empty() ? root : root / relative;
    std::error_code ec;
    fs::directory_iterator it(folder, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      const fs::directory_entry& entry = *it;
      if (is_hidden(entry.path())) continue;
      std::error_code type_ec;
      const fs::path name = entry.path().filename();
      if (!entry.is_symlink(type_ec) && entry.is_directory(type_ec)) {
        if (recursive && !(exclude && id_of(entry.path()) == exclude)) folders.push_back(relative / name);
        continue;
      }
      if (!entry.is_regular_file(type_ec)) continue;  // follows a symlink to a file
      if (!format_from_name(name.extension().native())) continue;
      out.files.push_back(relative / name);
    }
    if (ec) {
      if (relative.empty())
        throw std::invalid_argument(
            fmt::format("cannot read the input folder '{}': {}", root.native(), ec.message()));
      out.unreadable.emplace_back(relative, ec.message());
    }
  }
  std::sort(out.files.begin(), out.files.end());
  return out;
}

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
    std::string error;
  };

  const Folder& folder_of(const fs::path& folder) {
    auto [it, fresh] = folders_.try_emplace(folder);
    if (!fresh) return it->second;
    std::error_code ec;
    it->second.real = fs::weakly_canonical(fs::absolute(folder, ec), ec);
    if (ec) {
      it->second.error = fmt::format("cannot write to {}: {}", folder.native(), ec.message());
      return it->second;
    }
    // The folder, or the part of it that exists (the rest is made by run_image_batch).
    if (auto problem = folder_problem(it->second.real); problem && problem->not_a_folder)
      it->second.error = fmt::format("cannot write to {}: {} is not a folder", folder.native(),
                                     problem->existing.native());
    else if (problem)
      it->second.error = fmt::format("cannot write to {}: {}", problem->existing.native(), problem->why);
    return it->second;
  }

  std::map<fs::path, Folder> folders_;
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

ImageBatch plan_image_batch(ImageBatchSettings settings) {
  const auto& s = settings;
  if (s.recipe.ops.empty())
    throw std::invalid_argument("no --op given: say what to do to each image (see --list-ops)");
  (void)parse_op_chain(s.recipe.ops);  // every syntax error now, before any work
  if (s.recipe.quality < 1 || s.recipe.quality > 100)
    throw std::invalid_argument(fmt::format("quality {} is out of range 1..100", s.recipe.quality));
  std::error_code ec;
  if (!fs::exists(s.input_dir, ec))
    throw std::invalid_argument(fmt::format("input folder '{}' does not exist", s.input_dir.native()));
  if (!fs::is_directory(s.input_dir, ec))
    throw std::invalid_argument(fmt::format("'{}' is not a folder", s.input_dir.native()));
  if (fs::exists(s.output_dir, ec) && !fs::is_directory(s.output_dir, ec))
    throw std::invalid_argument(
        fmt::format("output '{}' exists and is not a folder", s.output_dir.native()));

  const fs::path in_real = fs::canonical(s.input_dir);
  // Absolute first: weakly_canonical leaves a relative path whose first part is missing as it is.
  const fs::path out_real = fs::weakly_canonical(fs::absolute(s.output_dir));
  const bool out_inside_in = is_within(out_real, in_real);
  if (out_inside_in && !s.output_inside_input)
    throw std::invalid_argument(fmt::format(
        "the output folder '{}' {} the input folder '{}': choose another, or pass "
        "--output-inside-input",
        s.output_dir.native(), out_real == in_real ? "is" : "is inside", s.input_dir.native()));
  check_output_folder(s.output_dir, out_real);

  const Listing listing = list_inputs(
      s.input_dir, s.recursive, out_inside_in && out_real != in_real ? id_of(out_real) : std::nullopt);
  // Inputs are never written over, whatever the folders' nesting, links and the --format.
  std::set<fs::path> input_reals;
  std::map<FileId, fs::path> input_ids;
  for (const auto& relative : listing.files) {
    input_reals.insert(in_real / relative);
    if (auto id = id_of(in_real / relative)) input_ids.emplace(*id, relative);
  }

  ImageBatch batch;
  Destinations destinations;
  std::map<fs::path, fs::path> first_with_output;
  for (const auto& relative : listing.files) {
    ImageItem item;
    item.relative = relative;
    item.input = s.input_dir / relative;
    fs::path output_relative = relative;
    if (s.format) output_relative.replace_extension(extension_for(*s.format));
    item.output = s.output_dir / output_relative;
    const auto dest = destinations.of(item.output);
    const bool through_link = dest.path != out_real / output_relative;
    auto fail = [&](std::string why) {
      item.status = ItemStatus::failed;
      item.error = std::move(why);
    };
    if (!dest.error.empty()) {
      fail(dest.error);
    } else if (auto [it, fresh] = first_with_output.emplace(dest.path, relative); !fresh) {
      fail(fmt::format("has the same output as {} (choose another --format or rename one)",
                       it->second.native()));
    } else if (!through_link && input_reals.contains(dest.path)) {
      fail(fmt::format("its output would overwrite the input {} (choose another --format or "
                       "output folder)", dest.path.native()));
    } else if (!s.output_inside_input && is_within(dest.path, in_real)) {
      // Only a symlink in the output tree leads here: the folder itself was checked above.
      throw std::invalid_argument(fmt::format(
          "the output {} leads into the input folder '{}' (a symlink makes it {}): remove the "
          "link or choose another output folder",
          item.output.native(), s.input_dir.native(), dest.path.native()));
    } else if (auto input = dest.existing ? input_ids.find(*dest.existing) : input_ids.end();
               input != input_ids.end()) {
      throw std::invalid_argument(fmt::format(
          "the output {} is the input {} (a link to it): remove the link or choose another "
          "output folder",
          item.output.native(), (s.input_dir / input->second).native()));
    } else if (dest.kind == ipc::OutputKind::in_place) {
      fail(fmt::format("its output {} exists and is not a regular file", item.output.native()));
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
  for (const auto& [relative, why] : listing.unreadable) {
    ImageItem item;
    item.relative = relative;
    item.input = s.input_dir / relative;
    item.status = ItemStatus::failed;
    item.error = "cannot read this folder: " + why;
    batch.items.push_back(std::move(item));
  }
  std::sort(batch.items.begin(), batch.items.end(),
            [](const ImageItem& a, const ImageItem& b) { return a.relative < b.relative; });
  batch.settings = std::move(settings);
  return batch;
}

}  // namespace forkpool::images
