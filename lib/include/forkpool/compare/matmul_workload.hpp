#pragma once
// The product C = A * B as a workload of `forkpool compare matmul`: matmul::multiply() on each
// configuration's executor options, every C checked against the first run's (serial) C.

#include <cstddef>
#include <memory>

#include "forkpool/compare/measure.hpp"
#include "forkpool/matmul/matmul.hpp"

namespace forkpool::compare {

// What the checks of every C found, for the report. Filled as the workload runs.
struct MatmulCheck {
  std::size_t products_checked = 0;   // runs after the first, compared with it
  double max_relative_error = 0;      // largest |c - c_serial| / (1 + |c_serial|) seen
};

// Largest relative difference a C may have from the serial C and still count as the same:
// tiles of other shapes may sum in another order (about 1e-15 for f64, 1e-6 for f32 at
// K in the thousands). Above it the run fails ("C differs from the serial C: ...").
double matmul_tolerance(matmul::Dtype dtype) noexcept;

// Runs multiply() into `ops` (which must outlive the workload), cut into tiles of `tile` (0:
// row panels, as matmul does). C is cleared before each run so that a tile not computed
// shows. The first run's C is kept as the reference; `check` (if not null) collects what the
// comparisons found.
Workload matmul_workload(matmul::Operands& ops, std::size_t tile, std::shared_ptr<MatmulCheck> check);

}  // namespace forkpool::compare
