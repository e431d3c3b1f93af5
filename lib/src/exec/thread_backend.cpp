#include <sys/eventfd.h>
#include <unistd.h>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
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
};

// What the pool threads and the calling thread share. Pool threads push completions and poke
// `wake`; the calling thread pops them on its event loop. A worker task touches this state
// only while it is counted in `active`, and the calling thread waits for active == 0 before
// it lets the state go.
struct Shared {
  std::span<const Bytes> jobs;
  const JobFunction* fn = nullptr;
  const std::function<void()>* worker_init = nullptr;
  std::span<const std::byte> shared_input;
  ipc::UniqueFd wake;

  std::atomic<std::size_t> next{0};
  std::atomic<bool> cancel{false};

  std::mutex mutex;
  std::condition_variable idle;
  std::deque<Completion> completed;
  unsigned active = 0;
  std::exception_ptr init_error;

  void push(Completion c) {
    {
      std::lock_guard lock(mutex);
      completed.push_back(std::move(c));
    }
    std::uint64_t one = 1;
    (void)!::write(wake.get(), &one, sizeof one);
  }

  void wait_until_idle() {
    std::unique_lock lock(mutex);
    idle.wait(lock, [&] { return active == 0; });
  }
};

void worker_task(Shared& s, unsigned worker_index) {
  bool ready = true;
  if (*s.worker_init) {
    try {
      (*s.worker_init)();
    } catch (...) {
      std::lock_guard lock(s.mutex);
      if (!s.init_error) s.init_error = std::current_exception();
      s.cancel = true;
      ready = false;
    }
  }
  WorkerContext context{worker_index, s.shared_input};
  while (ready && !s.cancel.load(std::memory_order_relaxed)) {
    std::size_t i = s.next.fetch_add(1);
    if (i >= s.jobs.size()) break;
    Completion c{i, JobStatus::done, {}, {}, false};
    try {
      c.output = (*s.fn)(s.jobs[i], context);
    } catch (...) {
      c.status = JobStatus::failed;
      c.error = current_exception_message();
    }
    s.push(std::move(c));
  }
  s.push(Completion{0, JobStatus::cancelled, {}, {}, true});
  std::lock_guard lock(s.mutex);
  if (--s.active == 0) s.idle.notify_all();
}

}  // namespace

// N tasks enqueued in a task_arena of N threads, each a worker that takes the next job index
// until none is left: dynamic dispatch with a stable worker index. The calling thread runs an
// event loop on the completions' eventfd and the signalfd and does all the bookkeeping.
BatchReport run_threads(const Batch& batch) {
  const unsigned n = batch.options.workers;
  ipc::SignalCatcher catcher = catch_interrupts();
  BatchLedger ledger(batch.jobs.size(), batch.on_result);

  Shared s;
  s.jobs = batch.jobs;
  s.fn = &batch.fn;
  s.worker_init = &batch.options.worker_init;
  s.shared_input = batch.shared_input;
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

  {
    std::lock_guard lock(s.mutex);
    s.active = n;
  }
  for (unsigned w = 0; w < n; ++w) arena.enqueue([&s, w] { worker_task(s, w); });

  unsigned exited = 0;
  int interrupt = 0;
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
        if (++exited == n) loop->stop();
        continue;
      }
      ledger.start(c.index);
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
  if (s.init_error) std::rethrow_exception(s.init_error);

  BatchReport report = ledger.take_report();
  report.workers = n;
  report.interrupted = interrupt != 0;
  report.interrupt_signal = interrupt;
  return report;
}

}  // namespace forkpool::detail
