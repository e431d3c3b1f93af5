// plan_image_batch: checks the settings and lists inputs and outputs before anything is touched.

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "forkpool/images/batch.hpp"

namespace forkpool::images {

namespace fs = std::filesystem;

namespace {

bool is_within(const fs::path& inner, const fs::path& outer) {
  auto [o, i] = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
  return o == outer.end();
}

bool is_hidden(const fs::path& p) {
  const auto name = p.filename().native();
  return !name.empty() && name[0] == '.';
}

// Regular image files under `root` (one level, or all with `recursive`), relative to it,
// sorted. Hidden files and folders are left out (editor backups, "._x.jpg" resource forks,
// forkpool's own temporary files), and so is `exclude` (an output folder inside the input).
std::vector<fs::path> list_inputs(const fs::path& root, bool recursive, const fs::path& exclude) {
  std::vector<fs::path> found;
  auto consider = [&](const fs::directory_entry& entry) {
    if (is_hidden(entry.path()) || !entry.is_regular_file()) return;
    if (!format_from_name(entry.path().extension().native())) return;
    found.push_back(entry.path().lexically_relative(root));
  };
  if (recursive) {
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_directory() &&
          (is_hidden(it->path()) || (!exclude.empty() && fs::equivalent(it->path(), exclude)))) {
        it.disable_recursion_pending();
        continue;
      }
      consider(*it);
    }
  } else {
    for (const auto& entry : fs::directory_iterator(root)) consider(entry);
  }
  std::sort(found.begin(), found.end());
  return found;
}

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
  if (!fs::exists(s.input_dir))
    throw std::invalid_argument(fmt::format("input folder '{}' does not exist", s.input_dir.native()));
  if (!fs::is_directory(s.input_dir))
    throw std::invalid_argument(fmt::format("'{}' is not a folder", s.input_dir.native()));
  if (fs::exists(s.output_dir) && !fs::is_directory(s.output_dir))
    throw std::invalid_argument(
        fmt::format("output '{}' exists and is not a folder", s.output_dir.native()));

  const fs::path in_real = fs::canonical(s.input_dir);
  const fs::path out_real = fs::weakly_canonical(s.output_dir);
  const bool out_inside_in = is_within(out_real, in_real);
  if (out_inside_in && !s.output_inside_input)
    throw std::invalid_argument(fmt::format(
        "the output folder '{}' {} the input folder '{}': choose another, or pass "
        "--output-inside-input",
        s.output_dir.native(), out_real == in_real ? "is" : "is inside", s.input_dir.native()));

  ImageBatch batch;
  const auto inputs =
      list_inputs(s.input_dir, s.recursive, out_inside_in && fs::exists(out_real) ? out_real : fs::path{});
  std::map<fs::path, fs::path> first_with_output;
  // Inputs are never written over, whatever the folders' nesting and the --format.
  std::set<fs::path> input_reals;
  for (const auto& relative : inputs) input_reals.insert(in_real / relative);
  for (const auto& relative : inputs) {
    ImageItem item;
    item.relative = relative;
    item.input = s.input_dir / relative;
    fs::path output_relative = relative;
    if (s.format) output_relative.replace_extension(extension_for(*s.format));
    item.output = s.output_dir / output_relative;
    const fs::path output_real = out_real / output_relative;
    if (auto [it, fresh] = first_with_output.emplace(output_real, relative); !fresh) {
      item.status = ItemStatus::failed;
      item.error = fmt::format("has the same output as {} (choose another --format or rename one)",
                               it->second.native());
    } else if (input_reals.contains(output_real)) {
      item.status = ItemStatus::failed;
      item.error = fmt::format("its output would overwrite the input {} (choose another --format "
                               "or output folder)", output_real.native());
    } else if (fs::exists(output_real) && fs::is_directory(output_real)) {
      item.status = ItemStatus::failed;
      item.error = fmt::format("its output {} is a folder", item.output.native());
    } else if (!s.overwrite && fs::exists(output_real)) {
      item.status = ItemStatus::skipped;
      item.error = "output exists (pass --overwrite to replace it)";
    }
    batch.items.push_back(std::move(item));
  }
  batch.settings = std::move(settings);
  return batch;
}

}  // namespace forkpool::images
