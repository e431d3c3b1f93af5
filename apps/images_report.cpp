#include "images_report.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

#include "forkpool/images/output_name.hpp"
#include "output_files.hpp"
#include "report_header.hpp"

namespace forkpool::cli {

namespace {

double per_second(double n, double seconds) { return seconds > 0 ? n / seconds : 0.0; }

std::string workers_text(const images::ImageBatchReport& report, const ExecutorOptions& options) {
  std::string text = fmt::format("{}, {} worker{}", to_string(options.backend), report.workers,
                                 report.workers == 1 ? "" : "s");
  if (options.backend == Backend::processes) text += ", " + std::string(ipc::to_string(options.transport));
  if (report.workers_replaced > 0) text += fmt::format(", {} replaced", report.workers_replaced);
  if (report.workers_lost > 0) text += fmt::format(", {} lost", report.workers_lost);
  return text;
}

bool is_redo(images::ExistingOutput e) {
  using images::ExistingOutput;
  return e == ExistingOutput::recipe_changed || e == ExistingOutput::input_newer ||
         e == ExistingOutput::overwrite;
}

}  // namespace

std::string images_existing_clause(std::span<const images::ImageItem> items) {
  using images::ExistingOutput;
  using images::ItemStatus;
  std::size_t up_to_date = 0, unrecorded = 0, redone = 0;
  std::map<ExistingOutput, std::size_t> why;  // ordered as the enum: recipe, input, overwrite
  for (const auto& item : items) {
    if (item.existing == ExistingOutput::up_to_date) ++up_to_date;
    if (item.existing == ExistingOutput::unrecorded) ++unrecorded;
    if (is_redo(item.existing) &&
        (item.status == ItemStatus::done || item.status == ItemStatus::pending)) {
      ++redone;
      ++why[item.existing];
    }
  }
  if (up_to_date + unrecorded + redone == 0) return {};
  std::string text = fmt::format("{} up to date, {} redone", up_to_date, redone);
  if (redone > 0) {
    std::string reasons;
    for (const auto& [e, n] : why)
      reasons += fmt::format("{}{} {}", reasons.empty() ? "" : ", ", n,
                             e == ExistingOutput::overwrite ? "--overwrite" : images::to_string(e));
    text += fmt::format(" ({})", reasons);
  }
  if (unrecorded > 0)
    text += fmt::format(", {} kept without a recipe (--overwrite replaces {})", unrecorded,
                        unrecorded == 1 ? "it" : "them");
  return text;
}

std::string images_summary_line(const images::ImageBatchReport& report,
                                const ExecutorOptions& options) {
  using images::ItemStatus;
  const auto done = static_cast<double>(report.count(ItemStatus::done));
  std::string line = fmt::format(
      "forkpool images: {} done, {} skipped, {} failed", report.count(ItemStatus::done),
      report.count(ItemStatus::skipped), report.count(ItemStatus::failed));
  if (auto cancelled = report.count(ItemStatus::cancelled); cancelled > 0)
    line += fmt::format(", {} cancelled", cancelled);
  line += fmt::format(" of {} in {:.2f} s: {:.1f} images/s, {:.1f} MP/s ({})", report.items.size(),
                      report.wall_seconds, per_second(done, report.wall_seconds),
                      per_second(report.input_megapixels(), report.wall_seconds),
                      workers_text(report, options));
  if (auto existing = images_existing_clause(report.items); !existing.empty()) line += "; " + existing;
  return line;
}

std::string images_item_line(const images::ImageItem& item) {
  const auto& o = item.outcome;
  std::string line = fmt::format("  {} -> {}  {}x{} -> {}x{}", item.input.native(),
                                 item.output.native(), o.input_size.width, o.input_size.height,
                                 o.output_size.width, o.output_size.height);
  if (o.reduction > 1) line += fmt::format("  1/{} decode", o.reduction);
  return line + fmt::format("  {:.1f} ms", o.ms);
}

std::string images_log_line(const images::ImageItem& item) {
  nlohmann::ordered_json line{
      {"input", item.input.native()},
      {"output", item.output.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(item.output.native())},
      {"status", images::to_string(item.status)},
      {"error", item.error.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(item.error)},
      {"ms", item.status == images::ItemStatus::done ? nlohmann::ordered_json(item.outcome.ms)
                                                     : nlohmann::ordered_json(nullptr)},
      {"worker", item.worker ? nlohmann::ordered_json(*item.worker) : nlohmann::ordered_json(nullptr)}};
  if (!is_utf8(item.input.native())) line["input_hex"] = hex_bytes(item.input.native());
  if (!is_utf8(item.output.native())) line["output_hex"] = hex_bytes(item.output.native());
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string images_json(const images::ImageBatch& batch, const images::ImageBatchReport& report,
                        const ExecutorOptions& options) {
  using images::ItemStatus;
  nlohmann::json items = nlohmann::json::array();
  for (const auto& item : report.items) {
    nlohmann::json record{{"input", item.input.native()},
                          {"output", item.output.empty() ? nlohmann::json(nullptr)
                                                         : nlohmann::json(item.output.native())},
                          {"status", images::to_string(item.status)}};
    // A name that is not UTF-8 reaches JSON with U+FFFD in place of its bad bytes; its exact
    // bytes go beside it, so a program can still find the file.
    if (!is_utf8(item.input.native())) record["input_hex"] = hex_bytes(item.input.native());
    if (!is_utf8(item.output.native())) record["output_hex"] = hex_bytes(item.output.native());
    if (item.status == ItemStatus::done) {
      const auto& o = item.outcome;
      record["input_bytes"] = o.input_bytes;
      record["output_bytes"] = o.output_bytes;
      record["input_size"] = {o.input_size.width, o.input_size.height};
      record["output_size"] = {o.output_size.width, o.output_size.height};
      record["jpeg_reduction"] = o.reduction;
      record["ms"] = o.ms;
    }
    if (item.worker) record["worker"] = *item.worker;
    if (!item.error.empty()) record["error"] = item.error;
    // Why an output that was there is skipped or made again.
    if (item.existing != images::ExistingOutput::none) record["reason"] = images::to_string(item.existing);
    items.push_back(std::move(record));
  }
  const double done = static_cast<double>(report.count(ItemStatus::done));
  auto count_existing = [&](images::ExistingOutput e) {
    return std::ranges::count_if(report.items, [e](const auto& i) { return i.existing == e; });
  };
  const auto redone = std::ranges::count_if(report.items, [](const images::ImageItem& i) {
    return i.status == ItemStatus::done && is_redo(i.existing);
  });
  // The paths named on the command line; those read from --files-from are counted (each is
  // an item below).
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& path : batch.settings.inputs.paths) inputs.push_back(path.native());
  nlohmann::json json{
      // As before there were several: the one input folder (or file), when one alone is named.
      {"input_dir", batch.settings.inputs.paths.size() == 1 && batch.settings.inputs.listed.empty()
                        ? nlohmann::json(batch.settings.inputs.paths.front().native())
                        : nlohmann::json(nullptr)},
      {"inputs", inputs},
      {"listed_inputs", batch.settings.inputs.listed.size()},
      {"output_dir", batch.settings.in_place ? nlohmann::json(nullptr)
                                             : nlohmann::json(batch.settings.output_dir.native())},
      {"output_pattern", batch.settings.in_place ? nlohmann::json(nullptr)
                                                 : nlohmann::json(batch.settings.output_pattern.empty()
                                                       ? std::string(images::OutputPattern::kDefault)
                                                       : batch.settings.output_pattern)},
      {"in_place", batch.settings.in_place},
      {"ops", batch.settings.recipe.ops},
      {"quality", batch.settings.recipe.quality},
      {"colorspace", images::to_string(batch.settings.recipe.colorspace)},
      {"strip", batch.settings.recipe.strip},
      {"jpeg_progressive", batch.settings.recipe.encoder.jpeg_progressive},
      {"jpeg_subsampling", images::to_string(batch.settings.recipe.encoder.jpeg_subsampling)},
      {"png_level", batch.settings.recipe.encoder.png_level < 0
                        ? nlohmann::json(nullptr)
                        : nlohmann::json(batch.settings.recipe.encoder.png_level)},
      {"webp_lossless", batch.settings.recipe.encoder.webp_lossless},
      {"tiff_compression", images::to_string(batch.settings.recipe.encoder.tiff_compression)},
      {"backend", to_string(options.backend)},
      {"transport", ipc::to_string(options.transport)},
      {"workers", report.workers},
      {"workers_replaced", report.workers_replaced},
      {"workers_lost", report.workers_lost},
      {"items", std::move(items)},
      {"summary",
       {{"images", report.items.size()},
        {"done", report.count(ItemStatus::done)},
        {"skipped", report.count(ItemStatus::skipped)},
        {"up_to_date", count_existing(images::ExistingOutput::up_to_date)},
        {"no_recipe", count_existing(images::ExistingOutput::unrecorded)},
        {"redone", redone},
        {"failed", report.count(ItemStatus::failed)},
        {"cancelled", report.count(ItemStatus::cancelled)},
        {"interrupted", report.interrupted},
        {"wall_seconds", report.wall_seconds},
        {"images_per_second", per_second(done, report.wall_seconds)},
        {"megapixels_per_second", per_second(report.input_megapixels(), report.wall_seconds)}}}};
  return json_text(with_report_header("images", json));
}

std::string images_ops_table() {
  std::vector<std::string> syntax;
  std::size_t width = 0;
  for (const auto* info : images::op_registry()) {
    std::string s(info->name);
    if (info->arguments.starts_with('['))
      s += fmt::format("[={}", info->arguments.substr(1));
    else if (!info->arguments.empty())
      s += fmt::format("={}", info->arguments);
    width = std::max(width, s.size());
    syntax.push_back(std::move(s));
  }
  std::string table = "Ops (--op, run in the order given):\n";
  std::size_t i = 0;
  for (const auto* info : images::op_registry())
    table += fmt::format("  {:<{}}  {}\n", syntax[i++], width, info->help);
  return table;
}

}  // namespace forkpool::cli
