#pragma once
// The loop a process-pool worker runs after fork().

#include "forkpool/exec/executor.hpp"
#include "forkpool/ipc/channel.hpp"

namespace forkpool::detail {

// Runs worker_init, takes the shared input, then answers job messages with their results
// until the coordinator closes the channel; a result over max_result_bytes is answered as a
// failed job. `scratch`: the region this worker inherited (WorkerScratch), or empty. Returns
// the worker's exit code. In the worker process only, single-threaded.
int worker_main(ipc::Channel& channel, const JobFunction& fn,
                const std::function<void()>& worker_init, unsigned worker_index,
                std::span<std::byte> scratch, std::size_t max_result_bytes);

}  // namespace forkpool::detail
