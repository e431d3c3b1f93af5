#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "backends.hpp"
#include "batch_ledger.hpp"
#include "forkpool/exec/worker_scratch.hpp"
#include "forkpool/ipc/child_process.hpp"
#include "forkpool/ipc/event_loop.hpp"
#include "forkpool/ipc/message_queue.hpp"
#include "process_worker.hpp"
#include "wire.hpp"

namespace forkpool::detail {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Deadlock: the coordinator blocked sending a job to a worker whose request channel is full,
// while that worker is blocked sending a result into its full reply channel. So the requests
// queued for a busy worker must always fit in its request channel: a job goes to a worker
// that is still busy only while its in-flight inputs stay under kPrefetchBytes (a pipe holds
// 64 KiB; the shm ring 1 MiB). Larger jobs wait for an idle worker, which is reading. An mq
// channel counts messages, not bytes, and its depth may be as low as 1 when the per-user
// budget is shared: there prefetch is capped at 2 (at most one queued request) and a queued
// request must fit in one mq message.
constexpr std::size_t kPrefetchBytes = 4 * 1024;

// How long workers get to exit after the channel closes (done) or SIGTERM (interrupted)
// before SIGKILL.
constexpr auto kGraceDone = 5s;
constexpr auto kGraceInterrupted = 1s;

constexpr unsigned kMaxStartupFailures = 3;
constexpr unsigned kMqMaxPrefetch = 2;
constexpr long kMqChunkHeadroom = 64;  // the frame and mq's own chunk header

// Short jobs get a deeper queue than the options' prefetch: enough for about kQueuedWork of
// work per worker, up to kMaxShortJobPrefetch. A job of microseconds otherwise costs a wake-up
// of the worker and one of the coordinator (tens of microseconds each on a virtual machine),
// more than the job itself; with a queue the worker goes from job to job without sleeping. The
// queue stays short in time, so the last jobs still spread over the workers. Well within the
// shm ring's 256 slots and, with kPrefetchBytes, within every channel's buffer.
constexpr auto kQueuedWork = 4ms;
constexpr unsigned kMaxShortJobPrefetch = 64;

// The watchdog looks at every worker this often: a tenth of the job timeout, within bounds, so
// a job is killed at most ~10 % after its time and an idle batch wakes at most once a second.
constexpr auto kMinWatchdogTick = 10ms;
constexpr auto kMaxWatchdogTick = 1000ms;

const ipc::Deadline kNoWait = ipc::Deadline::at(ipc::Deadline::Clock::time_point::min());

// "60 s", "0.25 s": the job timeout as the user gave it.
std::string seconds_text(std::chrono::milliseconds d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.10g s", static_cast<double>(d.count()) / 1000.0);
  return text;
}

struct Worker {
  unsigned index = 0;
  ipc::ChildProcess process;
  std::unique_ptr<ipc::Channel> channel;  // the coordinator's end
  std::deque<std::size_t> in_flight;      // sent, not answered; the worker runs them in order
  std::size_t in_flight_bytes = 0;
  // When the oldest job in flight could have started at the earliest: when it was sent to an
  // idle worker, or when the reply before it arrived. The watchdog measures from here.
  Clock::time_point front_since{};
  // A send failed: no more jobs for it; killed, its pidfd will follow. What it sent before
  // is still read.
  bool broken = false;
  bool unreadable = false;  // its replies cannot be read any more (receive error, bad message)
  // Why the coordinator killed it (timed out, malformed reply): what its running job fails
  // with, rather than "killed by SIGKILL". Empty when it died by itself.
  std::string kill_cause;
  Bytes received;
};

// The coordinator: one thread, one event loop over every worker's reply channel and pidfd,
// the signalfd, the watchdog's timer and the shutdown timer. Lives on the stack of
// run_processes().
class Coordinator {
 public:
  Coordinator(const Batch& batch, ipc::SignalCatcher& catcher, ipc::EventLoop& loop)
      : batch_(batch),
        catcher_(catcher),
        loop_(loop),
        workers_(batch.options.workers) {
    if (batch.options.transport == ipc::Transport::mq) {
      prefetch_ = std::min(prefetch_, kMqMaxPrefetch);
      auto limits = ipc::probe_mq_limits();
      long fits = limits ? limits->message_size - kMqChunkHeadroom : 0;
      prefetch_bytes_ = std::min<std::size_t>(prefetch_bytes_, fits > 0 ? static_cast<std::size_t>(fits) : 0);
    }
    // Both directions share one limit: whatever the coordinator must send (a matrix operand
    // as the shared input may exceed any fixed default) and the results it accepts.
    max_message_bytes_ = std::max(batch.options.max_result_bytes, batch.shared_input.size());
    for (const Bytes& job : batch.jobs) max_message_bytes_ = std::max(max_message_bytes_, job.size());
    max_message_bytes_ = max_message_bytes_ > SIZE_MAX - sizeof(wire::Frame)
                             ? SIZE_MAX
                             : max_message_bytes_ + sizeof(wire::Frame);
    for (unsigned w = 0; w < workers_.size(); ++w) workers_[w].index = w;
  }

