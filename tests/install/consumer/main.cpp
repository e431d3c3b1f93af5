// Runs a small batch on every backend through the installed library and checks the results.
#include <forkpool/exec/executor.hpp>

#include <cstdio>

// The consumer's CMakeLists.txt asks for no standard: forkpool::lib must bring C++23 with it.
static_assert(__cplusplus > 202002L, "forkpool::lib did not carry C++23 to its consumer");

int main() {
  std::vector<forkpool::Bytes> jobs;
  for (int i = 0; i < 20; ++i) jobs.push_back({static_cast<std::byte>(i)});
  auto triple = [](std::span<const std::byte> in, const forkpool::WorkerContext&) {
    auto v = std::to_integer<int>(in[0]);
    return forkpool::Bytes{static_cast<std::byte>(v * 3)};
  };
  for (auto backend : {forkpool::Backend::serial, forkpool::Backend::threads,
                       forkpool::Backend::processes}) {
    forkpool::ExecutorOptions options;
    options.backend = backend;
    options.workers = 2;
    options.transport = forkpool::ipc::Transport::pipe;
    auto report = forkpool::run_batch(options, jobs, triple);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      const auto& r = report.results[i];
      if (r.status != forkpool::JobStatus::done || r.output.size() != 1 ||
          std::to_integer<int>(r.output[0]) != static_cast<int>(i * 3)) {
        std::fprintf(stderr, "wrong result for job %zu on %s\n", i,
                     std::string(forkpool::to_string(backend)).c_str());
        return 1;
      }
    }
  }
  std::puts("consumer: ok");
  return 0;
}
