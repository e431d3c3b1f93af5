#pragma once
// The synthetic jobs of `forkpool compare tasks`, each made to isolate one cost: tiny (an empty
// job: pure dispatch), cpu (a compute loop of fixed work), memory (streams a buffer) and sleep
// (waits, using no CPU).

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "forkpool/exec/executor.hpp"

namespace forkpool::compare {

enum class TaskKind { tiny, cpu, memory, sleep };
inline constexpr TaskKind kAllTaskKinds[] = {TaskKind::tiny, TaskKind::cpu, TaskKind::memory,
                                             TaskKind::sleep};
std::string_view to_string(TaskKind kind) noexcept;
std::optional<TaskKind> parse_task_kind(std::string_view name) noexcept;

// Iterations of the cpu job's loop (a dependent xorshift chain, about a millisecond).
inline constexpr std::uint64_t kCpuIterations = std::uint64_t{1} << 19;

struct TaskSettings {
  TaskKind kind = TaskKind::tiny;
  std::size_t count = 0;                      // jobs; 0: default_count(kind)
  std::size_t size = std::size_t{1} << 20;    // memory: bytes each job streams
  bool per_job = false;                       // memory: a buffer in every job, not the shared input
  std::chrono::milliseconds sleep{10};        // sleep: how long each job waits
};

// Jobs enough to measure, few enough that a default compare on 2 cores ends in seconds.
std::size_t default_count(TaskKind kind) noexcept;

// A batch of one kind: the jobs, the shared input and the function that runs one job. Any
// thread; the function runs in any worker (it needs nothing of this process but its input).
struct TaskBatch {
  std::vector<Bytes> jobs;
  Bytes shared_input;
  JobFunction fn;
};
TaskBatch make_task_batch(const TaskSettings& settings);

// What job `index` of a batch made by make_task_batch(settings) returns: for checking results.
Bytes expected_task_output(const TaskSettings& settings, std::size_t index);

}  // namespace forkpool::compare