  BatchReport run() {
    const Clock::time_point begun = Clock::now();
    watch(catcher_.fd(), [this](std::uint32_t) { on_signal(); });
    // Every worker is forked here, before this thread has a pool or any other thread. Those
    // that cannot be (process or fd limits, memory) leave their slot empty: the batch goes on
    // with the others; with none, there is nothing to go on with.
    for (Worker& w : workers_)
      if (auto error = spawn(w)) lose_worker(*error);
    started_ = live_workers();
    const Clock::duration startup = Clock::now() - begun;
    if (started_ == 0) throw std::runtime_error("cannot start workers: " + worker_error_);
    if (lost_ > 0)
      warn("could start only " + std::to_string(started_) + " of " +
           std::to_string(workers_.size()) + " workers: " + worker_error_ + "; going on with " +
           std::to_string(started_));
    // The ledger and the queue are written as every job starts and ends. Made after the forks,
    // their pages are this process's alone; made before, each page would be shared with the
    // workers, and this process's first write to it would copy it (a fault and a TLB flush per
    // page: with 20,000 tiny jobs, 3 µs of every job's 6 on this project's VM).
    ledger_.emplace(batch_.jobs.size(), batch_.on_result);
    for (std::size_t i = 0; i < batch_.jobs.size(); ++i) pending_.push_back(i);
    if (batch_.options.job_timeout > 0ms) {
      auto tick = std::clamp<ipc::EventLoop::Duration>(batch_.options.job_timeout / 10,
                                                        kMinWatchdogTick, kMaxWatchdogTick);
      auto timer = loop_.add_timer(tick, [this] { check_timeouts(); }, tick);
      if (!timer) throw_sys_error("process pool", timer.error());
    }
    dispatch();
    if (auto r = loop_.run(); !r) throw_sys_error("process pool", r.error());
    if (!interrupt_) on_signal();  // one that came as the last job ended still counts
    if (init_error_) throw std::runtime_error("worker_init failed in a worker: " + *init_error_);

    BatchReport report = ledger_->take_report();
    report.workers = started_;
    report.workers_replaced = replaced_;
    report.workers_lost = lost_;
    report.worker_error = worker_error_;
    report.interrupted = interrupt_ != 0;
    report.interrupt_signal = interrupt_;
    report.startup = startup;
    return report;
  }

 private:
  void watch(int fd, ipc::EventLoop::FdCallback cb) {
    if (auto r = loop_.add(fd, std::move(cb)); !r) throw_sys_error("process pool", r.error());
  }
  void unwatch(int fd) {
    if (fd >= 0 && loop_.contains(fd)) (void)loop_.remove(fd);
  }

  // Starts a worker in slot w. Returns why it could not be started; nothing of it is left then.
  std::optional<std::string> spawn(Worker& w) {
    auto pair = ipc::make_channel_pair(batch_.options.transport, {.max_message_bytes = max_message_bytes_});
    if (!pair) return pair.error().message();
    w.channel = std::move(pair->first);
    ipc::Channel* worker_end = pair->second.get();

    // The slot's scratch goes with this fork and no other; from now on it is the worker's
    // (a replacement in this slot finds none).
    WorkerScratch* scratch = batch_.options.scratch;
    if (scratch) scratch->inherit_at_next_fork(w.index);
    auto child = ipc::ChildProcess::spawn(
        [&, worker_end] {
          prepare_child(w);
          return worker_main(*worker_end, batch_.fn, batch_.options.worker_init, w.index,
                             scratch_of(batch_.options, w.index), batch_.options.max_result_bytes);
        },
        &catcher_);
    if (scratch) scratch->let_go(w.index);
    pair->second.reset();
    if (!child) {
      w.channel.reset();
      return child.error().message();
    }
    w.process = std::move(*child);
    w.broken = false;
    w.unreadable = false;
    w.kill_cause.clear();
    w.in_flight.clear();
    w.in_flight_bytes = 0;
    auto watched = loop_.add(w.process.pidfd(), [this, &w](std::uint32_t) { on_exit(w); });
    if (watched) {
      watched = loop_.add(w.channel->wait_fd(), [this, &w](std::uint32_t) {
        drain(w);
        dispatch();
      });
      if (!watched) unwatch(w.process.pidfd());
    }
    if (!watched) {  // epoll's own limits: this worker cannot be heard, so it may not run
      w.channel.reset();
      w.process = ipc::ChildProcess();  // kills and reaps it
      return watched.error().message();
    }

    // Sent once to every worker, replacements included. The worker reads it before it sends
    // anything, so this cannot deadlock; but a worker stopped while it reads would hold this
    // thread (and the watchdog with it) for as long as the send may take.
    Bytes message(batch_.shared_input.begin(), batch_.shared_input.end());
    wire::append_frame(message, {0, wire::Kind::shared_input, 0});
    if (!w.channel->send(message, send_deadline(message.size()))) kill_worker(w);
    // wait_fd() reports new messages only after a receive() has found none (the shm ring
    // then asks its producer for a wake-up): try once now.
    drain(w);
    return std::nullopt;
  }

