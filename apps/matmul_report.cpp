#include "matmul_report.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "output_files.hpp"
#include "report_header.hpp"

namespace forkpool::cli {

double MatmulReport::gflops() const {
  if (run.compute_seconds <= 0) return 0;
  return 2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n) /
         run.compute_seconds / 1e9;
}

namespace {

std::string describe(const MatmulOperandInfo& op, std::string_view fallback_dtype) {
  std::string dtype = op.dtype.empty() ? std::string(fallback_dtype) : op.dtype;
  return fmt::format("{:<24} {}x{} {}{}", op.source, op.rows, op.cols, dtype,
                     op.fortran_order ? " (Fortran order)" : "");
}

std::string bytes_text(std::size_t bytes) {
  double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
  return mib >= 1024 ? fmt::format("{:.2f} GiB", mib / 1024) : fmt::format("{:.1f} MiB", mib);
}

nlohmann::json operand_json(const MatmulOperandInfo& op) {
  return {{"source", op.source}, {"shape", {op.rows, op.cols}}, {"dtype", op.dtype},
          {"fortran_order", op.fortran_order}};
}

}  // namespace

std::string format_text(const MatmulReport& r) {
  std::string dtype(matmul::to_string(r.dtype));
  std::string out;
  std::string a_source = r.a.source == "random" ? fmt::format("random (seed {})", r.seed) : r.a.source;
  std::string b_source = r.b.source == "random" ? fmt::format("random (seed {})", r.seed + 1) : r.b.source;
  out += fmt::format("A        {}\n", describe({a_source, r.a.rows, r.a.cols, r.a.dtype, r.a.fortran_order}, dtype));
  out += fmt::format("B        {}\n", describe({b_source, r.b.rows, r.b.cols, r.b.dtype, r.b.fortran_order}, dtype));
  out += fmt::format("C        {}\n", describe({r.output.empty() ? "(not written)" : r.output, r.m, r.n, dtype, false}, dtype));
  const auto& plan = r.run.plan;
  out += fmt::format("run      {}, {} worker{}{}, {} tile{} of {}x{}, distribute {}{}{}\n",
                     r.backend, r.workers, r.workers == 1 ? "" : "s",
                     r.transport ? fmt::format(", transport {}", *r.transport) : std::string(),
                     plan.tiles.size(), plan.tiles.size() == 1 ? "" : "s", plan.tile_rows,
                     plan.tile_cols, matmul::to_string(plan.distribution),
                     r.run.workers_replaced ? fmt::format(", {} worker(s) replaced", r.run.workers_replaced)
                                            : std::string(),
                     r.run.workers_lost ? fmt::format(", {} worker(s) lost", r.run.workers_lost)
                                        : std::string());
  out += fmt::format("kernel   {} {}, chosen by {}; {}\n", r.kernel, dtype, r.kernel_chosen_by,
                     r.kernel_library);
  out += fmt::format("load     {:.3f} s\n", r.load_seconds);
  double g = r.gflops();
  std::string rate = !r.run.complete() ? std::string(r.run.interrupted ? "(interrupted)" : "(tiles failed)")
                     : g >= 1          ? fmt::format("{:.1f} GFLOP/s", g)
                                       : fmt::format("{:.3f} GFLOP/s", g);
  out += fmt::format("compute  {:.3f} s  {}\n", r.run.compute_seconds, rate);
  if (r.peak_memory.processes > 0)
    out += fmt::format("memory   peak {} PSS in {} process{}; A, B and C take {} ({:.2f}x)\n",
                       bytes_text(r.peak_memory.bytes), r.peak_memory.processes,
                       r.peak_memory.processes == 1 ? "" : "es", bytes_text(r.operands_bytes),
                       r.operands_bytes ? static_cast<double>(r.peak_memory.bytes) /
                                              static_cast<double>(r.operands_bytes)
                                        : 0.0);
  if (plan.worker_bytes > 0)
    out += fmt::format("data     {} sent to and from the workers; a worker holds {} at once\n",
                       bytes_text(r.run.payload_bytes), bytes_text(plan.worker_bytes));
  if (r.verify)
    out += fmt::format("verify   {}, relative error {:.2e} (tolerance {:.2e}, {} rounds), {:.3f} s\n",
                       r.verify->passed ? "passed" : "FAILED", r.verify->relative_error,
                       r.verify->tolerance, r.verify->rounds, r.verify_seconds);
  if (!r.output.empty()) out += fmt::format("write    {:.3f} s\n", r.write_seconds);
  return out;
}

std::string json_report(const MatmulReport& r) {
  nlohmann::json j;
  j["status"] = r.status;
  j["a"] = operand_json(r.a);
  j["b"] = operand_json(r.b);
  if (r.a.source == "random") j["seed"] = r.seed;
  j["c"] = {{"path", r.output.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.output)},
            {"shape", {r.m, r.n}}};
  j["dtype"] = matmul::to_string(r.dtype);
  j["backend"] = r.backend;
  j["transport"] = r.transport ? nlohmann::json(*r.transport) : nlohmann::json(nullptr);
  j["workers"] = r.workers;
  j["kernel"] = r.kernel;
  j["kernel_chosen_by"] = r.kernel_chosen_by;
  j["kernel_library"] = r.kernel_library;
  j["workers_replaced"] = r.run.workers_replaced;
  j["workers_lost"] = r.run.workers_lost;
  j["tile"] = {{"rows", r.run.plan.tile_rows}, {"cols", r.run.plan.tile_cols}};
  j["tiles"] = r.run.plan.tiles.size();
  j["distribute"] = matmul::to_string(r.run.plan.distribution);
  j["worker_bytes"] = r.run.plan.worker_bytes;
  j["payload_bytes"] = r.run.payload_bytes;
  j["load_seconds"] = r.load_seconds;
  j["compute_seconds"] = r.run.compute_seconds;
  j["write_seconds"] = r.write_seconds;
  j["operands_bytes"] = r.operands_bytes;
  j["peak_pss_bytes"] = r.peak_memory.processes ? nlohmann::json(r.peak_memory.bytes) : nlohmann::json(nullptr);
  j["peak_pss_processes"] = r.peak_memory.processes;
  j["gflops"] = r.run.complete() ? nlohmann::json(r.gflops()) : nlohmann::json(nullptr);
  if (r.verify) {
    // JSON has no infinity: a NaN or infinite error (a NaN in C) is written as null.
    j["verify"] = {{"passed", r.verify->passed},
                   {"relative_error", std::isfinite(r.verify->relative_error)
                                          ? nlohmann::json(r.verify->relative_error)
                                          : nlohmann::json(nullptr)},
                   {"tolerance", r.verify->tolerance},
                   {"rounds", r.verify->rounds},
                   {"seconds", r.verify_seconds}};
  } else {
    j["verify"] = nullptr;
  }
  j["failures"] = r.run.failures;
  return json_text(with_report_header("matmul", j));
}

}  // namespace forkpool::cli
