#pragma once
// Jobs for the executor tests: each job's input says what the job function should do, so one
// function can behave well, throw, crash, or interrupt its own batch.

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "forkpool/exec/executor.hpp"
#include "forkpool/exec/shared_arena.hpp"
#include "common/temp_dir.hpp"
#include "forkpool/ipc/channel.hpp"

namespace forkpool::testing {

enum class Action : std::uint8_t {
  compute,           // output = transformed payload + checksum(shared input) + index
  throw_error,       // throws std::runtime_error("job <index> refused")
  kill_self_once,    // SIGKILLs its own process unless its marker file exists (creates it first)
  segv_always,       // dies of SIGSEGV every time
  interrupt_parent,  // sends SIGINT to the coordinator, then waits to be ended
  terminate_parent,  // the same with SIGTERM
  interrupt_self,    // sends SIGINT to its own process (threads, serial), then computes
  sleep_then_compute,
  write_arena,       // writes index * 3 into arena slot `index`, then computes
  report_init,       // output: 1 if worker_init ran in this worker's process for this batch, else 0
  big_output,        // output: 256 KiB whatever the input, more than any channel buffers
  stop_self_once,    // SIGSTOPs its own process unless its marker file exists (creates it first)
  hang_always,       // never returns (sleeps until its process is ended)
  // Before computing, writes a message that is not a well-formed reply (the payload's first
  // byte is a Garbage) straight into its reply pipe: processes over the pipe transport only.
  malformed_reply_once,  // ... unless its marker file exists (creates it first)
  malformed_reply_always,
};

// What a malformed_reply job writes.
enum class Garbage : std::uint8_t {
  short_message,     // 3 bytes: shorter than any frame
  stray_index,       // a well-formed "done" frame for a job the worker was not given
  unknown_kind,      // a frame of a kind no reply has
  reserved_nonzero,  // a "done" frame for the right job with its reserved word set
};
inline constexpr Garbage kAllGarbage[] = {Garbage::short_message, Garbage::stray_index,
                                          Garbage::unknown_kind, Garbage::reserved_nonzero};

Bytes make_job(std::uint32_t index, Action action, std::size_t payload_bytes = 16);
Bytes make_malformed_job(std::uint32_t index, Garbage garbage, bool always = false);
std::vector<Bytes> make_jobs(std::size_t count, Action action = Action::compute,
                             std::size_t payload_bytes = 16);

// The job function. Reads the settings below, which a test sets before run_batch (forked
// workers inherit them).
Bytes run_job(std::span<const std::byte> input, const WorkerContext& context);

struct JobSettings {
  std::string marker_dir;            // for the *_once actions
  SharedArena* arena = nullptr;      // for write_arena and the init counter
  std::size_t arena_slots = 0;       // offset of slot 0 is 0; the init counter follows the slots
  int batch_id = 0;                  // worker_init stamps it; report_init compares
  std::vector<int> foreign_fds;      // open before the batch: not a worker's (malformed_reply)
};

// The fds this process has open now.
std::vector<int> open_fds();
JobSettings& job_settings();

// A worker_init that records that it ran (in this process) and counts runs in the arena.
void counting_init();
std::atomic<int>& init_counter();  // in job_settings().arena, after the slots

// The output run_job gives for a compute job: what every backend must return.
Bytes expected_output(const Bytes& job, std::span<const std::byte> shared_input);

// True when this build has the transport (make_channel_pair does not say ENOSYS).
bool transport_available(ipc::Transport t);

}  // namespace forkpool::testing