  // A slot whose worker could not be started stays empty.
  void lose_worker(const std::string& error) {
    ++lost_;
    if (worker_error_.empty()) worker_error_ = error;
  }

  void warn(const std::string& line) {
    if (batch_.options.on_warning) batch_.options.on_warning(line);
  }

  // Called in place of the worker that died in slot w, with jobs still waiting.
  void replace(Worker& w) {
    auto error = spawn(w);
    if (!error) {
      ++replaced_;
      return;
    }
    give_up_slot("a worker could not be replaced: " + *error, *error);
  }

  // A slot stays empty for good (`why`, for the user; `error`, the bare reason). The batch goes
  // on with the workers left; with none, every job not done fails (none is in flight without a
  // worker) and the batch ends with what it has.
  void give_up_slot(const std::string& why, const std::string& error) {
    lose_worker(error);
    if (unsigned live = live_workers(); live > 0) {
      warn(why + "; going on with " + std::to_string(live) + " worker" + (live == 1 ? "" : "s"));
      return;
    }
    warn("no worker left: " + why + "; " + std::to_string(pending_.size()) + " job" +
         (pending_.size() == 1 ? "" : "s") + " not run");
    std::string failure = "not run, no worker left: " + error;
    for (std::size_t job : pending_) ledger_->finish(job, JobStatus::failed, {}, failure);
    pending_.clear();
  }

  // In the forked worker (its signals already set up by ChildProcess::spawn): keep only its
  // own channel end; drop the coordinator's loop and siblings without touching them (they
  // belong to the coordinator).
  void prepare_child(Worker& self) {
    loop_.close_after_fork();
    for (Worker& other : workers_) {
      other.channel.reset();  // our own coordinator end too: the child holds the worker end
      if (&other != &self) other.process.close_after_fork();
    }
  }

  // Jobs in flight per worker now: the options' prefetch, or more while jobs are short (see
  // kQueuedWork). Not on mq, whose queue depth the per-user budget sets.
  unsigned queue_depth() const {
    if (job_time_samples_ == 0 || batch_.options.transport == ipc::Transport::mq) return prefetch_;
    const auto mean = std::max<Clock::duration>(mean_job_time_, 1ns);
    const auto wanted = static_cast<unsigned>(std::min<Clock::rep>(kQueuedWork / mean, kMaxShortJobPrefetch));
    return std::max(prefetch_, wanted);
  }

  // A job's time at the front of its worker's queue, which is about its run time: the worker
  // runs its queue in order. An exponential mean, so a batch whose jobs grow longer deepens
  // the queues no more.
  void note_job_time(Clock::duration took) {
    mean_job_time_ = job_time_samples_++ == 0 ? took : (mean_job_time_ * 7 + took) / 8;
  }

  bool can_take(const Worker& w, std::size_t job) const {
    if (!w.process.valid() || w.broken || !w.channel) return false;
    if (w.in_flight.empty()) return true;
    return w.in_flight.size() < queue_depth() &&
           w.in_flight_bytes + batch_.jobs[job].size() <= prefetch_bytes_;
  }

  void dispatch() {
    while (!stopping_ && !pending_.empty()) {
      std::size_t job = pending_.front();
      Worker* best = nullptr;
      for (Worker& w : workers_)
        if (can_take(w, job) && (!best || w.in_flight.size() < best->in_flight.size())) best = &w;
      if (!best) return;
      pending_.pop_front();
      send_job(*best, job);
    }
  }

