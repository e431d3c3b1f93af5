#pragma once
// Typed jobs and results over Executor::run: the Pool.map of C++.
//
//   struct Job { double x; int n; };             // trivially copyable: no codec to write
//   forkpool::Executor executor(options);
//   auto report = forkpool::map_batch(executor, jobs, [](const Job& j) { return j.x * j.n; });
//   std::vector<double> values = report.take_values();   // throws if a job did not finish
//
// A job and its result cross to the worker as bytes (the worker may be another process), made
// and read by forkpool::Codec<T>. docs/library.md has a complete example.

#include <concepts>
#include <cstddef>
#include <cstring>
#include <exception>
#include <functional>
#include <optional>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "forkpool/exec/executor.hpp"

namespace forkpool {

// How a T becomes bytes and back, to travel as a job or a result. Given here for trivially
// copyable types (their bytes as they lie in memory: every worker runs this same program on
// this machine's kind of CPU; a pointer inside one means nothing in another process), for
// std::string and for std::vector of a trivially copyable type. For any other type — or to
// encode one of those differently — specialise it:
//
//   template <> struct forkpool::Codec<Photo> {
//     static forkpool::Bytes encode(const Photo& p);
//     static Photo decode(std::span<const std::byte> bytes);  // throws on bytes it cannot read
//   };
//
// encode and decode run on the coordinator and in workers, on any thread, at once: they must
// be thread-safe (pure functions are). A throw while decoding a job fails that job with the
// message; one while decoding a result fails it on the coordinator.
template <class T>
struct Codec;

template <class T>
  requires std::is_trivially_copyable_v<T>
struct Codec<T> {
  static Bytes encode(const T& value) {
    Bytes out(sizeof(T));
    std::memcpy(out.data(), &value, sizeof(T));
    return out;
  }
  static T decode(std::span<const std::byte> bytes) {
    if (bytes.size() != sizeof(T))
      throw std::runtime_error("expected " + std::to_string(sizeof(T)) + " bytes, got " +
                               std::to_string(bytes.size()));
    T value;
    std::memcpy(&value, bytes.data(), sizeof(T));
    return value;
  }
};

template <>
struct Codec<std::string> {
  static Bytes encode(const std::string& text) {
    const auto* p = reinterpret_cast<const std::byte*>(text.data());
    return Bytes(p, p + text.size());
  }
  static std::string decode(std::span<const std::byte> bytes) {
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
};

template <class T>
  requires std::is_trivially_copyable_v<T>
struct Codec<std::vector<T>> {
  static Bytes encode(const std::vector<T>& values) {
    Bytes out(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
    return out;
  }
  static std::vector<T> decode(std::span<const std::byte> bytes) {
    if (bytes.size() % sizeof(T) != 0)
      throw std::runtime_error(std::to_string(bytes.size()) + " bytes are not a whole number of " +
                               std::to_string(sizeof(T)) + "-byte elements");
    std::vector<T> values(bytes.size() / sizeof(T));
    if (!values.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
    return values;
  }
};

// A type that can travel as a job or a result.
template <class T>
concept Encodable = requires(const T& value, std::span<const std::byte> bytes) {
  { Codec<T>::encode(value) } -> std::same_as<Bytes>;
  { Codec<T>::decode(bytes) } -> std::same_as<T>;
};

// What map_batch returns: the batch's report (status, error and attempts of every job, in job
// order; its outputs are moved into `values`) and each job's result. Plain value.
template <class Result>
struct MapReport {
  BatchReport batch;
  std::vector<std::optional<Result>> values;  // values[i]: job i's result, when it is done

  [[nodiscard]] bool all_done() const noexcept {
    return !batch.interrupted && batch.count(JobStatus::done) == values.size();
  }

  // Every result, in job order. Throws std::runtime_error naming the first job that did not
  // finish ("job 3 failed: <why>", "job 7 cancelled: the batch was interrupted").
  std::vector<Result> take_values() {
    std::vector<Result> out;
    out.reserve(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (!values[i]) {
        const JobResult& r = batch.results[i];
        throw std::runtime_error("job " + std::to_string(i) + " " + std::string(to_string(r.status)) +
                                 ": " + (r.status == JobStatus::cancelled ? "the batch was interrupted"
                                                                           : r.error));
      }
      out.push_back(std::move(*values[i]));
    }
    return out;
  }
};

namespace detail {

template <class Fn, class Job>
decltype(auto) call_job(Fn& fn, const Job& job, const WorkerContext& context) {
  if constexpr (std::is_invocable_v<Fn&, const Job&, const WorkerContext&>)
    return fn(job, context);
  else
    return fn(job);
}

template <class Fn, class Job>
using map_result_t = std::remove_cvref_t<decltype(call_job(std::declval<Fn&>(), std::declval<const Job&>(),
                                                           std::declval<const WorkerContext&>()))>;

}  // namespace detail

// Runs fn(job) — or fn(job, context) — for every job of `jobs` on `executor`'s workers and
// returns each result, like Executor::run (same threads, processes, signals and failures): a
// throw fails that job with its message. `fn` is called in the workers: with the processes
// backend, in forked copies of this process, so what it captures is what this process held
// when run() forked (capture by value or point into a SharedArena; nothing it changes comes
// back but its result). `shared_input` reaches every worker once (context.shared_input).
// `on_result` sees each job as it ends, with its encoded output, on the calling thread.
template <std::ranges::contiguous_range Jobs, class Fn,
          class Job = std::ranges::range_value_t<Jobs>,
          class Result = detail::map_result_t<Fn, std::ranges::range_value_t<Jobs>>>
  requires Encodable<Job> && Encodable<Result>
MapReport<Result> map_batch(const Executor& executor, const Jobs& jobs, Fn fn,
                            std::span<const std::byte> shared_input = {},
                            const ResultCallback& on_result = {}) {
  std::vector<Bytes> encoded;
  encoded.reserve(std::ranges::size(jobs));
  for (const Job& job : jobs) encoded.push_back(Codec<Job>::encode(job));
  JobFunction run_one = [&fn](std::span<const std::byte> input, const WorkerContext& context) {
    return Codec<Result>::encode(detail::call_job(fn, Codec<Job>::decode(input), context));
  };

  MapReport<Result> report;
  report.batch = executor.run(encoded, run_one, shared_input, on_result);
  report.values.resize(report.batch.results.size());
  for (JobResult& r : report.batch.results) {
    if (r.status != JobStatus::done) continue;
    try {
      report.values[r.index] = Codec<Result>::decode(r.output);
    } catch (const std::exception& e) {
      r.status = JobStatus::failed;
      r.error = std::string("cannot decode its result: ") + e.what();
    }
    r.output = Bytes();
  }
  return report;
}

// The same on an Executor made from `options`.
template <std::ranges::contiguous_range Jobs, class Fn>
auto map_batch(const ExecutorOptions& options, const Jobs& jobs, Fn fn,
               std::span<const std::byte> shared_input = {}, const ResultCallback& on_result = {}) {
  return map_batch(Executor(options), jobs, std::move(fn), shared_input, on_result);
}

}  // namespace forkpool
