// The product as a compare workload: the same C on every configuration, start-up and bytes
// through channels where there are channels, and a C that differs fails its configuration.

#include <gtest/gtest.h>

#include <cstring>

#include "common/leak_check.hpp"
#include "forkpool/compare/matmul_workload.hpp"

namespace forkpool::compare {
namespace {

class MatmulWorkloadTest : public forkpool::testing::LeakCheckedTest {};

TEST_F(MatmulWorkloadTest, EveryConfigurationGivesTheSerialC) {
  matmul::Operands ops = matmul::random_operands(matmul::Dtype::f64, 40, 30, 50, 7);
  auto check = std::make_shared<MatmulCheck>();
  std::vector<Backend> backends{Backend::threads, Backend::processes};
  std::vector<ipc::Transport> transports{ipc::Transport::shm, ipc::Transport::pipe};
  std::vector<unsigned> workers{2};
  auto configs = configurations(backends, transports, workers);
  CompareSettings settings;
  settings.repeats = 1;
  CompareResult result = measure_all(configs, matmul_workload(ops, 16, check), settings);
  ASSERT_EQ(result.rows.size(), 4u);
  for (const Measurement& m : result.rows) {
    SCOPED_TRACE(m.config.label());
    EXPECT_EQ(m.failed, 0u) << m.first_error;
    EXPECT_GT(m.jobs, 1u);
    // shm carries tile coordinates only; a pipe carries rows of A, B and the blocks of C.
    if (m.config.transport == ipc::Transport::pipe) {
      EXPECT_GT(m.channel_bytes, 40u * 30 * 8);
    }
    if (m.config.transport == ipc::Transport::shm) {
      EXPECT_LT(m.channel_bytes, 40u * 30 * 8);
    }
  }
  EXPECT_EQ(check->products_checked, 3u);
  EXPECT_LE(check->max_relative_error, matmul_tolerance(matmul::Dtype::f64));
}

// A C unlike the first one (here: other operands between runs) fails that configuration.
TEST_F(MatmulWorkloadTest, CThatDiffersFromTheSerialOneFails) {
  matmul::Operands ops = matmul::random_operands(matmul::Dtype::f32, 20, 20, 20, 1);
  Workload workload = matmul_workload(ops, 0, nullptr);
  ExecutorOptions serial;
  serial.backend = Backend::serial;
  EXPECT_EQ(workload(serial, [](const JobResult&) {}).failed, 0u);
  std::memset(ops.a(), 0, 20 * 20 * sizeof(float));  // C becomes all zeros
  RunOutcome again = workload(serial, [](const JobResult&) {});
  EXPECT_EQ(again.failed, 1u);
  EXPECT_TRUE(again.first_error.starts_with("C differs from the serial C")) << again.first_error;
}

}  // namespace
}  // namespace forkpool::compare
