// run_image_batch: hands the planned items to a backend and gathers what became of them.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/core.h>
#include <opencv2/core.hpp>

#include <chrono>
#include <cstdlib>
#include <set>

#include "forkpool/images/batch.hpp"
#include "forkpool/images/files.hpp"
#include "forkpool/ipc/sys_call.hpp"
#include "forkpool/ipc/unique_fd.hpp"
#include "worker_memory.hpp"

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

// OpenCV 4.6 builds some tables on first use without a lock (cvtColor's Lab tables, which
// equalize uses): two threads doing that at once leak one copy and may read the other
// half-built, which would break byte-identical output. Running every op once on small images,
// before any job of the batch, builds them race-free in the process that will run the jobs.
void build_lazy_tables(const OpChain& chain) {
  for (int channels : {1, 3, 4}) {
    const cv::Mat sample(16, 16, CV_8UC(channels), cv::Scalar(32, 96, 160, 255));
    for (const auto& op : chain) {
      try {
        (void)op->run(sample);
      } catch (const std::exception&) {
        // An op that refuses this sample (a crop elsewhere) needs no tables.
      }
    }
  }
}

// Blocks until a writer has opened the FIFO at `fifo` and closed it (see read_image).
void wait_for_release(const char* fifo) {
  if (fifo == nullptr) return;
  auto fd = ipc::sys_call("open", fifo, [&] { return ::open(fifo, O_RDONLY | O_CLOEXEC); });
  if (!fd) return;
  const ipc::UniqueFd owned(*fd);
  char buffer[64];
  while (true) {
    auto n = ipc::sys_call("read", fifo, [&] { return ::read(owned.get(), buffer, sizeof buffer); });
    if (!n || *n == 0) return;
  }
}

// One image between its stages. The recipe and op chain come from the batch's shared input.
struct ImageInFlight {
  ImageRecipe recipe;
  OpChain chain;
  fs::path output;
  LoadedImage image;
};

ImageInFlight read_image(std::span<const std::byte> job, const WorkerContext& context) {
  ImageInFlight f;
  f.recipe = ImageRecipe::deserialize(context.shared_input);
  f.chain = parse_op_chain(f.recipe.ops);
  auto [input, output] = decode_job(job);
  // Test hook, deliberately not in --help: the worker dies as if the OOM killer or a decoder
  // crash hit it while on this file, so tests can check that the rest of the batch survives.
  if (const char* crash_on = std::getenv("FORKPOOL_IMAGES_CRASH_ON");
      crash_on != nullptr && input.filename() == crash_on)
    ::raise(SIGKILL);
  // Test hook, likewise: the worker holds this file until the test lets it go (opens the FIFO
  // FORKPOOL_IMAGES_HOLD_FIFO for writing and closes it), so a test can keep one image in
  // progress, whatever the machine's speed, and watch what is printed meanwhile.
  if (const char* hold_on = std::getenv("FORKPOOL_IMAGES_HOLD_ON");
      hold_on != nullptr && input.filename() == hold_on)
    wait_for_release(std::getenv("FORKPOOL_IMAGES_HOLD_FIFO"));
  f.output = std::move(output);
  f.image = load_image(input, f.chain, f.recipe);
  return f;
}

// Read -> ops -> write: a pipeline on threads, all three in one worker elsewhere.
JobStages image_stages() {
  return make_stages<ImageInFlight>(
      read_image, [](ImageInFlight& f, const WorkerContext&) { transform_image(f.image, f.chain, f.recipe.max_pixels); },
      [](ImageInFlight& f, const WorkerContext&) {
        save_image(f.image, f.output, f.recipe);
        return f.image.outcome.serialize();
      });
}

void run_on_executor(ImageBatchReport& report, const std::vector<std::size_t>& todo,
                     const ImageRecipe& recipe, const Executor& executor, const ItemCallback& on_item) {
  std::vector<Bytes> jobs;
  jobs.reserve(todo.size());
  for (std::size_t i : todo) jobs.push_back(encode_job(report.items[i]));
  const auto shared = recipe.serialize();
  auto on_result = [&](const JobResult& r) {
    ImageItem& item = report.items[todo[r.index]];
    item.worker = r.worker;
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
  BatchReport batch = executor.run(jobs, image_stages(), shared, on_result);
  report.interrupted = batch.interrupted;
  report.interrupt_signal = batch.interrupt_signal;
  report.workers = batch.workers;
  report.workers_replaced = batch.workers_replaced;
  report.workers_lost = batch.workers_lost;
  report.startup = batch.startup;
  report.payload_bytes = batch.payload_bytes(jobs, shared.size());
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
    if (i.status == ItemStatus::done)
      pixels += static_cast<double>(i.outcome.input_size.width) * i.outcome.input_size.height;
  return pixels / 1e6;
}

ImageBatchReport run_image_batch(const ImageBatch& batch, const ExecutorOptions& options,
                                 const ItemCallback& on_item) {
  ImageBatchReport report;
  report.items = batch.items;
  ExecutorOptions exec_options = options;
  // N single-threaded workers use N cores; OpenCV's own threads in each would oversubscribe.
  // The allocator keeps each image's buffers for the next (docs/images.md, "Speed"). Per process: in each worker process, or once here when the workers are this process's
  // threads.
  exec_options.worker_init = [ops = batch.settings.recipe.ops, user_init = options.worker_init] {
    cv::setNumThreads(0);
    keep_image_buffers_for_reuse();
    build_lazy_tables(parse_op_chain(ops));
    if (user_init) user_init();
  };
  const Executor executor(std::move(exec_options));
  if (!executor.is_coordinator()) {  // the recipe and the images come from the coordinator
    (void)executor.run({}, image_stages());
    return report;
  }
  report.workers = executor.workers();
  std::vector<std::size_t> todo;
  // The output folder is made even when there is nothing to write (--in-place has none).
  std::set<fs::path> folders, output_folders;
  if (!batch.settings.output_dir.empty()) {
    folders.insert(batch.settings.output_dir);
    output_folders.insert(batch.settings.output_dir);
  }
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
    run_on_executor(report, todo, batch.settings.recipe, executor, on_item);
  }
  report.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (auto& item : report.items)
    if (item.status == ItemStatus::pending) item.status = ItemStatus::cancelled;
  return report;
}

}  // namespace forkpool::images
