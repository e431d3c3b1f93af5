// run_image_batch: hands the planned items to a backend and gathers what became of them.

#include <signal.h>

#include <fmt/core.h>
#include <opencv2/core.hpp>

#include <chrono>
#include <cstdlib>
#include <set>

#include "forkpool/images/batch.hpp"
#include "forkpool/images/files.hpp"
#include "pipeline.hpp"

namespace forkpool::images {

namespace fs = std::filesystem;

namespace {

// A job names the input and the output; the recipe travels once, as the shared input.
Bytes encode_job(const ImageItem& item) {
  std::string text = item.input.native() + '\0' + item.output.native();
  const auto* p = reinterpret_cast<const std::byte*>(text.data());
  return {p, p + text.size()};
}

std::pair<fs::path, fs::path> decode_job(std::span<const std::byte> job) {
  std::string_view text(reinterpret_cast<const char*>(job.data()), job.size());
  auto zero = text.find('\0');
  if (zero == std::string_view::npos) throw std::runtime_error("malformed job");
  return {fs::path(text.substr(0, zero)), fs::path(text.substr(zero + 1))};
}

Bytes run_job(std::span<const std::byte> job, const WorkerContext& context) {
  const auto recipe = ImageRecipe::deserialize(context.shared_input);
  const auto chain = parse_op_chain(recipe.ops);
  const auto [input, output] = decode_job(job);
  // Test hook, deliberately not in --help: the worker dies as if the OOM killer or a decoder
  // crash hit it while on this file, so tests can check that the rest of the batch survives.
  if (const char* crash_on = std::getenv("FORKPOOL_IMAGES_CRASH_ON");
      crash_on != nullptr && input.filename() == crash_on)
    ::raise(SIGKILL);
  return process_image(input, output, chain, recipe).serialize();
}

void run_on_executor(ImageBatchReport& report, const std::vector<std::size_t>& todo,
                     const ImageRecipe& recipe, ExecutorOptions options, const ItemCallback& on_item) {
  std::vector<Bytes> jobs;
  jobs.reserve(todo.size());
  for (std::size_t i : todo) jobs.push_back(encode_job(report.items[i]));
  const auto shared = recipe.serialize();
  // N single-threaded workers use N cores; OpenCV's own threads in each would oversubscribe.
  options.worker_init = [] { cv::setNumThreads(0); };
  auto on_result = [&](const JobResult& r) {
    ImageItem& item = report.items[todo[r.index]];
    if (r.status == JobStatus::done) {
      try {
        item.outcome = ImageOutcome::deserialize(r.output);
        item.status = ItemStatus::done;
      } catch (const std::exception& e) {
        item.status = ItemStatus::failed;
        item.error = e.what();
      }
    } else {
      item.status = ItemStatus::failed;
      item.error = r.error;
    }
    if (on_item) on_item(item);
  };
  BatchReport batch = run_batch(options, jobs, run_job, shared, on_result);
  report.interrupted = batch.interrupted;
  report.interrupt_signal = batch.interrupt_signal;
  report.workers = batch.workers;
  report.workers_replaced = batch.workers_replaced;
  report.workers_lost = batch.workers_lost;
  std::set<fs::path> may_have_temp_files;
  for (const JobResult& r : batch.results) {
    ImageItem& item = report.items[todo[r.index]];
    if (r.status == JobStatus::cancelled) item.status = ItemStatus::cancelled;
    // A worker killed mid-write leaves its temporary file (its lock died with it).
    if (item.status != ItemStatus::done || r.attempts > 1)
      may_have_temp_files.insert(item.output.parent_path());
  }
  remove_stale_temp_files(std::vector<fs::path>(may_have_temp_files.begin(), may_have_temp_files.end()));
}

}  // namespace

std::size_t ImageBatchReport::count(ItemStatus s) const noexcept {
  std::size_t n = 0;
  for (const auto& i : items) n += i.status == s;
  return n;
}

double ImageBatchReport::input_megapixels() const noexcept {
  double pixels = 0;
  for (const auto& i : items)
    if (i.status == ItemStatus::done) pixels += static_cast<double>(i.outcome.input_size.area());
  return pixels / 1e6;
}

ImageBatchReport run_image_batch(const ImageBatch& batch, const ExecutorOptions& options,
                                 const ItemCallback& on_item) {
  ImageBatchReport report;
  report.items = batch.items;
  report.workers = options.backend == Backend::serial ? 1
                   : options.workers == 0             ? available_cores()
                                                      : options.workers;
  std::vector<std::size_t> todo;
  std::set<fs::path> folders{batch.settings.output_dir};
  std::set<fs::path> output_folders{batch.settings.output_dir};
  for (std::size_t i = 0; i < report.items.size(); ++i) {
    if (!report.items[i].output.empty()) output_folders.insert(report.items[i].output.parent_path());
    if (report.items[i].status != ItemStatus::pending) continue;
    todo.push_back(i);
    folders.insert(report.items[i].output.parent_path());
  }
  for (const auto& folder : folders) fs::create_directories(folder);
  // What a killed run (a coordinator SIGKILLed mid-write) left behind goes now; the files of a
  // run still writing into these folders are locked and stay.
  remove_stale_temp_files(std::vector<fs::path>(output_folders.begin(), output_folders.end()));

  const auto start = std::chrono::steady_clock::now();
  if (!todo.empty()) {
    if (options.backend == Backend::threads) {
      const int before = cv::getNumThreads();
      cv::setNumThreads(0);  // the pipeline's threads are the parallelism
      detail::run_pipeline(report, todo, batch.settings.recipe, report.workers, on_item);
      cv::setNumThreads(before);
    } else {
      run_on_executor(report, todo, batch.settings.recipe, options, on_item);
    }
  }
  report.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (auto& item : report.items)
    if (item.status == ItemStatus::pending) item.status = ItemStatus::cancelled;
  return report;
}

}  // namespace forkpool::images
