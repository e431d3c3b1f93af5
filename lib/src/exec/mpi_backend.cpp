// The mpi backend: Open MPI ranks started by mpirun. Rank 0 coordinates (hands out jobs,
// collects results); ranks 1..P-1 run jobs. Nothing else in forkpool includes <mpi.h>.
//
// Protocol, per batch (every rank calls run() once per batch of rank 0's):
//   all ranks   Ibcast BatchHeader {batch, shared input's size}, then the shared input
//   rank 0 -> r Message {job, index, size} on kTagWork, then the job's bytes on kTagData
//   r -> rank 0 Message {done | failed | init_failed, index, size} on kTagReply, bytes on kTagData
//   rank 0 -> r Message {stop} on kTagWork once the batch has ended; r answers {stopped}
// and at exit: all ranks Ibcast BatchHeader {quit} (a worker's run() that gets it returns at
// once: the coordinator ended without that batch), then MPI_Finalize.
//
// Every wait polls (MPI_Test / MPI_Improbe) and sleeps when nothing came, up to 1 ms: Open
// MPI's blocking calls spin, and a spinning coordinator or idle worker would take a core from
// the ranks that compute (3 ranks on 2 cores is the intended use on a small machine).

#include <mpi.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "backends.hpp"
#include "batch_ledger.hpp"

namespace forkpool::detail {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kTagWork = 1;
constexpr int kTagReply = 2;
constexpr int kTagData = 3;

// MPI counts are ints: larger payloads go as several messages of at most this many bytes.
constexpr std::size_t kChunk = std::size_t{1} << 30;

// After an interrupt the coordinator does not wait for the workers to stop: on Ctrl-C mpirun
// sends SIGTERM to every rank and exits, and a rank whose mpirun has gone is ended by Open MPI
// within a fraction of a second (measured: with a 200 ms wait here rank 0 never got to write
// its report). So rank 0 returns at once, its caller cleans up (images: the temporaries of
// writers that died), and the run is abandoned (no MPI_Finalize, which could wait for the dead).
constexpr auto kInterruptGrace = 0ms;

enum class Kind : std::uint32_t { batch = 1, quit, job, stop, done, failed, init_failed, stopped };

struct BatchHeader {
  Kind kind;
  std::uint32_t unused;
  std::uint64_t shared_bytes;
};

struct Message {
  Kind kind;
  std::uint32_t unused;
  std::uint64_t job;
  std::uint64_t bytes;  // payload that follows on kTagData
};

// This process's part of the run. Owned here alone; touched only by the thread that makes
// Executors and calls run(), and by the at-exit finaliser on that same thread.
struct Session {
  bool started = false;
  int rank = 0;
  int ranks = 1;
  bool quit_seen = false;      // a worker's run() got the coordinator's quit
  bool abandoned = false;      // a batch was cut short (interrupt, MPI error): no collective end
};

Session& session() {
  static Session s;
  return s;
}

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
  throw std::runtime_error(std::string("MPI: ") + what + ": " +
                           (length > 0 ? std::string(text, static_cast<std::size_t>(length))
                                       : "error " + std::to_string(rc)));
}

// Sleeps a little longer each time nothing happened, up to 1 ms; reset() after progress.
class Backoff {
 public:
  void idle() {
    std::this_thread::sleep_for(delay_);
    delay_ = std::min<std::chrono::microseconds>(delay_ * 2, 1000us);
  }
  void reset() { delay_ = kFirst; }

 private:
  static constexpr std::chrono::microseconds kFirst{10};
  std::chrono::microseconds delay_ = kFirst;
};

// Waits for `request`; `give_up` (checked while waiting) returns true to stop waiting, which
// then returns false and leaves the request pending.
template <class GiveUp>
bool wait(MPI_Request& request, const char* what, GiveUp give_up) {
  Backoff backoff;
  while (true) {
    int flag = 0;
    check(MPI_Test(&request, &flag, MPI_STATUS_IGNORE), what);
    if (flag) return true;
    if (give_up()) return false;
    backoff.idle();
  }
}

bool never() { return false; }

// The coordinator's bytes to every rank, in chunks; false when give_up stopped it.
template <class GiveUp>
bool broadcast(void* data, std::size_t bytes, GiveUp give_up) {
  auto* p = static_cast<char*>(data);
  do {
    const std::size_t n = std::min(bytes, kChunk);
    MPI_Request request;
    check(MPI_Ibcast(p, static_cast<int>(n), MPI_BYTE, 0, MPI_COMM_WORLD, &request), "broadcast");
    if (!wait(request, "broadcast", give_up)) return false;
    p += n;
    bytes -= n;
  } while (bytes > 0);
  return true;
}

