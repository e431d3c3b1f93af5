#include "pipeline.hpp"

#include <signal.h>

#include <opencv2/core.hpp>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>

#include <atomic>
#include <memory>

namespace forkpool::images::detail {

namespace {

std::atomic<int> g_stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "read and written from a signal handler");

extern "C" void note_stop_signal(int sig) { g_stop_signal.store(sig, std::memory_order_relaxed); }

// Routes SIGINT and SIGTERM to g_stop_signal for its lifetime, then puts the old handlers
// back. Made and destroyed on one thread while no other of ours handles signals.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal.store(0);
    struct sigaction action {};
    action.sa_handler = note_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, &old_int_);
    ::sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// One image on its way through the pipeline.
struct InFlight {
  std::size_t item = 0;
  LoadedImage image;
  std::string error;  // set: a stage failed; later stages pass it on untouched
};
using Token = std::shared_ptr<InFlight>;

template <class Fn>
void guarded(InFlight& f, Fn&& fn) {
  if (!f.error.empty()) return;
  try {
    fn();
  } catch (const std::exception& e) {
    f.error = e.what();
  }
}

// OpenCV 4.6 builds some tables on first use without a lock (cvtColor's Lab tables, which
// equalize uses): two pipeline threads doing that at once leak one copy and may read the other
// half-built, which would break byte-identical output. Running every op once on small images
// here, before any pipeline thread exists, builds them race-free.
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

}  // namespace

void run_pipeline(ImageBatchReport& report, const std::vector<std::size_t>& todo,
                  const ImageRecipe& recipe, unsigned workers, const ItemCallback& on_item) {
  StopSignals stop_signals;
  const OpChain chain = parse_op_chain(recipe.ops);
  build_lazy_tables(chain);
  std::size_t next = 0;
  tbb::task_arena arena(static_cast<int>(workers));
  arena.execute([&] {
    tbb::parallel_pipeline(
        std::size_t{workers} * 2,
        tbb::make_filter<void, Token>(tbb::filter_mode::serial_in_order,
                                      [&](tbb::flow_control& fc) -> Token {
                                        if (next == todo.size() || g_stop_signal.load() != 0) {
                                          fc.stop();
                                          return {};
                                        }
                                        auto f = std::make_shared<InFlight>();
                                        f->item = todo[next++];
                                        return f;
                                      }) &
            tbb::make_filter<Token, Token>(tbb::filter_mode::parallel,
                                           [&](Token f) {
                                             guarded(*f, [&] {
                                               f->image = load_image(report.items[f->item].input,
                                                                     chain, recipe);
                                             });
                                             return f;
                                           }) &
            tbb::make_filter<Token, Token>(tbb::filter_mode::parallel,
                                           [&](Token f) {
                                             guarded(*f, [&] { transform_image(f->image, chain); });
                                             return f;
                                           }) &
            tbb::make_filter<Token, Token>(tbb::filter_mode::parallel,
                                           [&](Token f) {
                                             guarded(*f, [&] {
                                               save_image(f->image, report.items[f->item].output,
                                                          recipe);
                                             });
                                             return f;
                                           }) &
            tbb::make_filter<Token, void>(tbb::filter_mode::serial_out_of_order, [&](Token f) {
              ImageItem& item = report.items[f->item];
              if (f->error.empty()) {
                item.status = ItemStatus::done;
                item.outcome = f->image.outcome;
              } else {
                item.status = ItemStatus::failed;
                item.error = std::move(f->error);
              }
              if (on_item) on_item(item);
            }));
  });
  if (int sig = g_stop_signal.load(); sig != 0) {
    report.interrupted = true;
    report.interrupt_signal = sig;
  }
}

}  // namespace forkpool::images::detail