  void send_job(Worker& w, std::size_t job) {
    const Bytes& input = batch_.jobs[job];
    outgoing_.assign(input.begin(), input.end());
    wire::append_frame(outgoing_, {job, wire::Kind::job, 0});
    ledger_->start(job, w.index);
    if (w.in_flight.empty()) w.front_since = Clock::now();
    w.in_flight.push_back(job);
    w.in_flight_bytes += input.size();
    if (!w.channel->send(outgoing_, send_deadline())) kill_worker(w);
  }

  // A send blocks only while the worker is not reading (busy with a job, starting up, or
  // stopped): with a job timeout, it gets as long as a job would, plus a second per 4 MiB for a
  // large message on a copying transport (a reader slower than that is stuck), then the worker
  // counts as stuck.
  ipc::Deadline send_deadline(std::size_t bytes = 0) const {
    const auto timeout = batch_.options.job_timeout;
    if (timeout == 0ms) return ipc::Deadline::never();
    return ipc::Deadline::after(timeout + std::chrono::seconds(bytes >> 22));
  }

  // A worker whose channel failed is killed; its pidfd then reports the death, and its jobs go
  // back to the queue there, in one place.
  void kill_worker(Worker& w) {
    w.broken = true;
    (void)w.process.signal(SIGKILL);
  }
  // Its replies cannot be trusted any more: what follows a bad one is not read. `cause` is
  // empty when its death will say why (it went away mid-message).
  void kill_unreadable_worker(Worker& w, std::string cause) {
    w.unreadable = true;
    if (w.channel) unwatch(w.channel->wait_fd());
    if (!w.broken) w.kill_cause = std::move(cause);
    kill_worker(w);
  }

  // The watchdog, on its timer: a worker whose oldest job has run longer than the job timeout
  // (looping, stuck in a syscall, stopped by SIGSTOP) is killed. Its pidfd follows, and its
  // jobs are retried or failed there like those of any dead worker.
  void check_timeouts() {
    if (stopping_) return;
    const auto timeout = batch_.options.job_timeout;
    const auto now = Clock::now();
    for (Worker& w : workers_) {
      // Replies may have waited while this thread was busy (a long send): a job that ended in
      // time is not charged for that.
      if (w.process.valid() && !w.broken) drain(w);
      if (stopping_) return;
      if (!w.process.valid() || w.broken || w.in_flight.empty()) continue;
      if (now - w.front_since < timeout) continue;
      w.kill_cause = "timed out after " + seconds_text(timeout);
      kill_worker(w);
    }
  }

  // Takes every reply already available from w without blocking. A reply that is not well
  // formed, or not the one expected next, means the worker is corrupted: it is killed like a
  // crashed one, and its jobs are retried on a fresh worker.
  void drain(Worker& w) {
    while (w.channel && !w.unreadable) {
      auto got = w.channel->receive(w.received, kNoWait);
      if (!got) {
        int code = got.error().code;
        if (code == ETIMEDOUT) break;
        if (code == ECONNRESET || code == EPIPE)  // gone mid-message: its death says why
          kill_unreadable_worker(w, {});
        else if (ipc::is_malformed_message(got.error()))
          kill_unreadable_worker(w, "worker sent a malformed reply: " + got.error().message());
        else
          kill_unreadable_worker(w, "cannot read the worker's reply (" + got.error().message() + ")");
        break;
      }
      if (!*got) {  // end of stream: the worker is exiting; its pidfd follows
        unwatch(w.channel->wait_fd());
        break;
      }
      std::optional<std::uint64_t> expected;
      if (!w.in_flight.empty()) expected = w.in_flight.front();
      auto frame = wire::check_reply(w.received, expected);
      if (!frame) {
        kill_unreadable_worker(w, "worker sent a malformed reply: " + frame.error());
        break;
      }
      if (frame->kind == wire::Kind::init_failed) {
        if (!init_error_) init_error_ = to_text(w.received);
        begin_shutdown(false);
        continue;
      }
      std::size_t job = w.in_flight.front();
      w.in_flight.pop_front();
      const Clock::time_point now = Clock::now();
      note_job_time(now - w.front_since);
      if (!w.in_flight.empty()) w.front_since = now;
      startup_failures_ = 0;
      w.in_flight_bytes -= batch_.jobs[job].size();
      // A worker left with nothing to do gets its next job before the caller's on_result runs:
      // whatever that does (matmul samples the pool's memory, a millisecond or more) is not a
      // pause in the worker's work.
      if (w.in_flight.empty()) dispatch();
      if (frame->kind == wire::Kind::done)
        ledger_->finish(job, JobStatus::done, std::move(w.received), {});
      else
        ledger_->finish(job, JobStatus::failed, {}, to_text(w.received));
      w.received = Bytes();
    }
    check_finished();
  }

