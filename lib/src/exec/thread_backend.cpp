#include <sys/eventfd.h>
#include <unistd.h>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>

#include "backends.hpp"
#include "batch_ledger.hpp"
#include "forkpool/ipc/event_loop.hpp"
#include "forkpool/ipc/sys_call.hpp"

namespace forkpool::detail {
namespace {

struct Completion {
  std::size_t index = 0;
  JobStatus status = JobStatus::done;
  Bytes output;
  std::string error;
  bool worker_exit = false;  // the last message of a worker task
  unsigned worker = 0;       // the WorkerContext index of the thread that ended it
};

// What the pool threads and the calling thread share. Pool threads push completions and poke
// `wake`; the calling thread pops them on its event loop. A pool task touches this state only
// while it is counted in `active`, and the calling thread waits for active == 0 before it lets
// the state go.
struct Shared {
  std::span<const Bytes> jobs;
  const JobFunction* fn = nullptr;
  std::span<const std::byte> shared_input;
  const ExecutorOptions* options = nullptr;
  ipc::UniqueFd wake;

  std::atomic<std::size_t> next{0};
  std::atomic<bool> cancel{false};

  std::mutex mutex;
  std::condition_variable idle;
  std::deque<Completion> completed;
  unsigned active = 0;
  // Start-up: when the batch began, how many pool tasks have begun, and when the last did.
  std::chrono::steady_clock::time_point begun = std::chrono::steady_clock::now();
  std::atomic<unsigned> tasks_begun{0};
  std::atomic<std::chrono::steady_clock::rep> startup{0};

  void task_begins(unsigned tasks) {
    if (tasks_begun.fetch_add(1) + 1 == tasks)
      startup = (std::chrono::steady_clock::now() - begun).count();
  }

  // Pokes `wake` only when the queue was empty: the calling thread takes the whole queue at
  // each wake-up, so a completion pushed behind others is taken with them. One write(2) per
  // wake-up instead of one per job: tiny jobs cost a fraction of a microsecond, not the syscall.
  void push(Completion c) {
    bool was_empty = false;
    {
      std::lock_guard lock(mutex);
      was_empty = completed.empty();
      completed.push_back(std::move(c));
    }
    if (!was_empty) return;
    std::uint64_t one = 1;
    (void)!::write(wake.get(), &one, sizeof one);
  }

  // The last message of a pool task.
  void task_done() {
    push(Completion{0, JobStatus::cancelled, {}, {}, true});
    std::lock_guard lock(mutex);
    if (--active == 0) idle.notify_all();
  }

  void wait_until_idle() {
    std::unique_lock lock(mutex);
    idle.wait(lock, [&] { return active == 0; });
  }
};

// A worker: takes the next job index until none is left (dynamic dispatch with a stable
// worker index).
void worker_task(Shared& s, unsigned worker_index, unsigned tasks) {
  s.task_begins(tasks);
  WorkerContext context{worker_index, s.shared_input, scratch_of(*s.options, worker_index)};
  while (!s.cancel.load(std::memory_order_relaxed)) {
    std::size_t i = s.next.fetch_add(1);
    if (i >= s.jobs.size()) break;
    Completion c{i, JobStatus::done, {}, {}, false, worker_index};
    try {
      c.output = (*s.fn)(s.jobs[i], context);
    } catch (...) {
      c.status = JobStatus::failed;
      c.error = current_exception_message();
    }
    s.push(std::move(c));
  }
  s.task_done();
}

// One job on its way through the pipeline.
struct InFlight {
  Completion done;
  StageState state;
};
using Token = std::shared_ptr<InFlight>;

// Runs one stage of a job that has not failed yet; a throw fails the job and skips its later
// stages.
template <class Stage>
void run_stage(InFlight& f, Stage&& stage) {
  if (f.done.status != JobStatus::done) return;
  try {
    stage();
  } catch (...) {
    f.done.status = JobStatus::failed;
    f.done.error = current_exception_message();
    f.state.reset();
  }
}

// JobStages as a parallel_pipeline, read -> compute -> write, with up to two jobs in flight
// per thread: while one thread decodes, another computes, a third encodes. Jobs enter in
// order and stop entering once the batch is cancelled; those already in stop only at the end
// of their write, so that no job is left half written.
void pipeline_task(Shared& s, const JobStages& stages, unsigned threads) {
  s.task_begins(1);
  auto context = [&s] {
    int slot = tbb::this_task_arena::current_thread_index();
    const unsigned index = slot >= 0 ? static_cast<unsigned>(slot) : 0u;
    return WorkerContext{index, s.shared_input, scratch_of(*s.options, index)};
  };
  try {
    tbb::parallel_pipeline(
        std::size_t{threads} * 2,
        tbb::make_filter<void, Token>(tbb::filter_mode::serial_in_order,
                                      [&](tbb::flow_control& fc) -> Token {
                                        std::size_t i = s.next.load(std::memory_order_relaxed);
                                        if (i >= s.jobs.size() || s.cancel.load(std::memory_order_relaxed)) {
                                          fc.stop();
                                          return {};
                                        }
                                        s.next.store(i + 1, std::memory_order_relaxed);
                                        auto f = std::make_shared<InFlight>();
                                        f->done = Completion{i, JobStatus::done, {}, {}, false};
                                        return f;
                                      }) &
            tbb::make_filter<Token, Token>(tbb::filter_mode::parallel,
                                           [&](Token f) {
                                             run_stage(*f, [&] {
                                               f->state = stages.read(s.jobs[f->done.index], context());
                                             });
                                             return f;
                                           }) &
            tbb::make_filter<Token, Token>(tbb::filter_mode::parallel,
                                           [&](Token f) {
                                             if (stages.compute)
                                               run_stage(*f, [&] { stages.compute(f->state, context()); });
                                             return f;
                                           }) &
            tbb::make_filter<Token, void>(tbb::filter_mode::parallel, [&](Token f) {
              f->done.worker = context().worker_index;
              run_stage(*f, [&] { f->done.output = stages.write(f->state, context()); });
              f->state.reset();
              s.push(std::move(f->done));
            }));
  } catch (...) {
    // Only the pipeline's own machinery can throw here (every stage is guarded): the jobs
    // not pushed stay unfinished and the batch ends cancelled rather than hang.
    s.cancel = true;
  }
  s.task_done();
}

}  // namespace

// A task_arena of N threads. Plain jobs: N tasks enqueued, each a worker that takes the next
// job index until none is left. Jobs in stages: one task that runs them as a pipeline on the
// arena's threads. Either way the calling thread runs an event loop on the completions'
// eventfd and the signalfd and does all the bookkeeping.
BatchReport run_threads(const Batch& batch) {
  const unsigned n = batch.options.workers;
  ipc::SignalCatcher catcher = catch_interrupts();
  // The workers are threads of this process: its per-process set-up runs once, here, before
  // any of them exists (two threads setting OpenCV's or OpenBLAS's thread count at once race).
  run_worker_init_here(batch.options);
  BatchLedger ledger(batch.jobs.size(), batch.on_result);

  Shared s;
  s.jobs = batch.jobs;
  s.fn = &batch.fn;
  s.shared_input = batch.shared_input;
  s.options = &batch.options;
  auto efd = ipc::sys_call("eventfd", {}, [] { return ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); });
  if (!efd) throw_sys_error("thread pool", efd.error());
  s.wake.reset(*efd);