void send_blocking(int to, int tag, const Message& m, std::span<const std::byte> payload) {
  check(MPI_Send(&m, sizeof m, MPI_BYTE, to, tag, MPI_COMM_WORLD), "send");
  for (std::size_t at = 0; at < payload.size(); at += kChunk) {
    const std::size_t n = std::min(payload.size() - at, kChunk);
    check(MPI_Send(payload.data() + at, static_cast<int>(n), MPI_BYTE, to, kTagData, MPI_COMM_WORLD),
          "send");
  }
}

Bytes receive_payload(int from, std::uint64_t bytes) {
  Bytes out(bytes);
  for (std::size_t at = 0; at < out.size(); at += kChunk) {
    const std::size_t n = std::min(out.size() - at, kChunk);
    check(MPI_Recv(out.data() + at, static_cast<int>(n), MPI_BYTE, from, kTagData, MPI_COMM_WORLD,
                   MPI_STATUS_IGNORE),
          "receive");
  }
  return out;
}

// A Message on `tag` from `source` if one has come, without waiting.
bool try_receive(int source, int tag, Message& m, int& from) {
  int flag = 0;
  MPI_Message handle;
  MPI_Status status;
  check(MPI_Improbe(source, tag, MPI_COMM_WORLD, &flag, &handle, &status), "probe");
  if (!flag) return false;
  check(MPI_Mrecv(&m, sizeof m, MPI_BYTE, &handle, MPI_STATUS_IGNORE), "receive");
  from = status.MPI_SOURCE;
  return true;
}