  void on_exit(Worker& w) {
    drain(w);  // what it sent before it died counts
    unwatch(w.process.pidfd());
    if (w.channel) unwatch(w.channel->wait_fd());
    w.channel.reset();
    auto info = w.process.wait();
    std::string cause = !w.kill_cause.empty() ? w.kill_cause
                        : info                ? "worker " + info->describe()
                                              : "worker lost";
    bool had_jobs = !w.in_flight.empty();

    if (!stopping_ && !w.in_flight.empty()) {
      // The first job was running when the worker died; the others never started.
      std::size_t running = w.in_flight.front();
      std::deque<std::size_t> requeue;
      if (ledger_->attempts(running) > batch_.options.max_retries)
        ledger_->finish(running, JobStatus::failed, {}, cause);
      else
        requeue.push_back(running);
      for (std::size_t i = 1; i < w.in_flight.size(); ++i) {
        ledger_->unstart(w.in_flight[i]);
        requeue.push_back(w.in_flight[i]);
      }
      pending_.insert(pending_.begin(), requeue.begin(), requeue.end());
    }
    w.in_flight.clear();
    w.in_flight_bytes = 0;

    if (!stopping_ && !pending_.empty()) {
      // A worker that dies with nothing in flight never got to a job: no job's retry budget
      // stops that loop, so this does, by not replacing it.
      if (!had_jobs && ++startup_failures_ > kMaxStartupFailures) {
        std::string error = "workers die before their first job (" + cause + ")";
        give_up_slot(error, error);
      } else {
        replace(w);
      }
    }
    dispatch();
    check_finished();
  }

  void on_signal() {
    while (true) {
      auto sig = catcher_.take();
      if (!sig) throw_sys_error("reading signals", sig.error());
      if (!*sig) break;
      if (interrupt_) {  // a second signal: no more patience
        for (Worker& w : workers_) (void)w.process.signal(SIGKILL);
        continue;
      }
      interrupt_ = **sig;
      begin_shutdown(false);
    }
  }

  void check_finished() {
    // No ledger yet: the workers are still being forked, and no job has started.
    if (!stopping_ && ledger_ && ledger_->remaining() == 0) begin_shutdown(true);
    if (stopping_ && live_workers() == 0) loop_.stop();
  }

  // done: close each channel and let the worker see the end of the stream. Otherwise
  // (interrupted, or worker_init failed): SIGTERM. SIGKILL for any worker still there after
  // the grace period.
  void begin_shutdown(bool done) {
    if (stopping_) return;
    stopping_ = true;
    for (Worker& w : workers_) {
      if (!w.process.valid()) continue;
      if (done) {
        if (w.channel) unwatch(w.channel->wait_fd());
        w.channel.reset();
      } else {
        (void)w.process.signal(SIGTERM);
      }
    }
    auto timer = loop_.add_timer(done ? kGraceDone : kGraceInterrupted, [this] {
      for (Worker& w : workers_) (void)w.process.signal(SIGKILL);
    });
    if (!timer) throw_sys_error("process pool", timer.error());
    if (live_workers() == 0) loop_.stop();
  }

  unsigned live_workers() const {
    unsigned n = 0;
    for (const Worker& w : workers_) n += w.process.valid();
    return n;
  }

  static std::string to_text(const Bytes& b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }

  const Batch& batch_;
  ipc::SignalCatcher& catcher_;
  ipc::EventLoop& loop_;
  std::optional<BatchLedger> ledger_;  // made once the workers are forked (run())
  std::vector<Worker> workers_;  // never resized: callbacks hold references
  std::deque<std::size_t> pending_;
  Bytes outgoing_;
  unsigned prefetch_ = batch_.options.prefetch;
  std::size_t prefetch_bytes_ = kPrefetchBytes;
  Clock::duration mean_job_time_{};
  std::uint64_t job_time_samples_ = 0;
  std::size_t max_message_bytes_ = 0;
  unsigned started_ = 0;
  unsigned replaced_ = 0;
  unsigned lost_ = 0;
  std::string worker_error_;  // why the first worker that could not be started could not
  unsigned startup_failures_ = 0;  // workers in a row that died before any job, since a result
  int interrupt_ = 0;
  bool stopping_ = false;
  std::optional<std::string> init_error_;
};

}  // namespace

BatchReport run_processes(const Batch& batch) {
  ipc::SignalCatcher catcher = catch_interrupts();
  auto loop = ipc::EventLoop::create();
  if (!loop) throw_sys_error("process pool", loop.error());
  Coordinator coordinator(batch, catcher, *loop);
  return coordinator.run();
}

}  // namespace forkpool::detail
