#include "forkpool/compare/task_kinds.hpp"

#include <cstring>
#include <stdexcept>
#include <thread>

namespace forkpool::compare {
namespace {

Bytes word_bytes(std::uint64_t v) {
  Bytes out(sizeof v);
  std::memcpy(out.data(), &v, sizeof v);
  return out;
}

std::uint64_t read_word(std::span<const std::byte> bytes) {
  if (bytes.size() < sizeof(std::uint64_t)) throw std::invalid_argument("task: input too short");
  std::uint64_t v = 0;
  std::memcpy(&v, bytes.data(), sizeof v);
  return v;
}

// A chain of dependent xorshift steps: no two iterations can overlap, so the work per job is
// fixed whatever the compiler or the CPU does.
std::uint64_t spin(std::uint64_t seed) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::uint64_t i = 0; i < kCpuIterations; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

// Reads every byte of `buffer` (a sum of its 64-bit words, and of the bytes after the last).
std::uint64_t stream(std::span<const std::byte> buffer) {
  std::uint64_t sum = 0;
  std::size_t words = buffer.size() / sizeof(std::uint64_t);
  const std::byte* p = buffer.data();
  for (std::size_t i = 0; i < words; ++i) {
    std::uint64_t w;
    std::memcpy(&w, p + i * sizeof w, sizeof w);
    sum += w;
  }
  for (std::size_t i = words * sizeof(std::uint64_t); i < buffer.size(); ++i)
    sum += static_cast<std::uint64_t>(buffer[i]);
  return sum;
}

Bytes memory_buffer(std::size_t size) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::byte>(i * 131 + 7);
  return out;
}

}  // namespace

std::string_view to_string(TaskKind kind) noexcept {
  switch (kind) {
    case TaskKind::tiny: return "tiny";
    case TaskKind::cpu: return "cpu";
    case TaskKind::memory: return "memory";
    case TaskKind::sleep: return "sleep";
  }
  return "?";
}

std::optional<TaskKind> parse_task_kind(std::string_view name) noexcept {
  for (TaskKind k : kAllTaskKinds)
    if (to_string(k) == name) return k;
  return std::nullopt;
}

std::size_t default_count(TaskKind kind) noexcept {
  switch (kind) {
    case TaskKind::tiny: return 20'000;
    case TaskKind::cpu: return 200;
    case TaskKind::memory: return 200;
    case TaskKind::sleep: return 50;
  }
  return 100;
}

TaskBatch make_task_batch(const TaskSettings& s) {
  TaskBatch batch;
  const std::size_t count = s.count == 0 ? default_count(s.kind) : s.count;
  batch.jobs.reserve(count);
  switch (s.kind) {
    case TaskKind::tiny:
      batch.jobs.assign(count, Bytes{});
      batch.fn = [](std::span<const std::byte>, const WorkerContext&) { return Bytes{}; };
      break;
    case TaskKind::cpu:
      for (std::size_t i = 0; i < count; ++i) batch.jobs.push_back(word_bytes(i));
      batch.fn = [](std::span<const std::byte> input, const WorkerContext&) {
        return word_bytes(spin(read_word(input)));
      };
      break;
    case TaskKind::memory:
      if (s.per_job) {
        Bytes buffer = memory_buffer(s.size);
        batch.jobs.assign(count, buffer);
        batch.fn = [](std::span<const std::byte> input, const WorkerContext&) {
          return word_bytes(stream(input));
        };
      } else {
        batch.shared_input = memory_buffer(s.size);
        batch.jobs.assign(count, Bytes{});
        batch.fn = [](std::span<const std::byte>, const WorkerContext& context) {
          return word_bytes(stream(context.shared_input));
        };
      }
      break;
    case TaskKind::sleep:
      batch.jobs.assign(count, Bytes{});
      batch.fn = [ms = s.sleep](std::span<const std::byte>, const WorkerContext&) {
        std::this_thread::sleep_for(ms);
        return Bytes{};
      };
      break;
  }
  return batch;
}

Bytes expected_task_output(const TaskSettings& s, std::size_t index) {
  switch (s.kind) {
    case TaskKind::tiny:
    case TaskKind::sleep: return {};
    case TaskKind::cpu: return word_bytes(spin(index));
    case TaskKind::memory: return word_bytes(stream(memory_buffer(s.size)));
  }
  return {};
}

}  // namespace forkpool::compare