std::string to_text(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

Bytes to_bytes(const std::string& s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return Bytes(p, p + s.size());
}

// ---- worker ranks ----

BatchReport serve(const Batch& batch, Session& s) {
  BatchHeader header{};
  broadcast(&header, sizeof header, never);
  if (header.kind == Kind::quit) {
    s.quit_seen = true;
    return {};
  }
  Bytes shared(header.shared_bytes);
  if (!shared.empty()) broadcast(shared.data(), shared.size(), never);
  // Per batch, like a forked worker's: each batch may bring its own.
  std::string init_error;
  try {
    if (batch.options.worker_init) batch.options.worker_init();
  } catch (...) {
    init_error = current_exception_message();  // the coordinator says "worker_init failed"
  }
  const WorkerContext context{static_cast<unsigned>(s.rank - 1), shared, {}};
  Backoff backoff;
  while (true) {
    Message m{};
    int from = 0;
    if (!try_receive(0, kTagWork, m, from)) {
      backoff.idle();
      continue;
    }
    backoff.reset();
    if (m.kind == Kind::stop) {
      send_blocking(0, kTagReply, {Kind::stopped, 0, 0, 0}, {});
      return {};
    }
    Bytes input = receive_payload(0, m.bytes);
    Message reply{Kind::done, 0, m.job, 0};
    Bytes output;
    if (!init_error.empty()) {
      reply.kind = Kind::init_failed;
      output = to_bytes(init_error);
    } else {
      try {
        output = batch.fn(input, context);
        if (output.size() > batch.options.max_result_bytes) {
          reply.kind = Kind::failed;
          output = to_bytes("result of " + std::to_string(output.size()) +
                            " bytes is over the limit of " +
                            std::to_string(batch.options.max_result_bytes) + " bytes");
        }
      } catch (...) {
        reply.kind = Kind::failed;
        output = to_bytes(current_exception_message());
      }
    }
    reply.bytes = output.size();
    send_blocking(0, kTagReply, reply, output);
  }
}

// ---- rank 0 ----

// One job (or stop) on its way to a worker: the requests of its header and payload, and the
// header they point into.
struct Outgoing {
  Message message{};
  std::vector<MPI_Request> requests;
};

struct Rank {
  int rank = 0;
  std::deque<std::size_t> in_flight;  // sent, not answered; the worker runs them in order
  std::deque<std::unique_ptr<Outgoing>> sends;
  bool stop_sent = false;
  bool stopped = false;
};

class Coordinator {
 public:
  Coordinator(const Batch& batch, Session& s)
      : batch_(batch),
        session_(s),
        ledger_(batch.jobs.size(), batch.on_result),
        ranks_(static_cast<std::size_t>(s.ranks - 1)) {
    for (std::size_t i = 0; i < ranks_.size(); ++i) ranks_[i].rank = static_cast<int>(i + 1);
    for (std::size_t i = 0; i < batch.jobs.size(); ++i) pending_.push_back(i);
  }

  BatchReport run() {
    ipc::SignalCatcher catcher = catch_interrupts();
    catcher_ = &catcher;
    BatchHeader header{Kind::batch, 0, batch_.shared_input.size()};
    auto interrupted = [this] { return poll_signal(); };
    bool delivered = broadcast(&header, sizeof header, interrupted) &&
                     (batch_.shared_input.empty() ||
                      broadcast(const_cast<std::byte*>(batch_.shared_input.data()),
                                batch_.shared_input.size(), interrupted));
    if (!delivered) {
      session_.abandoned = true;  // a collective is still open: nothing more can end cleanly
      return report();
    }
    dispatch();
    Backoff backoff;
    std::optional<Clock::time_point> give_up_at;
    while (true) {
      bool progress = complete_sends();
      Message m{};
      int from = 0;
      if (try_receive(MPI_ANY_SOURCE, kTagReply, m, from)) {
        on_reply(ranks_[static_cast<std::size_t>(from - 1)], m);
        progress = true;
      }
      if (!stopping_ && (poll_signal() || ledger_.remaining() == 0 || init_error_)) stop_all();
      if (interrupt_ && !give_up_at) give_up_at = Clock::now() + kInterruptGrace;
      if (all_stopped()) break;
      if (give_up_at && Clock::now() >= *give_up_at) {
        session_.abandoned = true;  // some worker neither stopped nor answered: it is going away
        break;
      }
      if (progress) backoff.reset();
      else backoff.idle();
    }
    return report();
  }

  // Why the batch was stopped early: a worker's worker_init threw.
  [[nodiscard]] const std::optional<std::string>& init_error() const { return init_error_; }

 private:
  bool poll_signal() {
    if (interrupt_) return true;
    auto sig = catcher_->take();
    if (!sig) throw_sys_error("reading signals", sig.error());
    if (*sig) interrupt_ = **sig;
    return interrupt_ != 0;
  }

  void dispatch() {
    while (!stopping_ && !pending_.empty()) {
      Rank* best = nullptr;
      for (Rank& r : ranks_)
        if (r.in_flight.size() < batch_.options.prefetch &&
            (!best || r.in_flight.size() < best->in_flight.size()))
          best = &r;
      if (!best) return;
      std::size_t job = pending_.front();
      pending_.pop_front();
      ledger_.start(job, static_cast<unsigned>(best->rank - 1));
      best->in_flight.push_back(job);
      send(*best, {Kind::job, 0, job, batch_.jobs[job].size()}, batch_.jobs[job]);
    }
  }

  // Non-blocking: the payload stays in batch_.jobs, which outlives the batch.
  void send(Rank& r, const Message& m, std::span<const std::byte> payload) {
    auto out = std::make_unique<Outgoing>();
    out->message = m;
    out->requests.emplace_back();
    check(MPI_Isend(&out->message, sizeof(Message), MPI_BYTE, r.rank, kTagWork, MPI_COMM_WORLD,
                    &out->requests.back()),
          "send");
    for (std::size_t at = 0; at < payload.size(); at += kChunk) {
      const std::size_t n = std::min(payload.size() - at, kChunk);
      out->requests.emplace_back();
      check(MPI_Isend(payload.data() + at, static_cast<int>(n), MPI_BYTE, r.rank, kTagData,
                      MPI_COMM_WORLD, &out->requests.back()),
            "send");
    }
    r.sends.push_back(std::move(out));
  }

  bool complete_sends() {
    bool progress = false;
    for (Rank& r : ranks_) {
      while (!r.sends.empty()) {
        auto& requests = r.sends.front()->requests;
        int flag = 0;
        check(MPI_Testall(static_cast<int>(requests.size()), requests.data(), &flag,
                          MPI_STATUSES_IGNORE),
              "send");
        if (!flag) break;
        r.sends.pop_front();
        progress = true;
      }
    }
    return progress;
  }

  void on_reply(Rank& r, const Message& m) {
    Bytes payload = receive_payload(r.rank, m.bytes);
    if (m.kind == Kind::stopped) {
      r.stopped = true;
      return;
    }
    if (r.in_flight.empty() || r.in_flight.front() != m.job)
      throw std::runtime_error("MPI: rank " + std::to_string(r.rank) +
                               " answered a job it was not running");
    r.in_flight.pop_front();
    switch (m.kind) {
      case Kind::done: ledger_.finish(m.job, JobStatus::done, std::move(payload), {}); break;
      case Kind::failed: ledger_.finish(m.job, JobStatus::failed, {}, to_text(payload)); break;
      case Kind::init_failed:
        if (!init_error_) init_error_ = to_text(payload);
        ledger_.unstart(m.job);
        break;
      default:
        throw std::runtime_error("MPI: rank " + std::to_string(r.rank) + " sent a malformed reply");
    }
    dispatch();
  }

  // Each worker gets stop behind the jobs it was already sent; it runs those, then answers.
  void stop_all() {
    stopping_ = true;
    for (Rank& r : ranks_) {
      if (r.stop_sent) continue;
      r.stop_sent = true;
      send(r, {Kind::stop, 0, 0, 0}, {});
    }
  }

  bool all_stopped() const {
    for (const Rank& r : ranks_)
      if (!r.stopped || !r.sends.empty()) return false;
    return true;
  }

  BatchReport report() {
    BatchReport report = ledger_.take_report();
    report.workers = static_cast<unsigned>(ranks_.size());
    report.interrupted = interrupt_ != 0;
    report.interrupt_signal = interrupt_;
    return report;
  }

  const Batch& batch_;
  Session& session_;
  ipc::SignalCatcher* catcher_ = nullptr;
  BatchLedger ledger_;
  std::vector<Rank> ranks_;  // never resized: rank r at r - 1
  std::deque<std::size_t> pending_;
  int interrupt_ = 0;
  bool stopping_ = false;
  std::optional<std::string> init_error_;
};

// At exit: the quit that ends the workers' wait for a batch, then MPI_Finalize. Skipped after
// a batch cut short (interrupt, MPI error), when a peer may be gone or still sending: there
// MPI_Finalize could wait for it forever, and mpirun is ending the run anyway.
void finish_mpi() {
  Session& s = session();
  if (s.abandoned) return;
  try {
    if (s.rank == 0 || !s.quit_seen) {
      BatchHeader header{Kind::quit, 0, 0};
      broadcast(&header, sizeof header, never);
      if (header.kind != Kind::quit) {  // this rank called run() fewer times than rank 0
        MPI_Abort(MPI_COMM_WORLD, 1);
        return;
      }
    }
    MPI_Finalize();
  } catch (...) {
    // An MPI error this late: exit without MPI_Finalize, mpirun reports the rank.
  }
}

}  // namespace