  auto loop = ipc::EventLoop::create();
  if (!loop) throw_sys_error("thread pool", loop.error());

  // TBB's default limit is one thread per core; a batch asked for N workers gets N.
  std::size_t limit = std::max<std::size_t>(
      n + 1, tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, limit);
  tbb::task_arena arena(static_cast<int>(n), 0);

  // Whatever way this function is left, no task may outlive `s`.
  struct Join {
    Shared& s;
    ~Join() {
      s.cancel = true;
      s.wait_until_idle();
    }
  } join{s};

  const unsigned tasks = batch.stages ? 1 : n;
  {
    std::lock_guard lock(s.mutex);
    s.active = tasks;
  }
  if (batch.stages)
    arena.enqueue([&s, &stages = *batch.stages, n] { pipeline_task(s, stages, n); });
  else
    for (unsigned w = 0; w < n; ++w) arena.enqueue([&s, w, n] { worker_task(s, w, n); });

  unsigned exited = 0;
  int interrupt = 0;
  // Reads the wake-up before it takes the queue (see Shared::push): a completion pushed after
  // the read finds the queue either not yet taken (taken now) or empty (and writes again).
  auto drain = [&](std::uint32_t) {
    std::uint64_t count;
    (void)!::read(s.wake.get(), &count, sizeof count);
    std::deque<Completion> batch_done;
    {
      std::lock_guard lock(s.mutex);
      batch_done.swap(s.completed);
    }
    for (Completion& c : batch_done) {
      if (c.worker_exit) {
        if (++exited == tasks) loop->stop();
        continue;
      }
      ledger.start(c.index, c.worker);
      ledger.finish(c.index, c.status, std::move(c.output), std::move(c.error));
    }
  };
  auto on_signal = [&](std::uint32_t) {
    while (true) {
      auto sig = catcher.take();
      if (!sig) throw_sys_error("reading signals", sig.error());
      if (!*sig) break;
      if (!interrupt) interrupt = **sig;
      s.cancel = true;  // running jobs finish; no new one starts
    }
  };
  if (auto r = loop->add(s.wake.get(), drain); !r) throw_sys_error("thread pool", r.error());
  if (auto r = loop->add(catcher.fd(), on_signal); !r) throw_sys_error("thread pool", r.error());
  if (auto r = loop->run(); !r) throw_sys_error("thread pool", r.error());
  on_signal(0);

  s.wait_until_idle();

  BatchReport report = ledger.take_report();
  report.workers = n;
  report.interrupted = interrupt != 0;
  report.interrupt_signal = interrupt;
  report.startup = std::chrono::steady_clock::duration(s.startup.load());
  return report;
}

}  // namespace forkpool::detail
