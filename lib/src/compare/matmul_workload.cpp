#include "forkpool/compare/matmul_workload.hpp"

#include <cmath>
#include <cstring>
#include <string>

namespace forkpool::compare {
namespace {

template <class T>
double max_relative_error(const std::byte* got, const std::byte* want, std::size_t count) {
  double worst = 0;
  for (std::size_t i = 0; i < count; ++i) {
    T g, w;
    std::memcpy(&g, got + i * sizeof(T), sizeof(T));
    std::memcpy(&w, want + i * sizeof(T), sizeof(T));
    double e = std::abs(static_cast<double>(g) - static_cast<double>(w)) / (1 + std::abs(static_cast<double>(w)));
    if (!(e <= worst)) worst = e;  // a NaN counts as the worst
  }
  return worst;
}

}  // namespace

double matmul_tolerance(matmul::Dtype dtype) noexcept {
  return dtype == matmul::Dtype::f32 ? 1e-4 : 1e-10;
}

Workload matmul_workload(matmul::Operands& ops, std::size_t tile, std::shared_ptr<MatmulCheck> check) {
  auto reference = std::make_shared<Bytes>();
  return [&ops, tile, check, reference](const ExecutorOptions& options, const ResultCallback& on_result) {
    matmul::MatmulOptions mo;
    mo.executor = options;
    mo.tile = tile;
    matmul::TilePlan plan = matmul::plan_product(ops, mo);
    std::span<const std::byte> c = ops.c_bytes();
    std::memset(ops.c(), 0, c.size());
    matmul::MatmulRun run = matmul::multiply(ops, plan, mo, [&](const matmul::Tile&) {
      on_result(JobResult{});  // a tile is a job: the loop samples memory as they end
    });
    RunOutcome out;
    out.jobs = plan.tiles.size();
    out.failed = run.failures.size();
    if (!run.failures.empty()) out.first_error = run.failures.front();
    out.interrupted = run.interrupted;
    out.interrupt_signal = run.interrupt_signal;
    out.startup = run.startup;
    out.payload_bytes = run.payload_bytes;
    if (!run.complete()) return out;
    if (reference->empty()) {
      reference->assign(c.begin(), c.end());
      return out;
    }
    std::size_t count = ops.m() * ops.n();
    double e = ops.dtype() == matmul::Dtype::f32
                   ? max_relative_error<float>(c.data(), reference->data(), count)
                   : max_relative_error<double>(c.data(), reference->data(), count);
    if (check) {
      ++check->products_checked;
      if (!(e <= check->max_relative_error)) check->max_relative_error = e;
    }
    if (!(e <= matmul_tolerance(ops.dtype()))) {
      out.failed = 1;
      out.first_error = "C differs from the serial C: relative error ";
      out.first_error += std::to_string(e);
    }
    return out;
  };
}

}  // namespace forkpool::compare