MpiPlace join_mpi() {
  Session& s = session();
  if (s.started) return {static_cast<unsigned>(s.rank), static_cast<unsigned>(s.ranks)};
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (size == nullptr || std::atoi(size) < 2)
    throw std::invalid_argument(
        std::string("the mpi backend needs at least 2 ranks (rank 0 coordinates, the others "
                    "work): start it with mpirun, e.g. mpirun -np 3 ") +
        program_invocation_short_name + " ...");
  // MPI's own threads, started here, inherit this mask: SIGINT and SIGTERM stay for the
  // thread that runs batches (its SignalCatcher), or their default action outside a batch.
  sigset_t interrupts, old;
  sigemptyset(&interrupts);
  sigaddset(&interrupts, SIGINT);
  sigaddset(&interrupts, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &interrupts, &old);
  int provided = 0;
  int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  check(rc, "MPI_Init_thread");
  s.started = true;
  std::atexit(finish_mpi);
  check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check(MPI_Comm_rank(MPI_COMM_WORLD, &s.rank), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &s.ranks), "MPI_Comm_size");
  return {static_cast<unsigned>(s.rank), static_cast<unsigned>(s.ranks)};
}

BatchReport run_mpi(const Batch& batch) {
  Session& s = session();
  join_mpi();
  if (s.quit_seen) return {};  // the coordinator has ended: no batch will come
  std::optional<std::string> init_error;
  BatchReport report;
  try {
    if (s.rank != 0) return serve(batch, s);
    Coordinator coordinator(batch, s);
    report = coordinator.run();
    init_error = coordinator.init_error();
  } catch (...) {
    s.abandoned = true;  // the protocol stopped midway: no rank can finish it
    throw;
  }
  // The batch ended in order (every worker stopped): the run itself may go on.
  if (init_error) throw std::runtime_error("worker_init failed in a worker: " + *init_error);
  return report;
}

}  // namespace forkpool::detail
