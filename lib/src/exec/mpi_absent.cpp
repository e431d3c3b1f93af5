// The mpi backend in a build without MPI (FORKPOOL_WITH_MPI off): the name is known, and
// refused with one line when an Executor is made.

#include <stdexcept>

#include "backends.hpp"

namespace forkpool::detail {

MpiPlace join_mpi() { throw std::invalid_argument("this forkpool was built without MPI"); }

BatchReport run_mpi(const Batch&) { throw std::invalid_argument("this forkpool was built without MPI"); }

}  // namespace forkpool::detail
