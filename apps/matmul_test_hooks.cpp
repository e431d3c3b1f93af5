#include "matmul_test_hooks.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace forkpool::cli {

MatmulTestHooks MatmulTestHooks::from_environment() {
  MatmulTestHooks hooks;
  if (const char* tile = std::getenv("FORKPOOL_MATMUL_TEST_KILL_TILE")) {
    hooks.kill_tile_ = std::stoul(tile);
    auto flag = ipc::SharedMemory::create(sizeof(std::atomic<int>));
    if (!flag) throw std::runtime_error(flag.error().message());
    hooks.killed_once_ = std::move(*flag);
    new (hooks.killed_once_.data()) std::atomic<int>(0);
  }
  if (const char* corrupt = std::getenv("FORKPOOL_MATMUL_TEST_CORRUPT_C"))
    hooks.corrupt_c_ = std::strcmp(corrupt, "1") == 0;
  if (const char* cpu = std::getenv("FORKPOOL_MATMUL_TEST_CPU_FEATURES")) {
    hooks.cpu_ = matmul::parse_cpu_features(cpu);
    if (!hooks.cpu_) throw std::runtime_error("FORKPOOL_MATMUL_TEST_CPU_FEATURES: unknown feature");
  }
  return hooks;
}

void MatmulTestHooks::install(matmul::MatmulOptions& options) const {
  if (!kill_tile_) return;
  auto* flag = reinterpret_cast<std::atomic<int>*>(killed_once_.data());
  std::size_t victim = *kill_tile_;
  // Only a worker process may die for the test: a tile computed in this process (threads,
  // serial) would take the CLI with it.
  const pid_t cli = ::getpid();
  options.before_tile = [flag, victim, cli](std::size_t index) {
    if (index == victim && ::getpid() != cli && flag->exchange(1) == 0) ::raise(SIGKILL);
  };
}

matmul::CpuFeatures MatmulTestHooks::cpu_features() const {
  return cpu_ ? *cpu_ : matmul::detect_cpu_features();
}

void MatmulTestHooks::after_product(matmul::Operands& ops) const {
  if (!corrupt_c_) return;
  std::size_t middle = ops.m() / 2 * ops.n() + ops.n() / 2;
  if (ops.dtype() == matmul::Dtype::f32)
    reinterpret_cast<float*>(ops.c())[middle] += 1.0f;
  else
    reinterpret_cast<double*>(ops.c())[middle] += 1.0;
}

}  // namespace forkpool::cli
